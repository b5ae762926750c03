"""Words at one edge: typed notes, one catalogue (core/words.yaml), one renderer (core/words.py)."""

from __future__ import annotations

import ast
import csv
import json
import re
from pathlib import Path

import pytest

from core import words
from core.words import CatalogueError, Note, render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "benchmark_notes.json"
"""The codes and params of every note the geocoding benchmark's queries get (English), recorded when notes became
typed: the English sentences then were the old prose but for one fix ("a house number, the district or a point" for
"a house number or the district or a point"). Regenerate with ``python tests/geo/test_words.py`` only for a change
that is meant to change answers, and say so in the commit."""


def _emitted_texts() -> set[str]:
    """Every catalogue key a ``Note(...)`` in the code names (its ``text``, else its code)."""
    keys = set()
    for package in ("geo", "routing", "registry", "maps", "api"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Note" and node.args):
                    continue
                text = next((k.value for k in node.keywords if k.arg == "text"), None)
                if text is None and len(node.args) >= 4:
                    text = node.args[3]
                if text is None:
                    text = node.args[0]
                if isinstance(text, ast.Constant) and isinstance(text.value, str):
                    keys.add(text.value)
                elif isinstance(text, ast.JoinedStr):  # f"area_uncertain_{reason}": every value it can take
                    prefix = text.values[0].value
                    keys |= {k for k in words.catalogue()["texts"] if k.startswith(prefix)}
    return keys


def test_every_text_and_label_is_in_both_languages():
    cat = words.catalogue()
    for section in ("texts", "words", "page"):
        for key, entry in cat[section].items():
            assert isinstance(key, str), (section, key)  # YAML reads a bare yes/no/on/off key as a boolean
            assert set(entry) >= {"en", "sv"} and all(entry[lang].strip() for lang in ("en", "sv")), key
    for kind, values in cat["labels"].items():
        for value, entry in values.items():
            assert isinstance(value, str) and entry["en"] and entry["sv"], (kind, value)
    assert set(cat["deciders"]) <= set(cat["words"])  # each decider is worded once, in `words`
    # The same placeholders in both languages.
    for key, entry in [*cat["texts"].items(), *cat["page"].items()]:
        fields = [set(re.findall(r"\{(\w+)", entry[lang])) for lang in ("en", "sv")]
        assert fields[0] == fields[1], key


def test_every_note_the_code_emits_has_its_text():
    missing = _emitted_texts() - set(words.catalogue()["texts"])
    assert not missing, f"Notes without a catalogue text: {sorted(missing)}"


def test_render_fills_params_in_each_language():
    params = {"unit": "ASIH Nord Aleris", "minutes": 30.0, "typical": 1900.0, "peak": {"min": 60, "max": None}}
    assert render("free_flow_only", params, "en") == (
        "ASIH Nord Aleris: within 30 min only without traffic; 32 min in typical traffic, from 1 min, partly "
        "unreachable at peak.")
    assert render("free_flow_only", params, "sv") == (
        "ASIH Nord Aleris: inom 30 min bara utan trafik; 32 min vid normal trafik, från 1 min, delvis ej nåbar i "
        "rusning.")
    far = {"unit": "U", "base": "B", "distance_m": 1234.4}
    assert "1,234 m" in render("base_far_from_road", far, "en") and "1\u00a0234 m" in render("base_far_from_road", far, "sv")
    assert render("partly_within_limit", {"minutes": 30, "best": 0.9879}, "sv").endswith("når 98 % av den.")
    assert render("area_uncertain", {"areas": [3, 4], "deciders": ["house_number", "map_point"]}, "sv") == (
        "Området kan inte avgöras från den här platsen: den kan ligga i område 3, 4. Välj nedan; annars avgör ett "
        "husnummer eller en punkt på kartan.")
    assert words.label("verdict", "at risk", "sv") == "i riskzonen" and words.label("profile", "peak", "en") == "peak"


def test_a_wrong_key_language_or_param_is_a_clear_error():
    with pytest.raises(CatalogueError, match="No text 'no_such_note'"):
        render("no_such_note")
    with pytest.raises(CatalogueError, match="Language must be one of en, sv"):
        render("none_approved", {"area": 3}, "de")
    with pytest.raises(CatalogueError, match="does not fit its params"):
        Note("none_approved", "decisive").render("en")


def _benchmark_notes(service, queries: list[str], lang: str) -> dict:
    from geo.geocode import GeocodeError

    out = {}
    for q in queries:
        try:
            answer = service.lookup(address=q, lang=lang)
        except (GeocodeError, ValueError) as exc:
            out[q] = {"error": type(exc).__name__}
            continue
        out[q] = [[w["code"], w["severity"], w["params"]] for w in answer["warnings"]]
    return out


def _queries() -> list[str]:
    with (ROOT / "bench" / "data" / "geocode_benchmark.csv").open(encoding="utf-8") as fh:
        return list(dict.fromkeys(r["query"] for r in csv.DictReader(fh)))


def test_the_benchmark_queries_carry_the_recorded_codes_and_params_in_both_languages(service):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    queries = _queries()
    assert len(queries) == len(golden) > 800
    english = json.loads(json.dumps(_benchmark_notes(service, queries, "en")))  # params as JSON gives them
    changed = [q for q in queries if english[q] != golden[q]]
    assert not changed, f"{len(changed)} answers changed their notes, e.g. {changed[:3]}"
    sample = queries[::6]
    swedish = json.loads(json.dumps(_benchmark_notes(service, sample, "sv")))
    assert all(swedish[q] == english[q] for q in sample)  # the same codes and params, only the words differ


if __name__ == "__main__":
    from lookup.service import Service
    from core.settings import get_settings

    notes = _benchmark_notes(Service.load(get_settings()), _queries(), "en")
    GOLDEN.write_text(json.dumps(notes, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(notes)} queries → {GOLDEN}")
