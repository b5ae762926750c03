"""Shared terminal output for CLI commands: JSON to stdout, tables and errors via rich."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def get_settings():
    """The service's settings (:func:`core.settings.get_settings`), imported only when a command runs: importing
    pydantic-settings takes longer than the rest of ``asih --help`` (bench/bench_cli.py)."""
    from core.settings import get_settings as settings

    return settings()


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item())
    return obj


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON (NaN/inf as null, UTF-8 kept readable) to stdout."""
    sys.stdout.write(json.dumps(_clean(obj), ensure_ascii=False, indent=2) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error sentence to stderr and exit with ``code``."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code)


DATE_HELP = "Approvals in force on this day, from the live registry (YYYY-MM-DD; default today in Stockholm)."


def day_option(text: str | None, option: str = "--date"):
    """A ``--date`` value as a date (None: today), or exit 2 with a sentence."""
    from registry.asof import parse_day

    try:
        return parse_day(text)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def as_of_line(day, profile: str, source: str = "registry") -> str:
    """The first line of every CLI output that rests on approvals: their day and source, and the headline traffic
    profile (e.g. 'Approvals as of 2026-12-07 (live registry) · headline figures in typical traffic')."""
    from routing.audit import PROFILE_PHRASES

    where = "live registry" if source == "registry" else "providers file"
    return f"Approvals as of {day.isoformat()} ({where}) · headline figures {PROFILE_PHRASES.get(profile, profile)}"
