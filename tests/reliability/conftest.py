"""Fixtures for the reliability and security tests.

``live_server`` is the shared one from ``tests/api/conftest.py`` (real ``uvicorn api.main:app`` with the redacting
log config); ``service``, ``settings``, ``locator`` and ``area_model`` come from ``tests/conftest.py``. The helpers
below run the real ``asih`` command and real servers on loopback against private copies of the prepared cache
(``free_port``, ``wait_healthy`` and ``stop`` are ``tests/live_server.py``'s, with this package's longer timeouts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from tests.api.conftest import live_server  # noqa: F401  (re-exported fixture)
from tests.live_server import free_port  # noqa: F401  (for the tests that start ``asih serve`` themselves)
from tests.live_server import stop as _stop
from tests.live_server import wait_healthy as _wait_healthy

CACHE_ENTRIES = ("areas", "network", "trees", "samples", "geocoder")
"""Cache entries a lookup needs (the samples too since a wide region's drive times are computed over its population
points; maps are for maps only). One left out is rebuilt by the first lookup, 10 s or more per test."""


@pytest.fixture
def cache_copy(settings, tmp_path) -> Path:
    """A private copy of the prepared cache's lookup entries (tests may break or rebuild it freely)."""
    dst = tmp_path / "cache"
    for name in CACHE_ENTRIES:
        shutil.copytree(settings.cache_dir / name, dst / name)
    return dst


ALL_ENTRIES = ("areas", "network", "trees", "samples", "geocoder")
"""Every entry ``asih prepare`` writes."""


@pytest.fixture
def full_cache_copy(settings, tmp_path) -> Path:
    """A private copy of every prepared entry (with its lock files), so ``asih prepare`` on it only repairs."""
    dst = tmp_path / "cache"
    dst.mkdir()
    for name in ALL_ENTRIES:
        shutil.copytree(settings.cache_dir / name, dst / name)
    return dst


def asih_exe() -> str:
    """The ``asih`` command of the project's virtualenv."""
    exe = Path(sys.executable).with_name("asih")
    return str(exe if exe.exists() else PROJECT_ROOT / ".venv" / "bin" / "asih")


def run_asih(*args: str, cache_dir: Path | None = None, env: dict | None = None, timeout: float = 300,
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``asih ARGS`` (text output captured); ``cache_dir`` becomes ``ASIH_CACHE_DIR``."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200", "NO_COLOR": "1"}
    if cache_dir is not None:
        full_env["ASIH_CACHE_DIR"] = str(cache_dir)
    return subprocess.run([asih_exe(), *args], env=full_env, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or PROJECT_ROOT)


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 180.0) -> None:
    """Until ``url/health`` answers 200; raises with the log's tail when the server exits or takes too long."""
    _wait_healthy(url, proc, log_path, timeout_s)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server started by a test (and its worker processes, through uvicorn's own shutdown)."""
    _stop(proc, timeout_s=20)


def serve_workers(env: dict, tmp_path: Path, workers: int = 2) -> tuple[subprocess.Popen, str, Path]:
    """Start ``asih serve --workers N`` with ``env`` on a free port, its log in ``tmp_path/server.log``: (process,
    base URL, log path). The caller waits with :func:`wait_healthy` and ends it with :func:`stop`."""
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([asih_exe(), "serve", "--port", str(port), "--workers", str(workers)],
                                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log_path
