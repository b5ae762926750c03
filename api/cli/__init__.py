"""The ``asih`` command line (typer + rich).

Commands live in small modules by concern; each exposes ``COMMANDS`` (name → function) and is registered here.
A later module's command replaces an earlier one of the same name (``serve`` lives in :mod:`api.cli.serve`).
``lookup`` and ``batch`` check the areas and providers files first and refuse to answer when they are invalid.
"""

from __future__ import annotations

import gc
import sys

import typer

from api.cli import areas as _areas
from api.cli import audit as _audit
from api.cli import choice as _choice
from api.cli import lookup as _lookup
from api.cli import maps as _maps
from api.cli import planning as _planning
from api.cli import prepare as _prepare
from api.cli import registry as _registry
from api.cli import routing as _routing
from api.cli import scenario as _scenario
from api.cli import serve as _serve

app = typer.Typer(
    name="asih",
    help="ASIH area coverage and drive-time routing for Region Stockholm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CHECKED_COMMANDS = ("lookup", "batch")
"""Commands that answer about patients: they start only on valid areas and providers files (``serve`` checks in
its own command, before the server starts)."""


COLLECTING_COMMANDS = ("serve", "prepare", "batch")
"""Commands that keep Python's cyclic garbage collector on: the server runs for weeks, ``prepare`` builds graphs and
frames whose cycles add up, ``batch`` answers any number of rows. Every other command is one short answer: loading
the prepared cache allocates millions of small objects that the collector scans again and again to find almost
nothing (≈ 0.45 s of a 2.5 s ``asih lookup``, bench/bench_cli.py); reference counting still frees them."""


@app.callback()
def _start(ctx: typer.Context) -> None:
    """ASIH area coverage and drive-time routing for Region Stockholm."""
    if ctx.invoked_subcommand not in COLLECTING_COMMANDS and gc.isenabled():
        gc.disable()
        ctx.call_on_close(gc.enable)  # a caller running the command in its own process (tests) gets it back
    if ctx.invoked_subcommand in CHECKED_COMMANDS and not {"--help", "-h"} & set(sys.argv[1:]):
        from api.cli.checks import DataCheckError, check_data
        from api.cli.output import fail
        from core.settings import get_settings

        try:
            ctx.obj = check_data(get_settings())  # the area model and providers file, read once for the command
        except DataCheckError as exc:
            fail(str(exc))


_commands: dict = {}
for _module in (_prepare, _areas, _routing, _lookup, _serve, _audit, _choice, _maps, _planning):
    _commands.update(_module.COMMANDS)
for _name, _function in _commands.items():
    app.command(_name)(_function)
_registry.register(app)
_scenario.register(app)
