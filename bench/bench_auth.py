"""Time to refuse a registry token whose prefix exists vs one whose prefix does not (issue 22: which prefixes exist
must not leak through timing).

Run from the repository root::

    .venv/bin/python bench/bench_auth.py [--rounds 2000]

On a temporary SQLite registry (the providers file imported, three users), interleaved so drift hits both alike:
``RegistryService.check_token`` for a wrong secret with a known prefix and for an unknown prefix; then the whole
refusal through the real app (``GET /v1/me``, FastAPI's TestClient: the token check, the count query and the
recorded failure), with limits too high to lock. Reports median and p90 in microseconds and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import FailureLimiter  # noqa: E402
from core.settings import Settings  # noqa: E402
from registry.db import make_engine, upgrade  # noqa: E402
from registry.service import RegistryService, cli_actor  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_auth.py --rounds 2000"


def _stats(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_us": round(statistics.median(times) * 1e6, 1), "p90_us": round(times[int(len(times) * 0.9)] * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'registry.sqlite3'}")
        upgrade(engine)
        svc = RegistryService(engine, secrets.token_hex(32).encode())
        svc.import_if_empty(Settings().providers_file)
        tokens = [svc.add_user(cli_actor(), "admin", [], f"user {i}")[1] for i in range(3)]
        wrong = [t[:14] + ("B" if t[14] != "B" else "C") + t[15:] for t in tokens]

        def unknown() -> str:
            return f"asih_{secrets.token_hex(4)}_" + "A" * 43

        results = {}
        known_t, unknown_t = [], []
        for i in range(rounds):
            for bucket, token in ((known_t, wrong[i % 3]), (unknown_t, unknown()))[:: 1 if i % 2 else -1]:
                t0 = time.perf_counter()
                svc.check_token(token)
                bucket.append(time.perf_counter() - t0)
        results["check_token"] = {"known_prefix": _stats(known_t), "unknown_prefix": _stats(unknown_t)}

        app = create_app(Settings(), service=SimpleNamespace())
        app.state.registry = svc
        app.state.registry_limiter = FailureLimiter({"ip": 10**9, "token": 10**9}, window_s=3600)
        client = TestClient(app)
        known_t, unknown_t = [], []
        n = max(rounds // 4, 50)
        for i in range(n):
            for bucket, token in ((known_t, wrong[i % 3]), (unknown_t, unknown()))[:: 1 if i % 2 else -1]:
                t0 = time.perf_counter()
                status = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
                bucket.append(time.perf_counter() - t0)
                assert status == 401, status
        results["http_refusal"] = {"known_prefix": _stats(known_t), "unknown_prefix": _stats(unknown_t)}
        for part in results.values():
            part["ratio_known_to_unknown"] = round(part["known_prefix"]["median_us"]
                                                   / part["unknown_prefix"]["median_us"], 3)
        svc.close()
    print(json.dumps({"command": COMMAND, "rounds": rounds, **results}, indent=2))


if __name__ == "__main__":
    main()
