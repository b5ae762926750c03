"""Bearer tokens: random, shown once, stored as a keyed hash.

A token reads ``asih_<prefix>_<secret>``: the 8-hex-digit prefix is stored in clear to find the token's row and
to count failed guesses against it; the secret part is 32 random bytes (256 bits). The database keeps
``HMAC-SHA256(server secret, token)``, never the token.

Why a keyed hash and not a slow one (scrypt, bcrypt): slow hashes protect *low-entropy* secrets (passwords)
against offline guessing; a 256-bit random token cannot be guessed, slow or fast. What a stolen database (or
backup) must not allow is using or confirming tokens: with HMAC, checking a guess needs the server secret, which
lives in a file outside the database (``ASIH_REGISTRY_SECRET_FILE``). And a fast check keeps every authenticated
request cheap: a deliberately slow hash per request would hand anyone who sends bad tokens a lever on the CPU.

A token may expire (``asih users add --expires 90d``): :func:`lifetime` reads the duration.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from datetime import timedelta
from hashlib import sha256
from pathlib import Path

from core.words import render

TOKEN_RE = re.compile(r"^asih_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
SECRET_BYTES = 32
UNKNOWN_HASH = "0" * 64
"""What a token whose prefix is unknown is compared with: the check costs the same whether the prefix exists."""
LIFETIME_RE = re.compile(r"^\s*([1-9][0-9]{0,4})\s*([hdw])\s*$")
LIFETIME_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_LIFETIME = timedelta(days=3660)


def new_token() -> tuple[str, str]:
    """A fresh token and its prefix: ``(token, prefix)``."""
    prefix = secrets.token_hex(4)
    return f"asih_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


def token_prefix(token: str) -> str | None:
    """The prefix of a well-formed token, else None (a malformed token is never looked up)."""
    match = TOKEN_RE.match(token or "")
    return match.group(1) if match else None


def hash_token(token: str, key: bytes) -> str:
    """The stored form of ``token``: HMAC-SHA256 keyed with the server secret, as 64 hex digits."""
    return hmac.new(key, token.encode("utf-8"), sha256).hexdigest()


def token_matches(token: str, stored_hash: str, key: bytes) -> bool:
    """Whether ``token`` is the one stored as ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_token(token, key), stored_hash)


def prefix_key(prefix: str, key: bytes) -> str:
    """How failures naming ``prefix`` are counted (:mod:`registry.throttle`): a keyed hash, so the count table holds
    neither tokens nor prefixes (32 hex digits)."""
    return hmac.new(key, b"prefix:" + prefix.encode("ascii"), sha256).hexdigest()[:32]


def lifetime(text: str) -> timedelta:
    """A token's lifetime from ``"90d"`` (days), ``"12w"`` (weeks) or ``"36h"`` (hours), at most ten years.

    Raises ``ValueError`` with the catalogue's ``token_lifetime_invalid`` sentence (English).
    """
    match = LIFETIME_RE.match(str(text or ""))
    if match is None or int(match.group(1)) * LIFETIME_UNITS[match.group(2)] > MAX_LIFETIME:
        raise ValueError(render("token_lifetime_invalid", {"text": str(text)[:40]}, "en"))
    return int(match.group(1)) * LIFETIME_UNITS[match.group(2)]


def load_secret(path: Path) -> bytes:
    """The server secret in ``path``; created (random, readable by the owner only) when the file is missing.

    Every process serving the same database must read the same secret: a new secret invalidates every token.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: a process starting at the same time never reads a half file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"The registry secret in {path} is too short (at least 32 characters are needed).")
    return text.encode("ascii")
