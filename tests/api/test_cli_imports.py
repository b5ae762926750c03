"""The CLI imports only what a command needs (issue 24): no web stack, plotting or graph library for a lookup, nothing
heavy for ``--help``. Run in fresh processes: the test process itself has imported everything already. Times are
measured in ``bench/bench_cli.py``, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

from core.settings import PROJECT_ROOT

_REPORT = (
    "import json, sys\n"
    "from api.cli import app\n"
    "sys.argv = ['asih', *{args!r}]\n"
    "try:\n"
    "    app()\n"
    "except SystemExit:\n"
    "    pass\n"
    "sys.__stderr__.write('MODULES ' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})) + '\\n')\n"
)


def _top_modules(*args: str) -> set[str]:
    """Top-level packages imported by ``asih ARGS`` run in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", _REPORT.format(args=list(args))], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def test_help_imports_no_data_or_web_stack():
    modules = _top_modules("--help")
    assert "typer" in modules
    assert not modules & {"numpy", "pandas", "geopandas", "shapely", "scipy", "pyproj", "networkx", "sqlalchemy",
                          "alembic", "fastapi", "starlette", "matplotlib", "osmnx", "sklearn"}


def test_lookup_imports_no_web_plotting_or_graph_library():
    modules = _top_modules("lookup", "59.3148, 18.0843", "--json")
    assert {"numpy", "geopandas"} <= modules  # it did answer from the prepared cache
    assert not modules & {"fastapi", "starlette", "uvicorn", "matplotlib", "folium", "osmnx", "sklearn", "networkx"}


def test_geocode_package_imports_no_builder():
    code = "import sys, geo.geocode; print(sorted({'geopandas', 'scipy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_address_lookup_reads_the_index_and_registry_without_their_builders():
    """An address lookup reads the geocoder's index without its builder (scipy's spatial and cluster modules) and
    opens the live registry, already at the newest schema, without Alembic."""
    report = _REPORT.format(args=["lookup", "Fjällgatan 44, Stockholm", "--json"]).replace(
        "m.split('.')[0] for m in sys.modules", "m for m in sys.modules")
    proc = subprocess.run([sys.executable, "-c", report], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300)
    modules = set(json.loads(next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))[8:]))
    assert {"geo.geocode.index_io", "geo.geocode.offline", "registry.service"} <= modules  # it geocoded, read approvals
    assert not modules & {"geo.geocode.prepare", "scipy.spatial", "scipy.cluster", "alembic"}
