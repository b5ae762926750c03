"""Issue 11, finding 5: heavy requests (batch, isochrone, audit) must not starve lookups or grow memory.

The memo is bounded and thread-safe with single-flight; the executor runs heavy work in worker processes (real
forks of this process), computes identical concurrent requests once, refuses with 503 + ``Retry-After`` when
saturated, and a 500-row batch leaves ``/health`` answering promptly on a real server.

The memo and executor tests run on the tiny real model (``tiny_service``: Riddarfjärden's shores, two units); the
route tests on the county's state, whose audit keeps the pool busy while the other requests arrive, and the batch
test on the county's server.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time

import httpx
import pytest

from api.app import create_app
from api.executor import HeavyExecutor, Memo, Saturated
from core.memo import memo_of


# -- the memo ----------------------------------------------------------------------------------------------------


def test_memo_is_bounded_by_entries_and_bytes_least_recently_used_first():
    memo = Memo(max_items=3, max_bytes=100)
    for k in "abc":
        memo.put(k, k.upper(), nbytes=10)
    assert memo.get("a") == "A"  # a is now the most recent
    memo.put("d", "D", nbytes=10)
    assert "b" not in memo and {k for k in "acd" if k in memo} == set("acd")
    memo.put("e", "E", nbytes=85)  # 10 + 10 + 85 > 100: the least recent go
    assert len(memo) <= 3 and memo.nbytes <= 100 and "e" in memo
    memo.put("huge", "H", nbytes=1000)  # heavier than the bound: answered, not kept
    assert "huge" not in memo


def test_memo_single_flight_under_threads():
    memo = Memo(max_items=8)
    calls = []
    started = threading.Barrier(16)

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return object()

    results = []

    def ask():
        started.wait()
        results.append(memo.get_or_compute("k", compute))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(calls) == 1 and len(results) == 16 and all(r is results[0] for r in results)


def test_memo_passes_an_error_to_every_waiter_and_keeps_nothing():
    memo = Memo(max_items=8)

    def boom():
        time.sleep(0.2)
        raise ValueError("no")

    errors = []

    def ask():
        try:
            memo.get_or_compute("k", boom)
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(errors) == 4 and "k" not in memo
    assert memo.get_or_compute("k", lambda: 1) == 1


def test_service_memoises_auditors_and_isochrones_in_one_bounded_memo(tiny_service):
    service = tiny_service
    a = service.auditor()
    assert service.auditor() is a
    memo = memo_of(service)
    # Keyed by the limit and the approvals of the day (from the live registry): another day's approvals, another entry.
    assert ("auditor", float(service.settings.limit_s), service.approvals_on()) in memo and ("samples",) in memo
    assert memo.max_items <= 32 and memo.nbytes <= memo.max_bytes
    assert "_auditors" not in service.__dict__ and "_isochrones" not in service.__dict__
    iso = service.isochrone("ersta-diakoni", 120.0)
    assert service.isochrone("ersta-diakoni", 120.0) is iso and ("isochrone", "ersta-diakoni", 120.0) in memo


# -- the executor (real worker processes) ------------------------------------------------------------------------


def slow_pid(_svc, seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_identical_concurrent_requests_are_computed_once_in_a_worker_process(tiny_service):
    heavy = HeavyExecutor(workers=2, queue=4)
    heavy.start(tiny_service)
    try:
        async def main():
            return await asyncio.gather(*(heavy.run(("same",), slow_pid, 0.5) for _ in range(10)))

        pids = asyncio.run(main())
        assert len(set(pids)) == 1 and pids[0] != os.getpid()  # one computation, not in this process
        assert heavy.computed == 1
    finally:
        heavy.close()


def test_saturated_executor_refuses_with_retry_after(tiny_service):
    heavy = HeavyExecutor(workers=1, queue=1, retry_after_s=7)
    heavy.start(tiny_service)
    try:
        async def main():
            first = asyncio.ensure_future(heavy.run(("a",), slow_pid, 0.6))
            second = asyncio.ensure_future(heavy.run(("b",), slow_pid, 0.1))
            await asyncio.sleep(0.05)
            with pytest.raises(Saturated) as err:
                await heavy.run(("c",), slow_pid, 0.1)
            assert err.value.retry_after_s == 7
            await asyncio.gather(first, second)
            assert await heavy.run(("c",), slow_pid, 0.0)  # room again once they are done

        asyncio.run(main())
        assert heavy.refused == 1
    finally:
        heavy.close()


def test_routes_answer_503_with_retry_after_when_saturated_and_share_identical_audits(settings, service):
    """Real app and routes over ASGI; the audits run in a real worker process (uncommon limits: not memoised). On
    the county: its audit takes long enough (≈ 1 s) that the pool is still busy when the last request arrives."""
    heavy = HeavyExecutor(workers=1, queue=0, retry_after_s=3)
    app = create_app(settings, service=service, heavy=heavy)

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
            same = [client.get("/v1/audit", params={"minutes": 17}) for _ in range(4)]
            other = client.get("/v1/audit", params={"minutes": 19})
            return await asyncio.gather(*same, other)

    try:
        *same, other = asyncio.run(main())
    finally:
        heavy.close()
    assert [r.status_code for r in same] == [200] * 4 and len({r.content for r in same}) == 1
    assert other.status_code == 503 and other.headers["retry-after"] == "3" and "retry" in other.json()["detail"]
    assert heavy.computed == 1  # four identical requests, one computation


def test_planning_routes_run_in_the_heavy_pool_too(settings, service):
    """Siting, the planning audit and the planning what-if take seconds of CPU: they queue for the same bounded
    pool as the audit (here full with one audit), so they are refused with 503 rather than run on the server."""
    heavy = HeavyExecutor(workers=1, queue=0, retry_after_s=4)
    app = create_app(settings, service=service, heavy=heavy)

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
            return await asyncio.gather(
                client.get("/v1/audit", params={"minutes": 21}),
                client.get("/v1/units/syd-aleris/suggest-bases", params={"minutes": 22}),
                client.get("/v1/planning/audit", params={"minutes": 23}),
                client.post("/v1/planning/what-if", json={"remove": ["syd-aleris"], "minutes": 24}),
            )

    try:
        first, *planning = asyncio.run(main())
    finally:
        heavy.close()
    assert first.status_code == 200
    assert [r.status_code for r in planning] == [503] * 3
    assert all(r.headers["retry-after"] == "4" for r in planning)


def test_a_500_row_batch_leaves_health_prompt(live_server):
    rows = "lat,lon\n" + "".join(f"{59.25 + (i % 50) * 0.003:.4f},{17.95 + (i // 50) * 0.01:.4f}\n" for i in range(500))
    result = {}

    def batch():
        with httpx.Client(base_url=live_server.url, timeout=120) as c:
            t0 = time.perf_counter()
            result["r"] = c.post("/v1/lookup/batch", content=rows.encode(), headers={"content-type": "text/csv"})
            result["seconds"] = time.perf_counter() - t0

    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        client.get("/health")
        worker = threading.Thread(target=batch)
        worker.start()
        latencies = []
        while worker.is_alive() and len(latencies) < 400:
            t0 = time.perf_counter()
            assert client.get("/health").status_code == 200
            latencies.append(time.perf_counter() - t0)
        worker.join(timeout=120)
    assert result["r"].status_code == 200 and result["r"].json()["rows"] == 500
    assert len(latencies) >= 5, "the batch finished before health was measured"
    # On the event loop one /health would wait for the whole batch; in threads, every one waits for the GIL.
    # Measured on an idle VM: in a worker process median 1.1 ms, max 12 ms; in the thread pool (before) 3.2 ms, 120 ms.
    worst, median = max(latencies), statistics.median(latencies)
    assert median < 0.02 and worst < result["seconds"] / 4, (median, worst, result["seconds"])
