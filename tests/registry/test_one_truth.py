"""One truth: approvals come from the live registry as of a date in every output (audit, choice, what-if, siting,
reports, HTTP), and every output names its date and traffic profile. On SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from registry.asof import today
from tests.registry.conftest import open_service

UNIT, AREA = "sodertalje-sjukhus", 1
"""Södertälje sjukhus reaches most of area 1 (Södertälje): ending its approval there changes choice and the audit."""


@pytest.fixture
def dated(service, db_url, admin):
    """The county service on this test's registry, where UNIT's approval for AREA ends after ``last``."""
    live = open_service(db_url)
    last = today() + timedelta(days=10)
    live.end_approval(admin, UNIT, AREA, last)
    svc = copy.copy(service)
    svc.live = live
    yield svc, last, last + timedelta(days=1)
    live.close()


def test_the_approvals_of_the_day_drive_every_output(dated):
    from routing.audit import profile_auditors
    from routing.choice import choice_summary
    from routing.live_whatif import changes_from, live_what_if

    svc, before, after = dated
    a_before, a_after = svc.approvals_on(before), svc.approvals_on(after)
    assert AREA in a_before.as_dict()[UNIT] and AREA not in a_after.as_dict()[UNIT]
    assert a_after.differs_from(a_before) == [{"unit_id": UNIT, "area_id": AREA, "change": "ended"}]

    # The audit: the approved row for area 1 exists up to the last day, and not after it.
    old, new = svc.auditor(None, a_before), svc.auditor(None, a_after)
    assert old.day == before and new.day == after
    assert AREA in [r.area_id for r in old.audit_unit(UNIT).approvals]
    assert AREA not in [r.area_id for r in new.audit_unit(UNIT).approvals]

    # Choice: the people of area 1 who had Södertälje sjukhus among their units lose it.
    area = lambda s: next(r for r in s["by_area"] if r["area_id"] == AREA)  # noqa: E731
    c_old, c_new = area(choice_summary(old)), area(choice_summary(new))
    assert c_new["pop_0"] > c_old["pop_0"]

    # The planning page's what-if rows follow the same approvals.
    rows_old = live_what_if(old, svc.locator).answer(UNIT, changes_from())["rows"]
    rows_new = live_what_if(new, svc.locator).answer(UNIT, changes_from())["rows"]
    assert [r["area_id"] for r in rows_old if r["approved"]] == [AREA]
    assert AREA not in [r["area_id"] for r in rows_new if r["approved"]]

    # Profiles derived for side-by-side tables keep the day.
    assert {a.day for a in profile_auditors(new).values()} == {after}


def test_http_outputs_name_their_date_and_profile(dated, settings):
    from api.app import create_app

    svc, before, after = dated
    app = create_app(settings, svc)
    app.state.registry = svc.live
    with TestClient(app) as client:
        rows = {}
        for day in (before, after):
            body = client.get(f"/v1/audit/{UNIT}", params={"date": day.isoformat()}).json()
            assert body["date"] == day.isoformat() and body["profile"] == settings.profile == "typical"
            rows[day] = [r["area_id"] for r in body["rows"] if r["approved"]]
            assert all(r["date"] == day.isoformat() for r in client.get(
                "/v1/audit", params={"date": day.isoformat()}).json())
        assert AREA in rows[before] and AREA not in rows[after]

        planning = client.get("/v1/planning/audit", params={"unit": UNIT, "date": after.isoformat()}).json()
        assert planning["meta"]["date"] == after.isoformat() and planning["meta"]["profile"] == "typical"
        assert all(r["profile"] == "typical" and r["date"] == after.isoformat() for r in planning["rows"])
        assert AREA not in [r["area_id"] for r in planning["rows"] if r["approved"]]

        compared = client.get("/v1/planning/audit", params={"unit": UNIT, "date": before.isoformat(),
                                                            "compare_date": after.isoformat()}).json()
        assert compared["approvals_changed"] == [{"unit_id": UNIT, "area_id": AREA, "change": "ended"}]
        ended = [c for c in compared["changes"] if (c["unit_id"], c["area_id"]) == (UNIT, AREA)]
        assert {c["profile"] for c in ended} == {"free_flow", "typical", "peak"}
        assert all(c["verdict_before"] in ("supported", "at risk", "unsupported") and
                   c["verdict_after"] in (None, "reaches, not approved", "not approved") for c in ended)

        whatif = client.post("/v1/whatif", json={"unit": UNIT, "date": after.isoformat()}).json()
        assert whatif["date"] == after.isoformat() and whatif["profile"] == "typical"
        assert AREA not in [r["area_id"] for r in whatif["rows"] if r["approved"]]

        providers = {u["id"]: u["areas"] for u in client.get("/v1/providers", params={"date": after.isoformat()}).json()}
        assert AREA not in providers[UNIT]
        assert AREA in {u["id"]: u["areas"] for u in client.get(
            "/v1/providers", params={"date": before.isoformat()}).json()}[UNIT]

        lookup = client.post("/v1/lookup", json={"lat": 59.1955, "lon": 17.6253, "date": after.isoformat()}).json()
        assert lookup["date"] == after.isoformat() and lookup["profile"] == "typical"
        # Another day than today is said in the answer, as a typed note.
        [other] = [w for w in lookup["warnings"] if w["code"] == "other_day"]
        assert other["params"] == {"date": after.isoformat()} and other["severity"] == "caution"
        assert not [w for w in client.post("/v1/lookup", json={"lat": 59.1955, "lon": 17.6253}).json()["warnings"]
                    if w["code"] == "other_day"]
        assert UNIT not in [e["id"] for e in lookup["eligible"]]
        assert UNIT in [e["id"] for e in client.post(
            "/v1/lookup", json={"lat": 59.1955, "lon": 17.6253, "date": before.isoformat()}).json()["eligible"]]

        # Base siting plans for the areas approved that day: area 1 up to its last day; then there is none to plan for.
        sites = client.get(f"/v1/units/{UNIT}/suggest-bases", params={"date": before.isoformat()})
        assert sites.status_code == 200, sites.text
        assert sites.json()["date"] == before.isoformat() and sites.json()["profile"] == "typical"
        assert [a["area_id"] for a in sites.json()["most_people"]["areas"]] == [AREA]
        none_left = client.get(f"/v1/units/{UNIT}/suggest-bases", params={"date": after.isoformat()})
        assert none_left.status_code == 422 and "approved" in none_left.json()["detail"]

        # The printed report states the day of its approvals in its header, and follows them.
        import pypdfium2

        for day in (before, after):
            pdf = client.get(f"/v1/reports/{UNIT}", params={"date": day.isoformat()})
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
            text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
            assert f"Godkännanden per {day.isoformat()} (registret)" in text
            if day == before:  # approved: its row, without "(ej godkänd)"
                assert "1 Södertälje" in text and "1 Södertälje (ej godkänd)" not in text
            else:  # ended: no approved row (a not-approved row only if it reaches the area well)
                assert "1 Södertälje" not in text or "1 Södertälje (ej godkänd)" in text

        for bad in ("0", "2026-13-01", "tomorrow"):
            assert client.get("/v1/audit", params={"date": bad}).status_code == 422
