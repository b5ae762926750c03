"""One traffic profile setting for every output (``ASIH_PROFILE``, default typical), each output naming it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.settings import Settings, get_settings

runner = CliRunner()

OUTPUTS = [
    # (command, how to read the profile of its JSON answer, how to read its date)
    (["lookup", "Fjällgatan 44, Stockholm", "--json"], lambda d: d["profile"], lambda d: d["date"]),
    (["audit", "ersta-diakoni", "--json"], lambda d: {r["profile"] for r in d}, lambda d: {r["date"] for r in d}),
    (["choice", "--json"], lambda d: d["profile"], lambda d: d["date"]),
    (["suggest-bases", "syd-aleris", "--json"], lambda d: d["profile"], lambda d: d["date"]),
]


@pytest.fixture(params=["default", "peak"])
def profile(request, monkeypatch):
    """The configured profile: none set (the default) or ``ASIH_PROFILE=peak``."""
    if request.param == "peak":
        monkeypatch.setenv("ASIH_PROFILE", "peak")
    else:
        monkeypatch.delenv("ASIH_PROFILE", raising=False)
    get_settings.cache_clear()
    yield "typical" if request.param == "default" else "peak"
    get_settings.cache_clear()


def test_the_default_profile_is_typical():
    assert Settings.model_fields["profile"].default == "typical"


@pytest.mark.parametrize("args,profile_of,date_of", OUTPUTS, ids=[o[0][0] for o in OUTPUTS])
def test_every_output_uses_and_names_the_configured_profile(profile, args, profile_of, date_of):
    from registry.asof import today

    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    got = profile_of(doc)
    assert got == profile or got == {profile}
    day = date_of(doc)
    assert day == today().isoformat() or day == {today().isoformat()}
    if args[0] in ("audit", "choice"):  # the first line on stderr says what the figures rest on
        assert f"Approvals as of {today().isoformat()} (live registry)" in result.stderr


def test_a_request_may_name_another_profile(profile):
    result = runner.invoke(app, ["choice", "--json", "--profile", "free_flow"])
    assert result.exit_code == 0 and json.loads(result.stdout)["profile"] == "free_flow"
