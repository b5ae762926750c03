"""Lookups measured with ``wrk`` against ``asih serve --workers 2``, alone and under the mixed load (issue 24, item 4).

Run from the repository root (prepared cache; Debian's ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/bench_wrk_lookups.py [--seconds 30] [--repeat 2] [--connections 8] [--json F]

One server, ``asih serve --workers 2`` on a free local port (workers forked from the loaded parent, as in
production). ``wrk -t1 -c8`` (a C load generator in one thread, so it takes little of the server's two cores) sends
lookups for ``--seconds``: every other request ``GET /v1/lookup?lat&lon`` at a random inner-county point, the others
``POST /v1/lookup`` with one of 14 real street addresses (``bench._load.ADDRESSES``). Phases, repeated ``--repeat``
times in turn so that a burst of load on a shared machine falls on both:

- *alone*: the lookups only;
- *mixed*: the same while 2 clients send 500-row CSV batches and 2 ask for isochrones never asked before (the
  heavy clients of ``bench/bench_mixed_load.py``, in a separate Python process).

Reported per phase: requests, req/s, p50/p99/max latency (wrk's ``--latency`` percentiles), non-2xx answers and
socket errors, heavy requests done, the server's CPU time (all its processes, user + system) per lookup — in the
mixed phase including the heavy work — and the machine's 1-minute load average before and after: on a shared
machine the rates and latencies are only as good as that load; the CPU per lookup much less depends on it.
Targets (issue 24): alone ≥ 1 000 req/s with p99 ≤ 20 ms; mixed ≥ 800 req/s with p99 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import ADDRESSES, LAT, LON, ROOT, free_port, start_server  # noqa: E402 - needs the root on sys.path

COMMAND = ".venv/bin/python bench/bench_wrk_lookups.py --seconds 30 --repeat 2"
TARGETS = {"alone": (1000.0, 20.0), "mixed": (800.0, 30.0)}
"""Phase → (req/s at least, p99 ms at most)."""
HEAVY = "batch,batch,isochrone,isochrone"


def wrk_script() -> str:
    """The Lua script: GET at a random inner-county point and POST with a real address, in turn."""
    addresses = ", ".join(json.dumps(json.dumps({"address": a}, ensure_ascii=False), ensure_ascii=False)
                          for a in ADDRESSES)
    return f"""
math.randomseed(24)
local bodies = {{{addresses}}}
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    local lat = {LAT[0]} + math.random() * {LAT[1] - LAT[0]:.2f}
    local lon = {LON[0]} + math.random() * {LON[1] - LON[0]:.2f}
    return wrk.format("GET", string.format("/v1/lookup?lat=%.5f&lon=%.5f", lat, lon))
  end
  return wrk.format("POST", "/v1/lookup", {{["Content-Type"] = "application/json"}}, bodies[math.random(#bodies)])
end
"""


def run_wrk(url: str, seconds: float, connections: int, script: Path) -> dict:
    """One wrk run; its figures (latencies in ms)."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "5s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout

    def ms(pattern: str) -> float:
        m = re.search(pattern + r"\s+([\d.]+)(us|ms|s)\b", out, re.M)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    max_ms = ms(r"^\s*Latency\s+[\d.]+(?:us|ms|s)\s+[\d.]+(?:us|ms|s)")
    return {"requests": int(total.group(1)) if total else 0, "rps": float(rps.group(1)) if rps else 0.0,
            "p50_ms": ms(r"^\s*50%"), "p99_ms": ms(r"^\s*99%"), "max_ms": max_ms,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0}


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's workers and their heavy-work processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server's processes alive now."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def phase(name: str, url: str, args, script: Path, server_pid: int) -> dict:
    load_before = os.getloadavg()[0]
    cpu_before = server_cpu_s(server_pid)
    heavy = None
    if name == "mixed":
        heavy = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_mixed_load.py"), "--heavy", url,
                                  "--seconds", str(args.seconds), "--kinds", HEAVY], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the heavy clients' first requests are in the server before wrk starts
    figures = run_wrk(url, args.seconds, args.connections, script)
    figures["server_cpu_ms_per_request"] = (server_cpu_s(server_pid) - cpu_before) * 1000 / max(figures["requests"], 1)
    if heavy is not None:
        out, _ = heavy.communicate(timeout=600)
        figures["heavy"] = json.loads(out)
    figures.update(phase=name, load_before=round(load_before, 2), load_after=round(os.getloadavg()[0], 2))
    rps, p99 = TARGETS[name]
    figures["target_met"] = figures["rps"] >= rps and figures["p99_ms"] <= p99 and not figures["non_2xx"]
    heavy_done = {k: v["done"] for k, v in figures.get("heavy", {}).items()}
    print(f"{name:>5}: {figures['rps']:7.0f} req/s, p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
          f"max {figures['max_ms']:.0f} ms, non-2xx {figures['non_2xx']}, socket errors {figures['socket_errors']}"
          f"{', heavy done ' + str(heavy_done) if heavy_done else ''}; server CPU "
          f"{figures['server_cpu_ms_per_request']:.2f} ms per request; load {figures['load_before']} → "
          f"{figures['load_after']}; target ≥ {rps:.0f} req/s, p99 ≤ {p99:.0f} ms: "
          f"{'met' if figures['target_met'] else 'MISSED'}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="wrk's duration per phase")
    parser.add_argument("--repeat", type=int, default=2, help="times each phase runs (alone, mixed, alone, …)")
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    runs = []
    with tempfile.TemporaryDirectory(prefix="asih-bench-wrk-") as tmp:
        script = Path(tmp) / "lookups.lua"
        script.write_text(wrk_script(), encoding="utf-8")
        port = free_port()
        asih = Path(sys.executable).with_name("asih")
        server = start_server([str(asih), "serve", "--workers", "2", "--port", str(port)], port,
                              Path(tmp) / "server.log", timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        url = f"http://127.0.0.1:{port}"
        try:
            print(f"{COMMAND.split(' --')[0]} --seconds {args.seconds:.0f} --repeat {args.repeat} --connections "
                  f"{args.connections}; asih serve --workers 2, {os.cpu_count()} cores, "
                  f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
            run_wrk(url, 5, args.connections, script)  # warm both workers (first requests, page cache)
            for _ in range(args.repeat):
                for name in ("alone", "mixed"):
                    runs.append(phase(name, url, args, script, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        args.json.write_text(json.dumps({"command": COMMAND, "date": time.strftime("%Y-%m-%d %H:%M"),
                                         "cpus": os.cpu_count(), "runs": runs}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
