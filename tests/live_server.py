"""Real servers for tests: a command in a subprocess on a free loopback port, with the redacting log config.

``serve`` is the one way the test fixtures start a server (``live_server`` in ``tests/api/conftest.py``, the registry's
and the planning page's own ``server`` fixtures): it writes ``uvicorn_log_config()`` to ``TMP/log_config.json``, runs
the command from the project root with stdout and stderr in ``TMP/server.log`` (so tests can assert what the server
did *not* log), waits until ``/health`` answers 200, yields a ``LiveServer`` and stops the process on exit.
``free_port``, ``wait_healthy`` and ``stop`` are also used on their own by tests that start ``asih serve`` themselves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.privacy import uvicorn_log_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0
"""How long ``serve`` waits for ``/health`` by default."""
STOP_TIMEOUT_S = 15.0
"""How long ``serve`` waits for the process to end after SIGTERM before it kills it."""


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL (no trailing slash) and the file holding its stdout and stderr."""

    url: str
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        """Everything the server has written so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def python() -> str:
    """The project's virtualenv Python (the running one when there is no ``.venv``)."""
    venv = PROJECT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def uvicorn_command(app: str, port: int, log_config: Path, *options: str) -> list[str]:
    """``python -m uvicorn APP [OPTIONS] --host 127.0.0.1 --port PORT --log-config LOG_CONFIG``."""
    return [python(), "-m", "uvicorn", app, *options, "--host", HOST, "--port", str(port),
            "--log-config", str(log_config)]


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Until ``url/health`` answers 200; raises with the log's tail when the server exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"The server exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"The server was not healthy after {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM (uvicorn's own shutdown, which also ends its workers); SIGKILL after ``timeout_s``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def serve(tmp: Path, command: Callable[[int, Path], list[str]], *, extra_env: Mapping[str, str] | None = None,
          startup_timeout_s: float = STARTUP_TIMEOUT_S, stop_timeout_s: float = STOP_TIMEOUT_S) -> Iterator[LiveServer]:
    """Run ``command(port, log_config)`` from the project root until the ``with`` block ends.

    ``tmp`` is a directory of the caller's (it gets ``log_config.json`` and ``server.log``). The process inherits the
    environment, with ``extra_env`` added when given.
    """
    log_config = tmp / "log_config.json"
    log_config.write_text(json.dumps(uvicorn_log_config()), encoding="utf-8")
    log_path = tmp / "server.log"
    port = free_port()
    env = None if extra_env is None else {**os.environ, **extra_env}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command(port, log_config), cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=env)
    url = f"http://{HOST}:{port}"
    try:
        wait_healthy(url, proc, log_path, startup_timeout_s)
        yield LiveServer(url=url, log_path=log_path, process=proc)
    finally:
        stop(proc, stop_timeout_s)
