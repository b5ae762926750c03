"""The real server, as deployed: ``uvicorn api.main:app`` in a subprocess with the redacting log config.

``live_server`` is session-scoped and shared by every test that needs HTTP over a socket (the browser tests, log
privacy checks). Its stdout and stderr go to one file, so tests can assert what the server did *not* log. The
starting, health wait and stopping are ``tests.live_server.serve``'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.live_server import PROJECT_ROOT, STARTUP_TIMEOUT_S, LiveServer, serve, uvicorn_command
from tests.live_server import free_port as _free_port  # noqa: F401  (the names other test modules import from here)
from tests.live_server import python as _python  # noqa: F401
from tests.live_server import wait_healthy as _wait_healthy  # noqa: F401

__all__ = ["PROJECT_ROOT", "STARTUP_TIMEOUT_S", "LiveServer", "_free_port", "_python", "_wait_healthy", "live_server"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Start ``uvicorn api.main:app`` on a free local port; stop it at the end of the session.

    ``ASIH_LIVE_APP`` overrides the app import string (for trying a router before it is wired into the app).
    """
    app = os.environ.get("ASIH_LIVE_APP", "api.main:app")
    with serve(tmp_path_factory.mktemp("live_server"), lambda port, log_config: uvicorn_command(app, port, log_config),
               extra_env={"PYTHONUNBUFFERED": "1"}) as server:  # access-log lines reach the file as they happen
        yield server
