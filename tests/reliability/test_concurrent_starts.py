"""Issue 11, finding 4: concurrent ``asih prepare`` runs and multi-worker starts on a stale cache.

Each entry is built under its lock in a uniquely named temporary folder: two ``asih prepare`` both succeed (one
waits for the other's entries), and ``asih serve --workers 2`` on a stale cache starts both workers. Real
processes, real files, a real server on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from core.cache import entry_lock, load_or_build, read_manifest
from core.encoding import json_bytes, json_value
from tests.reliability.conftest import asih_exe, free_port, run_asih, stop, wait_healthy


def _stale_speeds(settings, tmp_path):
    """A speeds file that differs from the prepared one: the network, trees and samples are then stale."""
    speeds = tmp_path / "speeds.yaml"
    text = settings.speeds_file.read_text(encoding="utf-8")
    assert "residential: 40" in text
    speeds.write_text(text.replace("residential: 40", "residential: 35"), encoding="utf-8")
    return speeds


def _tiny_cache(tiny, tmp_path) -> Path:
    """A private copy of the tiny real model's prepared cache (the county's code paths, in seconds)."""
    dst = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, dst)
    return dst


def test_two_prepares_at_once_both_succeed(tiny, tmp_path):
    cache = _tiny_cache(tiny, tmp_path)
    for name in ("network", "trees"):
        shutil.rmtree(cache / name)
    env = {**os.environ, **tiny.env(cache), "NO_COLOR": "1", "COLUMNS": "200"}
    procs = [subprocess.Popen([asih_exe(), "prepare"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
        assert "Traceback" not in out and "Prepared in" in out, out[-3000:]
    assert not list(cache.rglob(".*.tmp-*")) and not list(cache.rglob(".*.old-*"))
    check = run_asih("lookup", "59.3148, 18.0843", "--json", env=tiny.env(cache))
    assert check.returncode == 0, check.stderr[-2000:]


def test_serve_with_two_workers_on_a_stale_cache_starts_both(tiny, tmp_path):
    cache = _tiny_cache(tiny, tmp_path)
    speeds = _stale_speeds(tiny.settings, tmp_path)
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {**os.environ, **tiny.env(cache, speeds_file=speeds), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([asih_exe(), "serve", "--port", str(port), "--workers", "2"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log_path, timeout_s=300)
        deadline = time.monotonic() + 120
        while log_path.read_text().count("Application startup complete.") < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.5)
        text = log_path.read_text()
        assert text.count("Application startup complete.") == 2, text[-3000:]
        assert "startup failed" not in text and "Traceback" not in text and "died" not in text, text[-3000:]
    finally:
        stop(proc)
    assert read_manifest(cache / "network")["checksum"] != read_manifest(tiny.settings.cache_dir / "network")[
        "checksum"], "the network was rebuilt from the changed speeds"


def test_threads_building_one_entry_build_it_once(tmp_path):
    """The lock excludes threads of one process too (one open file description each): one build, one value."""
    entry = tmp_path / "cache" / "thing"
    builds = []

    def build():
        builds.append(threading.get_ident())
        time.sleep(0.5)
        return {"value": 42}

    results = []

    def load():
        results.append(load_or_build(
            entry, "inputs-1", what="The thing", names=["thing.json"], decode=lambda f: json_value(f["thing.json"]),
            build=build, encode=lambda v: {"thing.json": json_bytes(v)},
        ))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(builds) == 1 and results == [{"value": 42}] * 6
    with entry_lock(entry, exclusive=False):  # the lock file lives beside the entry and can be taken again
        assert read_manifest(entry)["checksum"] == "inputs-1"
