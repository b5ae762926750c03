"""What the coverage commands share: options, the loaded service, auditors over a day's approvals, the headline
profile, status lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.output import DATE_HELP, console, fail, get_settings

ProfileOpt = Annotated[
    Optional[str], typer.Option(help="One speed profile: free_flow | typical | peak (rush_hour = peak).")
]
DateOpt = Annotated[Optional[str], typer.Option("--date", help=DATE_HELP)]
LimitOpt = Annotated[Optional[float], typer.Option("--limit-minutes", help="Drive-time limit (minutes); default 30.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of CSV/XLSX headers and verdicts: sv (default) | en.")]
CsvOpt = Annotated[Optional[Path], typer.Option("--csv", help="Write the table as CSV (sv: ';', BOM, decimal comma).")]
XlsxOpt = Annotated[Optional[Path], typer.Option("--xlsx", help="Write the table as an Excel workbook (.xlsx).")]

PROFILE_TITLES = {"free_flow": "free flow", "typical": "typical", "peak": "peak"}


def load_service():
    """The prepared state (in the configured profile; other profiles are derived from its network)."""
    from lookup.service import Service

    return Service.load(get_settings(), eager=False)


def auditors_on(svc, profiles: list[str], limit_minutes: float | None, day=None) -> dict:
    """Auditors per profile over the approvals in force on ``day`` (default today), from the live registry."""
    from routing.audit import profile_auditors

    return profile_auditors(svc.auditor(limit_minutes * 60 if limit_minutes else None, svc.approvals_on(day)),
                            profiles)


def main_of(settings, profiles: list[str]) -> str:
    """The headline profile among those shown (the configured one when shown)."""
    from api.snapshots import main_profile

    return main_profile(settings, profiles)


def profiles_of(profile: str | None, all_profiles: bool | None) -> list[str]:
    from routing.audit import AUDIT_PROFILES
    from routing.speeds import load_speed_model

    if profile is None or all_profiles:
        return list(AUDIT_PROFILES)
    model = load_speed_model(get_settings().speeds_file)
    if profile not in model.profiles:
        fail(f"Unknown profile '{profile}': choose one of {', '.join(sorted(model.profiles))}.")
    return [model.canonical(profile)]


def note(text: str, json_out: bool) -> None:
    """A status line: on stderr when stdout carries JSON."""
    from api.cli.output import err_console

    (err_console if json_out else console).print(text, highlight=False)
