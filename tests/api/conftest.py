"""The real server, as deployed: ``uvicorn api.main:app`` in a subprocess with the redacting log config.

``live_server`` is session-scoped and shared by every test that needs HTTP over a socket (the browser tests, log
privacy checks). Its stdout and stderr go to one file, so tests can assert what the server did *not* log.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.privacy import uvicorn_log_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL (no trailing slash) and the file holding its stdout and stderr."""

    url: str
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        """Everything the server has written so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _python() -> str:
    venv = PROJECT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
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
    raise RuntimeError(f"The server was not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Start ``uvicorn api.main:app`` on a free local port; stop it at the end of the session.

    ``ASIH_LIVE_APP`` overrides the app import string (for trying a router before it is wired into the app).
    """
    tmp = tmp_path_factory.mktemp("live_server")
    log_config = tmp / "log_config.json"
    log_config.write_text(json.dumps(uvicorn_log_config()), encoding="utf-8")
    log_path = tmp / "server.log"
    port = _free_port()
    app = os.environ.get("ASIH_LIVE_APP", "api.main:app")
    cmd = [
        _python(), "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--log-config", str(log_config),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # access-log lines reach the file as they happen
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield LiveServer(url=url, log_path=log_path, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
