"""The provider registry: the 15 units of the approvals list, and validation of broken provider files."""

from __future__ import annotations

import pytest
import yaml

from geo.providers import (
    ProviderDataError,
    UnknownUnit,
    read_registry,
    validate_registry,
)

APPROVALS = {  # From "Områdesindelning ASIH" (../shared/seeds/001_*.txt).
    "ASIH Familjeläkarna": (3, 4, 5, 6, 7),
    "ASIH Dalen Capio": (3, 4, 5),
    "ASIH Nacka Capio": (4,),
    "ASIH Ersta Diakoni": (4, 5),
    "ASIH Byle Gård FC": (2, 5, 8),
    "ASIH Norrort Legevisitten": (2, 5, 6, 7, 8),
    "ASIH Tyresö/Söderort": (3,),
    "ASIH Nord Aleris": (5, 6, 7, 8),
    "ASIH Syd Aleris": (1, 3, 4),
    "ASIH Rehabhotellet": (5,),
    "ASIH Stockholm Norr": (5, 6, 7, 8),
    "ASIH Stockholm Södra": (3, 4),
    "ASIH Stockholms sjukhem": (5, 6),
    "ASIH Accesscare": (5,),
    "ASIH Södertälje sjukhus": (1,),
}


def test_registry_matches_the_approvals_list(registry):
    assert {u.unit: u.areas for u in registry.units} == APPROVALS


def test_every_base_is_in_the_county_and_has_a_precision(registry, area_model, locator, settings):
    validate_registry(registry, [a.id for a in area_model.defs.areas], locator.locate, locator.distance_to_land_m,
                      settings.base_max_from_land_m)
    assert {b.precision for _, b in registry.bases()} == {"address", "place", "unknown"}
    assert registry.get("sodertalje-sjukhus").precision == "address"
    assert registry.get("ASIH Stockholms sjukhem").precision == "place"  # worst of its two bases


def test_lookup_by_id_or_name(registry):
    assert registry.get("Ersta Diakoni").id == "ersta-diakoni"
    assert registry.get("asih ersta diakoni").id == "ersta-diakoni"
    with pytest.raises(UnknownUnit, match="Unknown provider unit 'nobody'"):
        registry.get("nobody")
    assert [u.id for u in registry.approved_for(1)] == ["syd-aleris", "sodertalje-sjukhus"]


def _broken(tmp_path, settings, mutate):
    doc = yaml.safe_load(settings.providers_file.read_text(encoding="utf-8"))
    mutate(doc["units"])
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return read_registry(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda u: u[0]["areas"].append(9), "approved for area 9, which does not exist"),
        (lambda u: u[1]["bases"][0].update(lat=59.8586, lon=17.6389), "is outside the county: Outside Stockholm County"),
        (lambda u: u.append(dict(u[2])), "Unit 'nacka-capio' is listed 2 times"),
        (lambda u: u[3].update(areas=[]), "Unit ersta-diakoni is approved for no area"),
    ],
)
def test_broken_provider_file_names_the_problem(tmp_path, settings, area_model, locator, mutate, expected):
    registry = _broken(tmp_path, settings, mutate)
    with pytest.raises(ProviderDataError) as err:
        validate_registry(registry, [a.id for a in area_model.defs.areas], locator.locate)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_structural_errors_are_named(tmp_path, settings):
    with pytest.raises(ProviderDataError, match="base precision must be one of"):
        _broken(tmp_path, settings, lambda u: u[0]["bases"][0].update(precision="exact"))
    with pytest.raises(ProviderDataError, match="missing 'areas'"):
        _broken(tmp_path, settings, lambda u: u[0].pop("areas"))


def test_contact_is_only_what_a_source_gives(registry):
    # Seed 000 ("Remittering till ASIH") sends every referrer to Belport; no source gives a phone or hours.
    assert {u.id: u.contact for u in registry.units} == {u.id: {"referral": "Belport"} for u in registry.units}
    d = registry.get("ersta-diakoni").to_dict()
    assert d["contact"] == {"referral": "Belport"}
    assert len({registry.get("ersta-diakoni"), registry.get("ersta-diakoni")}) == 1  # units stay hashable


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        ({"email": "x@example.org"}, "contact has unknown keys email"),
        ({"phone": 812345678}, "contact phone must be a non-empty text"),
        ({"hours": "  "}, "contact hours must be a non-empty text"),
        ("08-123 456 78", "contact must be a mapping"),
    ],
)
def test_broken_contact_is_named(tmp_path, settings, contact, expected):
    with pytest.raises(ProviderDataError, match=expected):
        _broken(tmp_path, settings, lambda u: u[0].update(contact=contact))


def test_contact_may_be_absent_or_partial(tmp_path, settings):
    def mutate(units):
        units[0].pop("contact", None)
        units[1]["contact"] = {"phone": "08-000 00 00", "hours": None}

    registry = _broken(tmp_path, settings, mutate)
    assert registry.units[0].contact is None
    assert registry.units[1].contact == {"phone": "08-000 00 00"}
