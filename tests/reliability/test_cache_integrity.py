"""Issue 11, findings 2, 3 and 9: the prepared cache verifies itself, refuses damage with one sentence, and
``asih prepare`` repairs it without ``--force``; nothing in it can run code when loaded; other users can read it.

Every test damages a private copy of a real prepared cache (real files, real loaders, the real ``asih`` command):
the county's, or the tiny real model's (``tests/tiny``, cut from the county's raw files) where the claim is about the
cache code rather than the county's data, so that a repair takes seconds; the project cache is never touched.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
import pytest

from lookup.service import Service
from core.cache import MANIFEST, CacheError, file_checksum
from core.settings import PROJECT_ROOT, Settings
from routing.basetrees import load_base_trees
from routing.prepare import load_network
from tests.reliability.conftest import run_asih

FJALLGATAN = (59.3148, 18.0843)
TREES = "trees/free_flow/trees.npz"
SENTENCE_END = "run `asih prepare` to rebuild it."


def _flip(path, offset: int, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _one_sentence(message: str, path) -> None:
    """The refusal names the damaged file and the fix, in one sentence (no traceback, no second line)."""
    assert str(path) in message, message
    assert message.endswith(SENTENCE_END) and "\n" not in message and "Traceback" not in message, message


def test_flipped_bytes_in_the_trees_are_refused_and_prepare_repairs_them(tiny, tiny_service, tmp_path):
    """64 flipped bytes in the middle of the stored drive times once gave a unit −1.5e179 s, "within 30 min" (on
    the tiny real model: the county's cache code and the real ``asih prepare``, which repairs it in seconds)."""
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)
    assert tiny.settings.profile == "free_flow"  # TREES names that profile's entry
    trees = cache / TREES
    original = trees.read_bytes()
    _flip(trees, len(original) // 2)
    damaged = tiny.settings.model_copy(update={"cache_dir": cache})
    with pytest.raises(CacheError) as err:
        Service.load(damaged, rebuild=False)
    _one_sentence(str(err.value), trees)
    assert "SHA-256" in str(err.value)

    done = run_asih("prepare", env=tiny.env(cache))  # no --force
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    repaired = Service.load(damaged, rebuild=False)
    assert np.array_equal(repaired.eligibility.trees.times, tiny_service.eligibility.trees.times)
    assert repaired.lookup_point(*FJALLGATAN)["eligible"] == tiny_service.lookup_point(*FJALLGATAN)["eligible"]


@pytest.mark.parametrize("relpath", [TREES, "network/network.npz", "samples/samples.npz", "geocoder/index.json",
                                     "areas/model.gpkg"])
def test_truncated_file_is_refused_naming_it_and_rebuilt_on_load(tiny, tiny_service, tmp_path, relpath):
    """On the tiny real model (the county's loaders and cache code, rebuilt in seconds)."""
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)
    assert tiny.settings.profile == "free_flow"  # TREES names that profile's entry
    path = cache / relpath
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    broken = tiny.settings.model_copy(update={"cache_dir": cache})
    with pytest.raises(CacheError) as err:
        svc = Service.load(broken, rebuild=False)
        svc_samples(svc, rebuild=False)
    _one_sentence(str(err.value), path)
    assert "bytes where" in str(err.value)  # says what is wrong: truncated
    svc = Service.load(broken)  # rebuild allowed: the damaged entry is rebuilt in place
    svc_samples(svc, rebuild=True)
    assert json.loads((path.parent / MANIFEST).read_text())["files"][path.name]["bytes"] == path.stat().st_size
    Service.load(broken, rebuild=False)


def svc_samples(svc: Service, rebuild: bool):
    from routing.population import load_samples

    return load_samples(svc.settings, svc.network, svc.areas, rebuild=rebuild)


def test_empty_network_json_is_a_sentence_and_repaired(tiny, tiny_service, tmp_path):
    """On the tiny real model (the county's loaders; its network rebuilds in a second)."""
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)
    meta = cache / "network" / "network.json"
    meta.write_text("")
    broken = tiny.settings.model_copy(update={"cache_dir": cache})
    with pytest.raises(CacheError) as err:
        load_network(broken, rebuild=False)
    _one_sentence(str(err.value), meta)
    lookup = run_asih("lookup", "59.3148, 18.0843", "--json", env=tiny.env(cache))
    assert lookup.returncode == 0 and "Traceback" not in lookup.stderr, lookup.stderr[-2000:]
    assert json.loads(meta.read_text())["n_nodes"] == tiny.network.n_nodes
    assert json.loads(lookup.stdout)["area"]["id"] == 4


def test_corrupted_geocoder_index_is_repaired_by_prepare(tiny, tiny_service, tmp_path):
    """Once, `prepare` said "ready" over a corrupted index and every lookup crashed (on the tiny real model, whose
    geocoder index is built from the county's register cut to its box)."""
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)
    index = cache / "geocoder" / "index.json"
    _flip(index, 1000)
    with pytest.raises(CacheError) as err:
        Service.load(tiny.settings.model_copy(update={"cache_dir": cache}), rebuild=False)
    _one_sentence(str(err.value), index)
    done = run_asih("prepare", env=tiny.env(cache))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Geocoder index: ready" in done.stdout
    ok = run_asih("lookup", "Fjällgatan 44, Stockholm", "--json", env=tiny.env(cache))
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["area"]["id"] == 4


def test_implausible_values_with_a_valid_hash_are_refused(full_cache_copy, settings, service):
    """The hash catches damage on disk; the value checks catch a wrong writer: negative drive times are refused."""
    from core.cache import write_entry
    from core.encoding import npz_arrays, npz_bytes
    from routing.basetrees import META, NPZ

    entry = full_cache_copy / "trees" / service.network.profile  # the trees the service's profile reads
    manifest = json.loads((entry / MANIFEST).read_text())
    arrays = npz_arrays((entry / NPZ).read_bytes())
    arrays["times"][3, 100] = -1.5e179
    write_entry(entry, manifest["checksum"], {NPZ: npz_bytes(arrays), META: (entry / META).read_bytes()})
    with pytest.raises(CacheError, match=r"drive times below 0 s"):
        load_base_trees(Settings(cache_dir=full_cache_copy), service.network, service.registry, rebuild=False)


def test_the_cache_is_not_a_code_execution_path(full_cache_copy, service, tmp_path):
    """A pickle payload planted in the cache — as a leftover ``.pkl`` or inside an ``.npz`` with a forged manifest —
    is never executed: loaders read no pickle, and ``.npz`` files are opened with ``allow_pickle=False``."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    entry = full_cache_copy / "trees" / service.network.profile
    (entry / "trees.pkl").write_bytes(pickle.dumps(Payload()))
    buf = io.BytesIO()
    np.savez(buf, times=np.array([Payload()], dtype=object))
    (entry / "trees.npz").write_bytes(buf.getvalue())
    manifest = json.loads((entry / MANIFEST).read_text())
    manifest["files"]["trees.npz"] = {"sha256": file_checksum(entry / "trees.npz"), "bytes": len(buf.getvalue())}
    (entry / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="trees"):
        load_base_trees(Settings(cache_dir=full_cache_copy), service.network, service.registry, rebuild=False)
    assert not marker.exists()
    loaded = ("areas", "network", f"trees/{service.network.profile}", "samples", "geocoder")
    assert not [p for e in loaded for p in (service.settings.cache_dir / e).rglob("*.pkl")], "no pickle is prepared"


def test_cache_entries_get_the_umask_permissions(settings):
    """mkdtemp's 0700 once locked every other account out of entries built by ``asih prepare``."""
    readable = 0o055 & ~_umask()
    for entry in ("areas", "network", "trees/free_flow", "samples", "geocoder"):
        mode = (settings.cache_dir / entry).stat().st_mode & 0o777
        assert mode & readable == readable, (entry, oct(mode))


def test_cache_is_readable_by_a_service_account_that_did_not_build_it(settings):
    """An account that can neither write the cache nor its lock files still loads it."""
    if os.geteuid() != 0:
        pytest.skip("switching to another account needs root")
    python, prelude = _python_for_nobody()
    shared = Path(tempfile.mkdtemp(prefix="asih-shared-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        for name in ("areas", "network", "trees", "samples", "geocoder"):
            shutil.copytree(settings.cache_dir / name, shared / name)  # modes copied as prepare made them
        for lock in settings.cache_dir.rglob(".*.lock"):
            target = shared / lock.relative_to(settings.cache_dir)
            shutil.copy2(lock, target)
            os.chmod(target, 0o644)  # read-only to the service account
        code = (prelude + "from lookup.service import Service; from core.settings import Settings; "
                f"s = Service.load(Settings(cache_dir={str(shared)!r}), rebuild=False); "
                "print(s.lookup_point(59.3148, 18.0843)['area']['id'])")
        own = shared / "registry"  # the service account's own live registry (a lookup reads its approvals)
        own.mkdir()
        os.chown(own, 65534, 65534)
        env = {**os.environ, "HOME": "/tmp", "ASIH_REGISTRY_URL": f"sqlite:///{own / 'registry.sqlite3'}",
               "ASIH_REGISTRY_SECRET_FILE": str(own / "registry.secret")}
        nobody = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300,
                                env=env, user=65534, group=65534, cwd="/")
        assert nobody.returncode == 0 and nobody.stdout.strip() == "4", nobody.stderr[-2000:]
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _python_for_nobody() -> tuple[str, str]:
    """An interpreter the account 'nobody' can run with this environment's packages, and the code to put before a
    ``-c`` program: this one, or else the system's Python of the same version given this one's packages (this
    interpreter may live in root's private home, as pyenv's does)."""
    packages = (f"import site, sys; site.addsitedir({sysconfig.get_paths()['purelib']!r}); "
                f"sys.path.insert(0, {str(PROJECT_ROOT)!r}); ")
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    for python, prelude in ((sys.executable, ""), (system, packages)):
        try:
            subprocess.run([python, "-c", prelude + "import api"], check=True, capture_output=True, timeout=120,
                           user=65534, group=65534, cwd="/")
            return python, prelude
        except (OSError, subprocess.CalledProcessError):
            continue
    pytest.skip(f"the service account 'nobody' can run neither this Python nor {system} with this one's packages")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
