"""Registry fixtures: a fresh database per test on SQLite (a temporary file) and on a real PostgreSQL server.

The PostgreSQL server is Debian's (``apt-get install postgresql``; ``.ci/run`` installs it), started once per
session by ``initdb`` + ``pg_ctl`` in a temporary directory on a free port, as an unprivileged user when the tests
run as root (PostgreSQL refuses to run as root). Its tests skip, saying why, only when the binaries are missing
(and fail then under ``ASIH_REQUIRE_ALL``, as in CI).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings
from registry.db import make_engine, upgrade
from registry.service import Actor, RegistryService, cli_actor
from tests.conftest import missing

PROVIDERS_YAML = PROJECT_ROOT / "data" / "providers.yaml"
SECRET = b"0123456789abcdef0123456789abcdef-test-secret"
AREA_IDS = tuple(range(1, 9))
BACKENDS = ["sqlite", "postgresql"]
_db_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return cmd if user is None else ["runuser", "-u", user, "--", *cmd]


@pytest.fixture(scope="session")
def pg_server():
    """Base URL (without database) of a PostgreSQL server running for this test session."""
    bindir = _pg_bindir()
    if bindir is None:
        missing("PostgreSQL server binaries missing (/usr/lib/postgresql/*/bin/initdb): "
                "apt-get install postgresql (.ci/run does)")
    user = None
    if os.geteuid() == 0:
        user = "postgres" if _has_user("postgres") else "nobody"
        if shutil.which("runuser") is None:
            missing("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="asih-pg-"))
    data = base / "data"
    if user is not None:
        shutil.chown(base, user=user)
        base.chmod(0o700)
    port = _free_port()
    log = base / "server.log"
    try:
        subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", "asih", "--auth=trust", "-E", "UTF8",
                                 "--no-sync", "--locale=C"], user),
                       check=True, capture_output=True, timeout=120)
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=60")
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                 "-o", options, "start"], user),
                       check=True, capture_output=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc}\n{detail.decode(errors='replace')}\n{text}")
    try:
        yield f"postgresql+psycopg://asih@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user),
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A URL of an empty database: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    import psycopg

    base = request.getfixturevalue("pg_server")
    name = f"registry_test_{os.getpid()}_{next(_db_numbers)}"
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Clock:
    """A settable UTC clock (starts at the real now)."""

    def __init__(self):
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock():
    return Clock()


def open_service(url: str, clock=None, providers: Path = PROVIDERS_YAML,
                 read_cache_s: float | None = None) -> RegistryService:
    """A migrated registry on ``url`` with ``providers`` imported; reads kept ``read_cache_s`` (default: as the
    server keeps them, so every service test runs with the read cache on)."""
    engine = make_engine(url)
    upgrade(engine)
    kwargs = {"clock": clock} if clock is not None else {}
    if read_cache_s is None:
        read_cache_s = Settings().registry_read_cache_s
    svc = RegistryService(engine, SECRET, area_ids=AREA_IDS, read_cache_s=read_cache_s, **kwargs)
    svc.import_if_empty(providers)
    return svc


@pytest.fixture
def svc(db_url, clock):
    service = open_service(db_url, clock)
    yield service
    service.close()


@pytest.fixture
def admin() -> Actor:
    return cli_actor()


@pytest.fixture
def users(svc, admin):
    """Tokens and actors: a provider of ersta-diakoni, a contract manager and an admin."""
    made = {}
    for key, role, units in (("provider", "provider", ["ersta-diakoni"]), ("manager", "contract_manager", []),
                             ("admin", "admin", [])):
        user, token = svc.add_user(admin, role, units, f"Test {key}")
        made[key] = {"user": user, "token": token, "actor": svc.authenticate(token)}
    return made
