"""Run every benchmark in turn (``make bench``). Each script prints its own figures and targets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_routing.py", "bench_isochrones.py", "bench_geocode.py", "bench_geocode_quality.py", "bench_audit.py", "bench_lookup.py",
           "bench_http.py", "bench_whatif.py", "bench_mixed_load.py"]


def main() -> int:
    failed = []
    for name in SCRIPTS:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
