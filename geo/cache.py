"""The prepared-artifact cache: a directory per artifact, with a manifest of the inputs it was built from.

A cache entry is stale when any input file's checksum differs from the one recorded when it was built; callers
then rebuild (or raise a clear error). Nothing user-supplied (addresses, coordinates) is ever written here.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
"""Bump when the layout of cached artifacts changes, so old caches are rebuilt."""


class CacheError(RuntimeError):
    """A cache entry is missing, stale or unreadable, and rebuilding was not allowed."""


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_checksum(paths: list[Path], extra: dict[str, Any] | None = None) -> str:
    """One checksum over several input files (and optional parameters such as a profile name)."""
    digest = hashlib.sha256(str(FORMAT_VERSION).encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(file_checksum(path).encode() if path.exists() else b"missing")
    digest.update(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def entry_is_fresh(entry: Path, checksum: str) -> bool:
    """True when ``entry`` exists and was built from inputs with this checksum."""
    manifest = entry / MANIFEST
    if not manifest.exists():
        return False
    try:
        return json.loads(manifest.read_text())["checksum"] == checksum
    except (ValueError, KeyError):
        return False


def manifest_checksum(entry: Path) -> str:
    """The input checksum recorded in an entry's manifest ('' when the entry is missing)."""
    try:
        return json.loads((entry / MANIFEST).read_text())["checksum"]
    except (OSError, ValueError, KeyError):
        return ""


def write_entry(entry: Path, checksum: str, objects: dict[str, Any], info: dict[str, Any] | None = None) -> None:
    """Write pickled objects and the manifest atomically (a half-written entry is never seen as fresh)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
    try:
        for name, obj in objects.items():
            with open(tmp / f"{name}.pkl", "wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / MANIFEST).write_text(json.dumps({"checksum": checksum, **(info or {})}, indent=2, default=str))
        if entry.exists():
            shutil.rmtree(entry)
        tmp.rename(entry)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_entry(entry: Path, names: list[str]) -> dict[str, Any]:
    """Read pickled objects written by :func:`write_entry`. Raises :class:`CacheError` when unreadable."""
    out = {}
    for name in names:
        try:
            with open(entry / f"{name}.pkl", "rb") as fh:
                out[name] = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise CacheError(f"Cache entry {entry} is unreadable ({exc}); run `asih prepare`.") from exc
    return out
