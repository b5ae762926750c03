"""``asih serve --workers 2`` on a real PostgreSQL server that is stopped and started again under load (issue 22):
every lookup is answered through the outage, writes get 503 with Retry-After, and writes succeed again as soon as
the server is back, in both workers, with no restart."""

from __future__ import annotations


import httpx

from core.settings import Settings
from registry.service import RegistryService, cli_actor
from tests.registry.test_failures import SODERMALM, UNIT, own_pg  # noqa: F401 - own_pg is a fixture
from tests.reliability.conftest import serve_workers, stop, wait_healthy


def test_lookups_answered_and_no_write_lost_through_a_postgresql_restart(own_pg, tmp_path):  # noqa: F811
    import psycopg

    admin = own_pg.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "serve_faults"')
    url = own_pg.url.rsplit("/", 1)[0] + "/serve_faults"
    env = {"ASIH_REGISTRY_URL": url, "ASIH_REGISTRY_SECRET_FILE": str(tmp_path / "registry.secret"),
           "ASIH_REGISTRY_READ_CACHE_S": "0"}
    live = RegistryService.from_settings(Settings(**{k[5:].lower(): v for k, v in env.items()}))
    _, token = live.add_user(cli_actor(), "provider", [UNIT], "Ward")
    live.close()

    proc, base, log_path = serve_workers(env, tmp_path)
    auth = {"Authorization": f"Bearer {token}"}
    lookup = {"lat": SODERMALM[0], "lon": SODERMALM[1]}
    try:
        wait_healthy(base, proc, log_path, 240)
        with httpx.Client(base_url=base, timeout=30) as client:  # a new connection per request: both workers
            def lookups(n: int) -> set[int]:
                return {httpx.get(base + "/v1/lookup", params=lookup, timeout=30).status_code for _ in range(n)}

            assert lookups(10) == {200}
            assert client.put(f"/v1/units/{UNIT}/availability", json={"free_places": 1}, headers=auth).status_code \
                == 200

            own_pg.stop()
            assert lookups(20) == {200}
            health = httpx.get(base + "/health", timeout=30)
            assert health.status_code == 200 and health.json()["registry"] == "unavailable"
            refused = [httpx.put(f"{base}/v1/units/{UNIT}/availability", json={"free_places": 9}, headers=auth)
                       for _ in range(4)]
            assert {r.status_code for r in refused} == {503}
            assert all(int(r.headers["Retry-After"]) > 0 for r in refused)

            own_pg.start()
            written = [httpx.put(f"{base}/v1/units/{UNIT}/availability", json={"free_places": n}, headers=auth)
                       for n in (2, 3, 4, 5)]
            assert [r.status_code for r in written] == [200] * 4
            assert lookups(10) == {200}
            assert httpx.get(f"{base}/v1/units/{UNIT}/availability").json()["free_places"] == 5
        log_text = log_path.read_text(errors="replace")
        assert "Unhandled" not in log_text and "Traceback" not in log_text
    finally:
        stop(proc)
    reopened = RegistryService.from_settings(Settings(**{k[5:].lower(): v for k, v in env.items()}))
    try:  # every acknowledged write is there, the refused ones are not
        sets = [c["after"]["free_places"] for c in reopened.changes(entity=f"unit:{UNIT}")
                if c["action"] == "availability.set"]
        assert sets[:5] == [5, 4, 3, 2, 1] and 9 not in sets
    finally:
        reopened.close()
