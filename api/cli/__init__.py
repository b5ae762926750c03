"""The ``asih`` command line (typer + rich).

Commands live in small modules by concern; each exposes ``COMMANDS`` (name → function) and is registered here.
"""

from __future__ import annotations

import typer

from api.cli import areas as _areas
from api.cli import audit as _audit
from api.cli import lookup as _lookup
from api.cli import maps as _maps
from api.cli import prepare as _prepare
from api.cli import registry as _registry
from api.cli import routing as _routing

app = typer.Typer(
    name="asih",
    help="ASIH area coverage and drive-time routing for Region Stockholm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_prepare, _areas, _routing, _lookup, _audit, _maps):
    for _name, _function in _module.COMMANDS.items():
        app.command(_name)(_function)
_registry.register(app)
