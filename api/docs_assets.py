"""``/redoc`` offline: ReDoc vendored from npm and served from this origin (FastAPI's own page loads it from a CDN,
blank in a hospital network without internet).

Run once at install time (``make install`` does it): ``python -m api.docs_assets``. The package comes from the npm
registry through ``npm pack`` and its tarball's SHA-512 must equal the integrity pinned here (the registry's
``dist.integrity``), so a changed or substituted package is refused; running again is a no-op when the pinned
version is in place. ReDoc 2 is the major FastAPI itself uses; it renders ``/openapi.json`` from a ``<redoc>``
element, so the page needs no inline script. ``/docs`` (Swagger UI) is :mod:`api.routes.docs`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

REDOC_VERSION = "2.5.4"
REDOC_INTEGRITY = "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=="
REDOC_DIR = Path(__file__).resolve().parent.parent / "maps" / "vendor" / "redoc"
"""Beside the other vendored browser files (git-ignored ``maps/vendor/``)."""
REDOC_JS = "redoc.standalone.js"
MANIFEST = "manifest.json"

# ReDoc sets inline styles, draws its logo and icons as data: URIs and runs its search index in a blob: worker.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
        "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The OpenAPI reference (ReDoc), from vendored files only."""
    title = html.escape(f"{request.app.title} – API reference")
    spec = html.escape(request.app.openapi_url or "/openapi.json")
    if vendored() is not None:
        body = f'<redoc spec-url="{spec}"></redoc>\n<script src="/redoc/assets/{REDOC_JS}"></script>'
    else:
        body = (f"<main><h1>{title}</h1><p>The reference page needs ReDoc, vendored once with "
                f"<code>python -m api.docs_assets</code>. The API is described in the "
                f'<a href="{spec}">OpenAPI document</a> and at <a href="/docs">/docs</a>.</p></main>')
    page = (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
            f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.get(f"/redoc/assets/{REDOC_JS}")
def redoc_js() -> FileResponse:
    """ReDoc's standalone bundle (the only file served from the vendored folder)."""
    path = REDOC_DIR / REDOC_JS
    if vendored() is None:
        raise HTTPException(404, "ReDoc is not vendored: run `python -m api.docs_assets`.")
    return FileResponse(path, media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"})


def vendored(vendor_dir: Path = REDOC_DIR) -> dict | None:
    """The manifest of the vendored ReDoc, or None when missing, incomplete or altered."""
    try:
        info = json.loads((vendor_dir / MANIFEST).read_text(encoding="utf-8"))
        for name, digest in info["files"].items():
            if hashlib.sha256((vendor_dir / name).read_bytes()).hexdigest() != digest:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return info


def fetch_redoc(version: str = REDOC_VERSION, vendor_dir: Path = REDOC_DIR, force: bool = False) -> Path:
    """Download ReDoc from the npm registry into ``vendor_dir`` (idempotent).

    Parameters
    ----------
    version : str
        ReDoc version on the npm registry; only the pinned one is checked against the pinned integrity.
    vendor_dir : Path
        Target directory (git-ignored).
    force : bool
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        The directory, holding ``redoc.standalone.js``, its licences and ``manifest.json``.
    """
    info = vendored(vendor_dir)
    if info and info.get("redoc") == version and not force:
        return vendor_dir
    with tempfile.TemporaryDirectory(prefix="asih-redoc-") as tmp:
        package = _npm_pack("redoc", version, REDOC_INTEGRITY if version == REDOC_VERSION else None, Path(tmp))
        js = (package / "bundles" / REDOC_JS).read_bytes()
        licences = {f"LICENSE-{name.replace('/', '-')}": (package / name).read_bytes()
                    for name in ("LICENSE", f"bundles/{REDOC_JS}.LICENSE.txt") if (package / name).exists()}
    vendor_dir.mkdir(parents=True, exist_ok=True)
    (vendor_dir / REDOC_JS).write_bytes(js)
    for name, data in licences.items():
        (vendor_dir / name).write_bytes(data)
    manifest = {"redoc": version, "source": f"npm registry, redoc@{version}", "licence": "MIT",
                "files": {REDOC_JS: hashlib.sha256(js).hexdigest()}}
    (vendor_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return vendor_dir


def _npm_pack(name: str, version: str, integrity: str | None, tmpdir: Path) -> Path:
    """``npm pack name@version`` into ``tmpdir``, check the tarball's integrity, unpack; the package directory."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed: it is needed once, to fetch {name} from the npm registry.")
    done = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(tmpdir), "--silent"],
                          cwd=tmpdir, capture_output=True, text=True, check=False)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vendor ReDoc for the offline /redoc page.")
    parser.add_argument("--force", action="store_true", help="download again even if present")
    args = parser.parse_args(argv)
    try:
        print(f"ReDoc {REDOC_VERSION} in {fetch_redoc(force=args.force)}")
    except (RuntimeError, OSError) as exc:
        print(f"api.docs_assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
