"""What an audit rests on, and what changed between two audits' inputs.

- :func:`metadata`: the approvals' day, time, limit, thresholds, the headline profile and every profile shown,
  calibration targets, base precision counts, network checksum, data and software versions, the approvals and base
  points — shown with every audit, export and report, and kept in snapshots.
- :func:`inputs_changed`: which input (an approval, a base, the profile, the limit, a data version) differs between
  two of them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path


def main_profile(settings, profiles: list[str]) -> str:
    """The profile an output's headline figures use: the configured one (``ASIH_PROFILE``) when shown, else the
    first shown."""
    return settings.profile if settings.profile in profiles else profiles[0]


def metadata(auditor, profiles: list[str]) -> dict:
    """What an audit rests on: the day of the approvals, time, limit, thresholds, the headline profile and every
    profile shown, calibration targets, network and data versions."""
    from importlib.metadata import PackageNotFoundError, version

    import yaml

    s = auditor.settings
    try:
        asih = version("asih")
    except PackageNotFoundError:
        asih = "unknown"
    speeds = yaml.safe_load(Path(s.speeds_file).read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for _, base in auditor.registry.bases():
        counts[base.precision] = counts.get(base.precision, 0) + 1
    return {
        "created": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "date": auditor.day.isoformat() if auditor.day else None,
        "approvals": "registry" if auditor.day else "providers file",
        "limit_minutes": auditor.limit_s / 60,
        "profile": main_profile(auditor.settings, profiles),
        "profiles": list(profiles),
        "supported_share": s.audit_supported_share,
        "at_risk_share": s.audit_at_risk_share,
        "targets": (speeds.get("calibration") or {}).get("targets", {}),
        "bases": counts,
        "network": {"source": auditor.net.source, "checksum": auditor.net.checksum},
        "versions": {"areas": str(auditor.model.defs.version), "providers": str(auditor.registry.version),
                     "speeds": str(speeds.get("version", "")), "asih": asih},
        "population_source": "SCB DeSO 2018 geometry, 2023 population",
        "approved": {u.id: list(u.areas) for u in auditor.registry.units},
        "base_points": {u.id: [[round(b.lat, 5), round(b.lon, 5)] for b in u.bases] for u in auditor.registry.units},
    }


def inputs_changed(before: dict, after: dict) -> list[dict]:
    """Which input changed between two audits' metadata (:func:`metadata`): ``{"input", "what", "before",
    "after"}`` with ``input`` one of ``approval``, ``base``, ``profile``, ``limit`` or ``data`` (a data or software
    version, the network). Metadata from before these fields existed compares only what it has."""
    out = []
    old_app, new_app = before.get("approved"), after.get("approved")
    if old_app is not None and new_app is not None:
        for unit in dict.fromkeys([*old_app, *new_app]):
            o, n = set(old_app.get(unit, ())), set(new_app.get(unit, ()))
            out += [{"input": "approval", "what": f"{unit} area {a}", "before": False, "after": True}
                    for a in sorted(n - o)]
            out += [{"input": "approval", "what": f"{unit} area {a}", "before": True, "after": False}
                    for a in sorted(o - n)]
    old_b, new_b = before.get("base_points"), after.get("base_points")
    if old_b is not None and new_b is not None:
        out += [{"input": "base", "what": unit, "before": old_b.get(unit), "after": new_b.get(unit)}
                for unit in dict.fromkeys([*old_b, *new_b]) if old_b.get(unit) != new_b.get(unit)]
    for key, name in (("profile", "profile"), ("limit_minutes", "limit")):
        if key in before and before.get(key) != after.get(key):
            out.append({"input": name, "what": key, "before": before.get(key), "after": after.get(key)})
    for key, value in (after.get("versions") or {}).items():
        old = (before.get("versions") or {}).get(key)
        if old is not None and old != value:
            out.append({"input": "data", "what": f"{key} version", "before": old, "after": value})
    old_net, new_net = (before.get("network") or {}).get("checksum"), (after.get("network") or {}).get("checksum")
    if old_net and new_net and old_net != new_net:
        out.append({"input": "data", "what": "road network", "before": old_net[:12], "after": new_net[:12]})
    return out
