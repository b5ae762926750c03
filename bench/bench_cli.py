"""Benchmark of the CLI's first answer: each command run ``--n`` times in fresh processes, median wall and CPU time.

Run from the repository root::

    .venv/bin/python bench/bench_cli.py [--n 5] [--tree DIR ...] [--only help,lookup,audit]

Every run is a new Python process (``python -c "from api.cli import app; app()" ARGS`` with the source tree as its
working directory, which is exactly what ``.venv/bin/asih ARGS`` runs), so each figure includes the interpreter's
start, the imports and the loading of the prepared cache: what a contract manager waits for. Commands are
interleaved (help, lookup, audit, help, …) so a burst of load on a shared machine falls on all of them alike.

``--tree DIR`` (repeatable) runs other source trees with the same interpreter, interleaved with each other, for a
before/after side by side in one run: e.g. ``git archive HEAD | tar -x -C /tmp/asih-before``, copy ``data/cache``,
``data/registry.sqlite3`` and ``data/registry.secret`` into it (that tree's settings read its own ``data/``; raw data
is read from ``--data-dir``, default this repository's), then ``--tree /tmp/asih-before --tree .``.

Each tree runs every command once untimed first, with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE``
removed from the children's environment): an installed ``asih`` runs from the bytecode written at install or at its
first run, and without it every run compiles the ~70 project modules a lookup imports again (≈ 0.1 s). The
warm-up also fills the page cache. ``--no-bytecode`` keeps the environment as it is.

CPU is user + system time of the child (``os.wait4``); on a loaded 2-core machine it is the steadier figure, wall
time is the one the targets are stated in (issue 24: ``--help`` ≤ 0.3 s, ``lookup`` ≤ 1.5 s, ``audit`` ≤ 3 s).
Output goes to ``/dev/null``: the address is never printed or stored here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python bench/bench_cli.py"
COMMANDS = {
    "help": (["--help"], 0.3),
    "lookup": (["lookup", "Fjällgatan 44, Stockholm"], 1.5),
    "audit": (["audit"], 3.0),
}
"""Name → (arguments of ``asih``, target wall seconds)."""


def run_once(tree: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``asih ARGS`` in a fresh process started in ``tree``.

    Raises ``SystemExit`` naming the command when it fails, so a broken command is never timed as a fast one.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from api.cli import app; sys.exit(app())", *args],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"asih {args[0]} failed in {tree} (exit {proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5, help="runs per command (fresh processes)")
    parser.add_argument("--tree", type=Path, action="append", help="source tree to run, repeatable (default: this "
                        "repository)")
    parser.add_argument("--only", default=",".join(COMMANDS), help="commands to time, comma-separated")
    parser.add_argument("--data-dir", type=Path, default=None, help="raw data directory (ASIH_DATA_DIR) for --tree")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if set (no untimed "
                        "warm-up run either)")
    opts = parser.parse_args()
    names = [name.strip() for name in opts.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in COMMANDS]
    if unknown:
        parser.error(f"unknown command(s) {unknown}; choose from {list(COMMANDS)}")
    trees = [tree.resolve() for tree in opts.tree or [ROOT]]
    env = dict(os.environ)
    if opts.data_dir is not None:
        env["ASIH_DATA_DIR"] = str(opts.data_dir)
    elif any(tree != ROOT for tree in trees):
        from core.settings import get_settings

        env["ASIH_DATA_DIR"] = str(get_settings().data_dir)
    times: dict[tuple[Path, str], list[tuple[float, float]]] = {(t, n): [] for t in trees for n in names}
    if not opts.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for tree in trees:
            for name in names:
                run_once(tree, COMMANDS[name][0], env)  # writes the bytecode caches, fills the page cache
    load_at_start = os.getloadavg()[0]
    for _ in range(opts.n):
        for tree in trees:
            for name in names:
                times[tree, name].append(run_once(tree, COMMANDS[name][0], env))
    print(f"{COMMAND} --n {opts.n} {' '.join(f'--tree {t}' for t in trees)}{' --no-bytecode' * opts.no_bytecode}  "
          f"({os.cpu_count()} cores, load "
          f"{load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)")
    for tree in trees:
        print(f"{tree}:")
        for name in names:
            walls = sorted(w for w, _ in times[tree, name])
            cpus = sorted(c for _, c in times[tree, name])
            args, target = COMMANDS[name]
            shown = " ".join(f'"{a}"' if " " in a else a for a in args)
            print(f"  asih {shown:<34} wall median {statistics.median(walls):5.2f} s (min {walls[0]:.2f}, max "
                  f"{walls[-1]:.2f}), CPU median {statistics.median(cpus):5.2f} s; target wall ≤ {target} s")


if __name__ == "__main__":
    main()
