"""Bytes for the prepared-artifact cache (:mod:`core.cache`) that cannot run code when read.

Arrays are stored as an uncompressed numpy ``.npz`` without object arrays and loaded with ``allow_pickle=False``;
everything else is UTF-8 JSON. Neither can execute anything on load, unlike pickle, so a writable cache directory
is not a code-execution path.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as an uncompressed ``.npz`` (no object arrays: they would need pickle to load)."""
    for name, arr in arrays.items():
        if np.asarray(arr).dtype.hasobject:
            raise TypeError(f"Array {name!r} holds Python objects; store it as text or numbers instead.")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npz_arrays(data: bytes) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` written by :func:`npz_bytes`, loaded with ``allow_pickle=False``."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def json_bytes(obj: Any) -> bytes:
    """``obj`` as UTF-8 JSON (floats written exactly)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_value(data: bytes) -> Any:
    """Parse JSON written by :func:`json_bytes`."""
    return json.loads(data.decode("utf-8"))
