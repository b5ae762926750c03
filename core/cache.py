"""The prepared-artifact cache: a directory per entry, with a manifest of the inputs it was built from and of the
content of every file in it.

An entry is *stale* when the checksum of its inputs differs from the one recorded when it was built, and *damaged*
when a stored file's size or SHA-256 differs from the manifest, or its values are implausible (callers check them:
finite, non-negative times, expected shapes). Loading a stale or damaged entry rebuilds it (or raises
:class:`CacheError` with one sentence naming the file and the fix), so ``asih prepare`` repairs any entry without
``--force``.

Nothing stored here can run code when loaded: entries hold JSON, numpy ``.npz`` read with ``allow_pickle=False``
(both made by :mod:`core.encoding`) and GeoPackage, never pickle, so a writable cache directory is not a code-execution
path.

Concurrency: an entry is built under an exclusive lock (``fcntl.flock`` on ``.<entry>.lock`` beside it) and read
under a shared one, in a uniquely named temporary directory that replaces the entry only when complete; so two
``asih prepare`` runs, or several server workers starting on a stale cache, build each entry once and never see a
half-written one. Nothing user-supplied (addresses, coordinates) is ever written here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
"""Bump when the layout of cached artifacts changes, so old caches are rebuilt (2: content hashes, no pickle)."""

T = TypeVar("T")


class CacheError(RuntimeError):
    """A cache entry is missing, stale, damaged or unwritable, and rebuilding was not allowed or failed."""


class EntryMissing(CacheError):
    """The entry has never been built (or was built by an older cache format)."""


class EntryStale(CacheError):
    """The entry was built from other inputs."""


class EntryDamaged(CacheError):
    """A stored file is missing, truncated, altered or holds implausible values."""


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


# -- manifest ----------------------------------------------------------------------------------------------------


def read_manifest(entry: Path) -> dict | None:
    """The entry's manifest, or None when it has none. Raises :class:`EntryDamaged` when it is unreadable."""
    path = entry / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EntryDamaged(_damaged(path, f"unreadable: {exc.strerror}")) from None
    try:
        manifest = json.loads(text)
    except ValueError:
        raise EntryDamaged(_damaged(path, "not valid JSON")) from None
    if not isinstance(manifest, dict):
        raise EntryDamaged(_damaged(path, "not a JSON object"))
    return manifest


def entry_is_fresh(entry: Path, checksum: str) -> bool:
    """True when ``entry`` was built in this format from inputs with this checksum and its files are all there
    with their recorded sizes (a cheap check: the content hashes are verified by :func:`read_entry`)."""
    try:
        manifest = read_manifest(entry)
    except CacheError:
        return False
    if not _current(manifest) or manifest.get("checksum") != checksum:
        return False
    for name, meta in manifest["files"].items():
        try:
            if (entry / name).stat().st_size != meta["bytes"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def manifest_checksum(entry: Path) -> str:
    """The input checksum recorded in an entry's manifest ('' when the entry is missing or unreadable)."""
    try:
        manifest = read_manifest(entry) or {}
    except CacheError:
        return ""
    return str(manifest.get("checksum", ""))


def _current(manifest: dict | None) -> bool:
    return bool(manifest) and manifest.get("format") == FORMAT_VERSION and isinstance(manifest.get("files"), dict)


# -- write and read ----------------------------------------------------------------------------------------------


def write_entry(entry: Path, checksum: str, files: dict[str, bytes], info: dict[str, Any] | None = None) -> None:
    """Write ``files`` (name → content) and a manifest with their SHA-256 into ``entry``, replacing it whole.

    The files are written and synced in a uniquely named sibling directory, which then takes the entry's place;
    a half-written entry is never seen. Call under ``entry_lock(entry, exclusive=True)`` (see
    :func:`load_or_build`). Directories get the umask's permissions (not ``mkdtemp``'s 0700), so a service account
    that did not build the cache can still read it.
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=entry.parent))
    except OSError as exc:
        raise CacheError(_unwritable(entry.parent, exc)) from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        recorded = {}
        for name, data in files.items():
            if "/" in name or name in ("", MANIFEST, ".", ".."):
                raise ValueError(f"Invalid cache file name {name!r}.")
            _write_synced(tmp / name, data)
            recorded[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        manifest = {"format": FORMAT_VERSION, "checksum": checksum, "files": recorded, **(info or {})}
        _write_synced(tmp / MANIFEST, json.dumps(manifest, indent=2, default=str).encode("utf-8"))
        old = None
        if entry.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{entry.name}.old-", dir=entry.parent))
            entry.rename(old / entry.name)
        tmp.rename(entry)
        _sync_dir(entry.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise CacheError(_unwritable(entry.parent, exc)) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_entry(
    entry: Path, names: list[str], checksum: str | None = None, what: str = "The cache entry"
) -> dict[str, bytes]:
    """Read files written by :func:`write_entry`, each checked against the manifest's size and SHA-256.

    Parameters
    ----------
    entry : Path
        The entry directory.
    names : list of str
        Files to read.
    checksum : str, optional
        Expected input checksum; a different one raises :class:`EntryStale`.
    what : str
        How error sentences name the entry ("The base trees").

    Returns
    -------
    dict
        Name → verified content.

    Raises
    ------
    EntryMissing, EntryStale, EntryDamaged
        Each with one sentence naming the entry or file and the fix.
    """
    manifest = read_manifest(entry)
    if not _current(manifest):
        raise EntryMissing(
            f"{what} in {entry} is missing (not built yet, or by an older version); run `asih prepare`."
        )
    if checksum is not None and manifest.get("checksum") != checksum:
        raise EntryStale(f"{what} in {entry} is stale (built from other data); run `asih prepare`.")
    out = {}
    for name in names:
        path = entry / name
        meta = manifest["files"].get(name)
        if not isinstance(meta, dict):
            raise EntryDamaged(_damaged(path, "not listed in the manifest"))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EntryDamaged(_damaged(path, "missing")) from None
        except OSError as exc:
            raise EntryDamaged(_damaged(path, f"unreadable: {exc.strerror}")) from None
        if len(data) != meta.get("bytes"):
            raise EntryDamaged(_damaged(path, f"{len(data):,} bytes where {meta.get('bytes'):,} were written"))
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise EntryDamaged(_damaged(path, "its content differs from what was written: SHA-256 mismatch"))
        out[name] = data
    return out


def load_or_build(
    entry: Path,
    checksum: str,
    *,
    what: str,
    names: list[str],
    decode: Callable[[dict[str, bytes]], T],
    build: Callable[[], T],
    encode: Callable[[T], dict[str, bytes]],
    info: Callable[[T], dict[str, Any]] | None = None,
    rebuild: bool = True,
    force: bool = False,
) -> T:
    """Read an entry when fresh and intact, else build it once under the entry's lock, write it and return it.

    ``decode`` turns verified file contents into the value and checks the values (raise :class:`EntryDamaged`, or
    ``ValueError``/``KeyError``, on anything implausible); ``build`` computes the value from the inputs; ``encode``
    turns it into files. A process that finds the entry being built waits for the lock, then reads what the other
    one wrote.

    Raises
    ------
    CacheError
        When the entry is missing, stale or damaged and ``rebuild`` is False (the sentence names what and the fix),
        or when the cache directory cannot be written.
    """
    problem: CacheError | None = None
    if not force:
        with entry_lock(entry, exclusive=False):
            try:
                return _decode(entry, checksum, what, names, decode)
            except CacheError as exc:
                problem = exc
    if not rebuild and problem is not None:
        raise problem
    with entry_lock(entry, exclusive=True):
        if not force:
            try:  # built by another process while this one waited for the lock
                return _decode(entry, checksum, what, names, decode)
            except CacheError:
                pass
        value = build()
        write_entry(entry, checksum, encode(value), info(value) if info else None)
    return value


def _decode(entry: Path, checksum: str, what: str, names: list[str], decode: Callable[[dict[str, bytes]], T]) -> T:
    files = read_entry(entry, names, checksum, what)
    try:
        return decode(files)
    except CacheError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise EntryDamaged(
            f"{what} in {entry} holds implausible values ({type(exc).__name__}: {str(exc)[:200]}); "
            "run `asih prepare` to rebuild it."
        ) from None


# -- locking -----------------------------------------------------------------------------------------------------

_held = threading.local()


@contextmanager
def entry_lock(entry: Path, exclusive: bool) -> Iterator[None]:
    """Hold the entry's lock file (``.<name>.lock`` beside it), shared for reading or exclusive for building.

    Re-entering the same entry's lock in the same thread is a no-op. A reader that cannot create the lock file (a
    read-only cache of another user) reads without it; a writer that cannot raises :class:`CacheError`.
    """
    lock_path = entry.parent / f".{entry.name}.lock"
    held: dict[Path, bool] = _held.__dict__.setdefault("locks", {})
    if lock_path in held:
        if exclusive and not held[lock_path]:
            raise RuntimeError(f"Cannot upgrade a shared cache lock on {entry} to an exclusive one.")
        yield
        return
    fd = _open_lock(lock_path, exclusive, entry)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        held[lock_path] = exclusive
        try:
            yield
        finally:
            del held[lock_path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock(lock_path: Path, exclusive: bool, entry: Path) -> int | None:
    try:
        if exclusive:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if not exclusive:
            try:
                return os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None  # nothing to wait for: the directory is missing or read-only to us
        raise CacheError(_unwritable(entry.parent, exc)) from None


# -- plausibility of stored values -------------------------------------------------------------------------------


def require(ok: bool, path: Path, reason: str) -> None:
    """Raise :class:`EntryDamaged` naming ``path`` when a stored value fails a plausibility check."""
    if not ok:
        raise EntryDamaged(_damaged(path, reason))


# -- helpers -----------------------------------------------------------------------------------------------------


def _damaged(path: Path, reason: str) -> str:
    return f"The cache file {path} is damaged ({reason}); run `asih prepare` to rebuild it."


def _unwritable(folder: Path, exc: OSError) -> str:
    return (
        f"Cannot write the cache folder {folder} ({exc.strerror or exc}); run `asih prepare` as the user that owns "
        "it, or set ASIH_CACHE_DIR to a writable folder."
    )


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_umask_lock = threading.Lock()


def _umask() -> int:
    try:  # Linux ≥ 4.7 reports it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask
