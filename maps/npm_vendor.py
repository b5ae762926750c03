"""Vendor browser files from npm packages: fetch, verify, unpack, write, and record them in a manifest.

Shared by :mod:`maps.vendor_assets` (Leaflet, Swagger UI, axe-core) and :mod:`api.docs_assets` (ReDoc); those
modules say which package, which files and where, this one does the rest. A package comes from the npm registry
through ``npm pack`` (npm is needed once, at install time), and when the pinned version is asked for, its tarball's
SHA-512 must equal the pinned integrity (the registry's ``dist.integrity``), so a changed or substituted package is
refused before anything is written. Each vendor directory holds the chosen files and a ``manifest.json`` naming the
package, its version and the SHA-256 of each served file; :func:`vendored` rechecks those digests, and
:func:`fetch_package` is a no-op when the wanted version is already in place. :func:`run_command` is the
modules' shared command line (``python -m maps.vendor_assets``, ``python -m api.docs_assets``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

MANIFEST = "manifest.json"

Files = dict[str, bytes]
"""File name in the vendor directory → its content."""


def sha256(data: bytes) -> str:
    """Hex SHA-256, as recorded in the manifests."""
    return hashlib.sha256(data).hexdigest()


def vendored(vendor_dir: Path) -> dict | None:
    """The manifest in ``vendor_dir``; None when it is missing or unreadable, or a listed file is missing or altered."""
    try:
        info = json.loads((vendor_dir / MANIFEST).read_text(encoding="utf-8"))
        for name, digest in info["files"].items():
            if sha256((vendor_dir / name).read_bytes()) != digest:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return info


def present(package: Path, names: Iterable[str]) -> Files:
    """Those of ``names`` (paths inside the unpacked package) that exist, with their content; e.g. optional licences."""
    return {name: (package / name).read_bytes() for name in names if (package / name).exists()}


def fetch_package(name: str, version: str, vendor_dir: Path, *, pinned: tuple[str, str],
                  pick: Callable[[Path], tuple[Files, Files]], manifest: dict | None = None,
                  force: bool = False) -> Path:
    """Vendor files of the npm package ``name@version`` into ``vendor_dir`` (idempotent).

    Parameters
    ----------
    name, version
        The package on the npm registry; its manifest records the version under the key ``name``.
    vendor_dir
        Target directory (created when missing).
    pinned
        ``(version, integrity)``: the tarball must match ``integrity`` when ``version`` is asked for; another
        version is not checked.
    pick
        Given the unpacked package directory, ``(files, extras)``: the files served or inlined (their SHA-256 go in
        the manifest and :func:`vendored` checks them) and extras such as licences (written, not checked).
    manifest
        Further manifest entries (e.g. ``licence``), between ``source`` and ``files``.
    force
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        ``vendor_dir``.
    """
    info = vendored(vendor_dir)
    if info and info.get(name) == version and not force:
        return vendor_dir
    pinned_version, pinned_integrity = pinned
    with tempfile.TemporaryDirectory(prefix=f"asih-{name}-") as tmp:
        package = npm_pack(name, version, pinned_integrity if version == pinned_version else None, Path(tmp))
        files, extras = pick(package)
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for file_name, data in {**files, **extras}.items():
        (vendor_dir / file_name).write_bytes(data)
    record = {name: version, "source": f"npm registry, {name}@{version}", **(manifest or {}),
              "files": {file_name: sha256(data) for file_name, data in files.items()}}
    (vendor_dir / MANIFEST).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return vendor_dir


def npm_pack(name: str, version: str, integrity: str | None, tmpdir: Path) -> Path:
    """``npm pack name@version`` into ``tmpdir``, check the tarball's integrity, unpack; the package directory."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed: it is needed once, to fetch {name} from the npm registry.")
    done = subprocess.run(
        [npm, "pack", f"{name}@{version}", "--pack-destination", str(tmpdir), "--silent"],
        cwd=tmpdir, capture_output=True, text=True, check=False,
    )
    tarballs = list(tmpdir.glob(f"{name}-*.tgz"))
    if done.returncode != 0 or not tarballs:
        raise RuntimeError(f"npm pack {name}@{version} failed: {done.stderr.strip() or done.stdout.strip()}")
    data = tarballs[0].read_bytes()
    if integrity is not None:
        got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        if got != integrity:
            raise RuntimeError(f"{name}@{version} from the registry does not match the pinned integrity ({got}).")
    with tarfile.open(tarballs[0]) as tar:
        tar.extractall(tmpdir / "x", filter="data")
    return tmpdir / "x" / "package"


def run_command(prog: str, description: str, fetch: Callable[[argparse.Namespace], Iterator[str]],
                argv: list[str] | None = None, flags: Iterable[tuple[str, str]] = ()) -> int:
    """The command line of a vendoring module; its exit status.

    Options are ``--force`` (passed on as ``args.force``: download again even if present) and ``flags``, further
    on/off options as ``(name, help)``. The lines ``fetch(args)`` yields are printed as they come; a failure
    (``RuntimeError`` or ``OSError``) is one line on stderr, prefixed with ``prog``, and status 1.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--force", action="store_true", help="download again even if present")
    for name, help_text in flags:
        parser.add_argument(name, action="store_true", help=help_text)
    args = parser.parse_args(argv)
    try:
        for line in fetch(args):
            print(line)
    except (RuntimeError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    return 0
