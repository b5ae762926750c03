"""CLI commands of the live registry: ``asih users add|revoke|list`` and ``asih registry export|import|approvals|
changes|availability``. Register both groups with :func:`register`.

The command line acts as an admin named by the OS account (whoever runs it can read the database anyway); each
change it makes is in the change log under that name.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from api.cli.output import console, fail, get_settings, print_json

users_app = typer.Typer(help="Registry users and their tokens (roles: provider, contract_manager, admin).",
                        no_args_is_help=True)
registry_app = typer.Typer(help="The live registry: YAML import/export, approvals, free places, change log.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``users`` and ``registry`` to the ``asih`` command."""
    app.add_typer(users_app, name="users")
    app.add_typer(registry_app, name="registry")


def _service(auto_import: bool = True):
    from geo.providers import ProviderDataError
    from registry.service import Damaged, RegistryService, Unavailable

    try:
        return RegistryService.from_settings(get_settings(), auto_import=auto_import)
    except (ProviderDataError, ValueError, OSError, Damaged, Unavailable) as exc:
        fail(f"Cannot open the registry: {exc}")


def _run(function, *args, **kwargs):
    from registry.service import RegistryError, Unavailable

    try:
        return function(*args, **kwargs)
    except (RegistryError, Unavailable) as exc:
        fail(str(exc))


# -- users -----------------------------------------------------------------------------------------------------------
@users_app.command("add")
def users_add(
    role: Annotated[str, typer.Option("--role", help="provider, contract_manager or admin.")],
    unit: Annotated[Optional[list[str]], typer.Option("--unit", help="Unit id a provider reports for (repeatable).")] = None,
    name: Annotated[str, typer.Option("--name", help="Who holds the token (shown in the change log).")] = "",
    expires: Annotated[Optional[str], typer.Option(
        "--expires", help="The token expires after this long: 90d (days), 12w (weeks) or 36h (hours); "
        "none = never.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a user and print their token once (only a keyed hash of it is stored: it cannot be shown again)."""
    from core.words import render
    from registry.service import cli_actor
    from registry.tokens import lifetime

    try:
        expires_after = None if expires is None else lifetime(expires)
    except ValueError as exc:
        fail(str(exc))
    svc = _service()
    user, token = _run(svc.add_user, cli_actor(), role, unit or [], name, expires_after)
    if json_out:
        print_json({**user, "token": token})
        return
    console.print(f"User {user['id']} ({user['name']}, {user['role']}"
                  + (f", units {', '.join(user['units'])}" if user["units"] else "") + ").")
    if user["token_expires_at"]:
        console.print(render("token_expires", {"date": user["token_expires_at"]}, "en"), highlight=False)
    console.print("Token (shown once; hand it over privately):", highlight=False)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
def users_revoke(user_id: Annotated[int, typer.Argument(help="The user's id (asih users list).")]) -> None:
    """Revoke a user and all their tokens at once."""
    from registry.service import cli_actor

    user = _run(_service().revoke_user, cli_actor(), user_id)
    console.print(f"User {user['id']} ({user['name']}) revoked at {user['revoked_at']}.")


@users_app.command("list")
def users_list(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every user with role, units, token prefixes, when their tokens expire and whether revoked (never a token)."""
    users = _service().users()
    if json_out:
        print_json(users)
        return
    table = Table(title="Registry users")
    for col in ("id", "name", "role", "units", "token prefixes", "created", "expires", "revoked"):
        table.add_column(col, overflow="fold")  # wrapped, never cut: a time must be read whole
    for u in users:
        table.add_row(str(u["id"]), u["name"], u["role"], ", ".join(u["units"]) or "–",
                      ", ".join(u["token_prefixes"]), u["created_at"], u["token_expires_at"] or "–",
                      u["revoked_at"] or "–")
    console.print(table)


# -- registry --------------------------------------------------------------------------------------------------------
@registry_app.command("export")
def registry_export(
    out: Annotated[Optional[Path], typer.Option("--out", help="File to write; default: stdout ('-').")] = None,
    on: Annotated[Optional[str], typer.Option("--date", help="areas as approved on this date (YYYY-MM-DD); default today.")] = None,
) -> None:
    """Write the registry as providers YAML (the data/providers.yaml layout; dated approvals kept)."""
    from geo.providers import read_registry
    from registry.yamlio import export_text

    text = export_text(_service(), _date(on))
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    read_registry(tmp)  # never replace a file with one that does not read back
    tmp.replace(out)
    console.print(f"Wrote {out}.")


@registry_app.command("import")
def registry_import(
    path: Annotated[Optional[Path], typer.Argument(help="Providers YAML; default: the configured providers file.")] = None,
    update: Annotated[bool, typer.Option("--update", help="Add new units and update known units' descriptions; "
                                         "approvals of known units are kept (they change with dates).")] = False,
) -> None:
    """Import a providers YAML: into an empty registry, or with --update into one in use."""
    from geo.providers import ProviderDataError
    from registry.db import write_session
    from registry.service import cli_actor
    from registry.yamlio import import_units

    svc = _service(auto_import=False)
    path = path or get_settings().providers_file
    try:
        with write_session(svc.engine) as s:
            summary = _run(import_units, s, path, cli_actor(), svc.clock(), update=update)
    except ProviderDataError as exc:
        fail(str(exc))
    console.print(f"Imported {path.name}: {len(summary['added'])} units added, {len(summary['updated'])} updated, "
                  f"{summary['approvals']} approvals.")
    for line in summary["warnings"]:
        console.print(f"[yellow]Note:[/] {line}", highlight=False)


@registry_app.command("approvals")
def registry_approvals(
    on: Annotated[Optional[str], typer.Option("--date", help="YYYY-MM-DD; default today (Stockholm).")] = None,
    history: Annotated[bool, typer.Option("--history", help="Every period, ended and withdrawn ones too.")] = False,
    add: Annotated[Optional[str], typer.Option("--add", help="UNIT:AREA to approve from --from (to --to).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="UNIT:AREA whose approval ends on --to.")] = None,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day in force (YYYY-MM-DD).")] = None,
    valid_to: Annotated[Optional[str], typer.Option("--to", help="Last day in force (YYYY-MM-DD).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Approvals in force on a date, their history, or add/end one (as an admin, in the change log)."""
    from registry.service import cli_actor, today

    svc = _service()
    if add or end:
        unit, area = _unit_area(add or end)
        if add:
            if not valid_from:
                fail("--add needs --from YYYY-MM-DD.")
            result = [_run(svc.add_approval, cli_actor(), unit, area, _date(valid_from), _date(valid_to))]
        else:
            if not valid_to:
                fail("--end needs --to YYYY-MM-DD (the last day in force).")
            result = _run(svc.end_approval, cli_actor(), unit, area, _date(valid_to))
        if json_out:
            print_json(result)
        else:
            for p in result:
                console.print(_period_text(p), highlight=False)
        return
    if history:
        periods = svc.approval_history()
        if json_out:
            print_json(periods)
            return
        for p in periods:
            console.print(_period_text(p), highlight=False)
        return
    day = _date(on) or today()
    approvals = svc.approvals_on(day)
    if json_out:
        print_json({"date": day.isoformat(), "approvals": {u: list(a) for u, a in approvals.items()}})
        return
    table = Table(title=f"Approvals in force on {day}")
    table.add_column("unit")
    table.add_column("areas")
    for unit, areas in approvals.items():
        table.add_row(unit, ", ".join(map(str, areas)) or "–")
    console.print(table)


@registry_app.command("init")
def registry_init(
    providers: Annotated[Optional[Path], typer.Option(
        "--providers", help="Providers YAML to import; default: the configured providers file.")] = None,
) -> None:
    """Set up a new registry on purpose: create (or migrate) the schema in a new, 0-byte or empty database and import
    the providers file. Refuses a database that already holds data (exit 2), never overwriting it."""
    from core.words import render
    from registry.db import NotEmpty, head_revision, init_database
    from registry.errors import Damaged, Unavailable

    settings = get_settings()
    try:
        where = init_database(settings.registry_url)
    except (NotEmpty, Damaged, Unavailable, OSError) as exc:
        fail(str(exc))
    path = providers or settings.providers_file
    svc = _service_importing(settings, path)
    try:
        units = len(_run(svc.units))
    finally:
        svc.close()
    console.print(render("registry_init_done", {"where": where, "revision": head_revision(), "units": units,
                                                "file": str(path)}), highlight=False)


def _service_importing(settings, path: Path):
    from geo.providers import ProviderDataError
    from registry.service import Damaged, RegistryService, Unavailable

    try:
        return RegistryService.from_settings(settings, import_file=path)
    except (ProviderDataError, ValueError, OSError, Damaged, Unavailable) as exc:
        fail(f"Cannot open the registry: {exc}")


@registry_app.command("check")
def registry_check() -> None:
    """Check the registry database without changing it: the file (SQLite ``PRAGMA quick_check``), the connection and
    the schema revision. Exit 0 when usable (or not made yet), 2 with a sentence naming the problem and the fix."""
    from sqlalchemy.exc import DBAPIError

    from registry.db import check_database_file, current_revision, database_url, head_revision, make_engine, sqlite_path
    from registry.errors import Damaged

    settings = get_settings()
    path = sqlite_path(settings.registry_url)
    if path is not None and not path.exists():
        console.print(f"No registry database at {path} yet: the first start creates it from the providers file.")
        return
    try:
        check_database_file(settings.registry_url)
        engine = make_engine(database_url(settings.registry_url))
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except Damaged as exc:
        fail(str(exc))
    except DBAPIError as exc:
        fail(f"Cannot read the registry database: {str(exc.orig).strip().splitlines()[0][:200]}.")
    head = head_revision()
    if revision != head:
        fail(f"The registry database is at schema revision {revision or 'none'}, not {head}: it is not a registry "
             "database, or one of an older version (the next start migrates an older one).")
    console.print(f"Registry database OK (schema {head}).")


@registry_app.command("availability")
def registry_availability(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every unit's latest free places, with age and staleness."""
    entries = _service().availability()
    if json_out:
        print_json(entries)
        return
    table = Table(title="Free places")
    for col in ("unit", "free places", "reported (UTC)", "age", "status", "note"):
        table.add_column(col)
    for uid, a in entries.items():
        age = "–" if a["age_s"] is None else f"{a['age_s'] / 3600:.1f} h"
        free = "–" if a["free_places"] is None else str(a["free_places"])
        table.add_row(uid, free, a["reported_at"] or "–", age, a["status"], a["note"] or "")
    console.print(table)


@registry_app.command("changes")
def registry_changes(
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit's changes.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The append-only change log (who, when, what, before and after)."""
    entries = _service().changes(limit=limit, entity=f"unit:{unit}" if unit else None)
    if json_out:
        print_json(entries)
        return
    for c in entries:
        console.print(f"{c['id']:>6}  {c['at']}  {c['actor']}  {c['action']}  {c['entity']}", highlight=False)
        console.print(f"        before: {c['before']}\n        after:  {c['after']}", highlight=False)


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"'{text}' is not a date (YYYY-MM-DD).")


def _unit_area(text: str) -> tuple[str, int]:
    unit, _, area = text.rpartition(":")
    if not unit or not area.isdigit():
        fail(f"'{text}' is not UNIT:AREA (e.g. ersta-diakoni:4).")
    return unit, int(area)


def _period_text(p: dict) -> str:
    span = f"{p['valid_from'] or '(undated)'} – {p['valid_to'] or '…'}"
    return f"{p['unit_id']:<24} area {p['area_id']}  {span}" + ("  withdrawn" if p["withdrawn"] else "")
