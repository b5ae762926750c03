"""What an audit rests on, and audit snapshots to compare against later.

- :func:`metadata` (:mod:`routing.basis`): what an audit rests on — shown with every audit, export and report.
- **Snapshots**: ``asih audit --save`` writes the audit (rows and metadata) as JSON under ``cache_dir/audits/``
  (never in git); ``--compare last`` or ``--compare FILE`` reads one back.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from routing.basis import inputs_changed, main_profile, metadata  # noqa: F401 - re-exported


# -- snapshots ---------------------------------------------------------------------------------------------------


def snapshot_dir(settings) -> Path:
    """Where audit snapshots are kept (inside the cache, which git ignores)."""
    return Path(settings.cache_dir) / "audits"


def save_snapshot(settings, meta: dict, rows: list[dict]) -> Path:
    """Write an audit (``{"meta": …, "rows": […]}``) as a dated file and as ``last.json``; returns the dated file."""
    folder = snapshot_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    text = json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, indent=1, default=_json_default)
    dated = folder / f"audit-{stamp}.json"
    dated.write_text(text, encoding="utf-8")
    (folder / "last.json").write_text(text, encoding="utf-8")
    return dated


def load_snapshot(settings, spec: str) -> tuple[dict, list[dict]]:
    """``(meta, rows)`` of a snapshot: ``"last"`` (the last saved) or a file (a snapshot or ``asih audit --json``)."""
    path = snapshot_dir(settings) / "last.json" if spec == "last" else Path(spec)
    if not path.exists():
        hint = " Save one first with `asih audit --save`." if spec == "last" else ""
        raise ValueError(f"No audit snapshot at {path}.{hint}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not an audit snapshot (JSON): {exc}") from None
    if isinstance(doc, list):
        return {}, doc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise ValueError(f"{path} is not an audit snapshot: expected {{'meta': …, 'rows': […]}} or a list of rows.")
    return doc.get("meta") or {}, doc["rows"]


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
