"""Every sentence of the planning page ``/planering`` comes from the catalogue (``core/words.yaml``).

The template ``api/static/whatif.html`` holds no human-language text of its own, only placeholders; ``whatif.js``
holds no sentence (only keys of the catalogue, numbers and units); the page the server sends, read without
JavaScript, carries the catalogue's Swedish texts; and every planning text exists in Swedish and English. The page
is served from the tiny model (``tiny``/``tiny_service``), in-process.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import whatif
from core import words

STATIC = Path(whatif.__file__).resolve().parent.parent / "static"
TEMPLATE = STATIC / "whatif.html"
SCRIPT = STATIC / "whatif.js"

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
LETTER = re.compile(r"[^\W\d_]")
USER_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
SWEDISH_LETTER = re.compile(r"[åäöÅÄÖ]")
PROSE = re.compile(r"\b[a-zåäö]+(?: [a-zåäö]+){2,}\b")
"""Three or more lowercase words in a row, separated by single spaces: a sentence, not a CSS class or a selector."""
SCRIPT_ALLOWED: frozenset[str] = frozenset()
"""String literals of whatif.js that look like prose but are not (none today)."""
PARAMS = {"limit": 30, "max": 5, "max_name": 120, "supported": 0.95, "at_risk": 0.8}
"""What the server fills in (api.routes.whatif.planning_facts), for the catalogue checks."""


class _Reader(HTMLParser):
    """The text nodes (outside scripts and styles) and the user-facing attributes of a page, unescaped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: dict[str, str] = {}  # id → content of a <script> with an id
        self._in: list[str] = []
        self._script_id: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._in.append(tag)
            self._script_id = attrs.get("id")
        for name in USER_ATTRIBUTES:
            if attrs.get(name) is not None:
                self.attributes.append((tag, name, attrs[name]))
        if attrs.get("value") is not None and (tag == "button" or attrs.get("type") in ("submit", "button", "reset")):
            self.attributes.append((tag, "value", attrs["value"]))

    def handle_endtag(self, tag):
        if self._in and tag == self._in[-1]:
            self._in.pop()
            self._script_id = None

    def handle_data(self, data):
        if not self._in:
            self.texts.append(data)
        elif self._script_id:
            self.scripts[self._script_id] = self.scripts.get(self._script_id, "") + data


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


# -- (a) the template --------------------------------------------------------------------------------------------------
def test_the_template_has_no_text_of_its_own():
    source = TEMPLATE.read_text(encoding="utf-8")
    page = _read(JINJA.sub("", source))
    words_left = [t.strip() for t in page.texts if LETTER.search(t)]
    assert not words_left, f"Text in whatif.html outside placeholders: {words_left}"
    attributes_left = [a for a in page.attributes if LETTER.search(a[2])]
    assert not attributes_left, f"User-facing attributes with text in whatif.html: {attributes_left}"
    # What it names, it names from the catalogue (a sample of the shapes it uses).
    for placeholder in ("{{ t.title }}", "{{ t.nojs_xlsx }}", 'aria-label="{{ t.map_label }}"',
                        "title=\"{{ t['explain_' + figure] }}\""):
        assert placeholder in source


# -- (b) the script ----------------------------------------------------------------------------------------------------
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
_REGEX_KEYWORDS = {"return", "typeof", "case", "in", "of", "delete", "void", "throw", "new", "instanceof"}


def js_strings(src: str) -> list[str]:
    """Every string literal of a JavaScript source — quoted ones and the text parts of template literals (their
    ``${…}`` read as code) — with comments and regular-expression literals skipped; empty ones left out."""
    out: list[str] = []
    _scan(src, 0, out, stop=None)
    return [s for s in out if s]


def _scan(src: str, i: int, out: list[str], stop: str | None) -> int:
    """Read code from ``i`` until an unmatched ``stop`` ("}" closes a template's ``${``); returns the index after it."""
    depth, prev = 0, ""
    n = len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end
            continue
        if src.startswith("/*", i):
            i = src.index("*/", i) + 2
            continue
        if c in "'\"":
            j, buf = i + 1, []
            while src[j] != c:
                if src[j] == "\\":
                    buf.append(src[j:j + 2])
                    j += 2
                    continue
                buf.append(src[j])
                j += 1
            out.append("".join(buf))
            i, prev = j + 1, "a"
            continue
        if c == "`":
            j, buf = i + 1, []
            while src[j] != "`":
                if src[j] == "\\":
                    buf.append(src[j:j + 2])
                    j += 2
                elif src.startswith("${", j):
                    out.append("".join(buf))
                    buf = []
                    j = _scan(src, j + 2, out, stop="}")
                else:
                    buf.append(src[j])
                    j += 1
            out.append("".join(buf))
            i, prev = j + 1, "a"
            continue
        if c == "/" and (prev in _REGEX_AFTER or prev == "" or _word_before(src, i) in _REGEX_KEYWORDS):
            j, in_class = i + 1, False
            while True:
                ch = src[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "[":
                    in_class = True
                elif ch == "]":
                    in_class = False
                elif ch == "/" and not in_class:
                    break
                j += 1
            i = j + 1
            while i < n and src[i].isalpha():
                i += 1
            prev = "a"
            continue
        if stop and c == "{":
            depth += 1
        elif stop and c == stop:
            if depth == 0:
                return i + 1
            depth -= 1
        if not c.isspace():
            prev = c
        i += 1
    return i


def _word_before(src: str, i: int) -> str:
    m = re.search(r"([A-Za-z_$][\w$]*)\s*$", src[max(0, i - 40):i])
    return m.group(1) if m else ""


def test_the_scanner_reads_strings_templates_and_skips_regexes():
    src = ('const a = "Fel: " + x; // "kommentar på svenska"\n'
           "/* ett block */ const b = `Bas ${i + 1} – ${f(\"inne i\")}`;\n"
           "if (/at most/i.test(d)) return /^[-+]?\\d+(\\.\\d+)?$/.test(t) ? 'x' : y / 2 / 3;\n")
    assert js_strings(src) == ["Fel: ", "Bas ", " – ", "inne i", "x"]


def test_the_script_has_no_sentence():
    found = js_strings(SCRIPT.read_text(encoding="utf-8"))
    assert len(found) > 100  # the scanner read the whole file
    prose = sorted({s for s in found if (SWEDISH_LETTER.search(s) or PROSE.search(s)) and s not in SCRIPT_ALLOWED})
    assert not prose, f"Sentences left in whatif.js (move them to planning_page in core/words.yaml): {prose}"


def test_every_text_the_script_names_is_in_the_catalogue():
    source = SCRIPT.read_text(encoding="utf-8")
    named = set(re.findall(r"\bt(?:Nodes)?\(\s*\"(\w+)\"", source))
    named |= {k for pair in re.findall(r"\bt\(\s*\w+\s*\?\s*\"(\w+)\"\s*:\s*\"(\w+)\"", source) for k in pair}
    save = re.search(r"SAVE_MESSAGES = \{([^}]*)\}", source).group(1)
    named |= set(re.findall(r"\d+: \"(\w+)\"", save))
    refusal = re.search(r"function refusal\(.*?\n  \}", source, re.S).group(0)
    named |= set(re.findall(r"return \"(\w+)\"", refusal))
    assert len(named) > 60, sorted(named)
    texts = whatif.planning_facts(_settings())["texts"]
    assert named - set(texts) == set()


# -- (c) the page as sent, and the catalogue ---------------------------------------------------------------------------
def _settings():
    from core.settings import get_settings

    return get_settings()


@pytest.fixture(scope="module")
def client(tiny, tiny_service):
    with TestClient(create_app(tiny.settings, tiny_service)) as c:
        yield c


def _shown_as_text(text: str, verdicts: dict[str, str]) -> str:
    """A text as the page reads once its markup placeholders are filled (``verdict_rule``, ``token_hint``)."""
    marks = {f"v_{v.replace(' ', '_')}": verdicts[v] for v in ("supported", "at risk", "unsupported")}
    marks |= {"audit": "asih audit", "prefix": "asih_"}
    return re.sub(r"\{(\w+)\}", lambda m: str(marks.get(m.group(1), m.group(0))), text)


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_the_page_without_javascript_carries_the_catalogues_swedish_texts(client, tiny):
    resp = client.get("/planering")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert resp.headers["Content-Security-Policy"] and resp.headers["Cache-Control"] == "no-cache"
    html = resp.text
    assert '<html lang="sv">' in html
    page = _read(html)
    shown = _squash("".join(page.texts)) + " | " + " | ".join(a[2] for a in page.attributes)

    facts = whatif.planning_facts(tiny.settings, "sv")
    texts, verdicts = facts["texts"], facts["labels"]["verdict"]
    named = set(re.findall(r"\bt(?:\.(\w+)|\['(\w+)'\])", TEMPLATE.read_text(encoding="utf-8")))
    named = {a or b for a, b in named} - {"explain_", "term_"}
    named |= {f"{kind}_{f}" for kind in ("term", "explain") for f in whatif.EXPLAINED}
    assert {"nojs", "nojs_xlsx", "nojs_csv", "nojs_report", "explain_heading", "legend_after"} <= named
    missing = []
    for key in sorted(named):
        text = _shown_as_text(texts[key], verdicts).replace("{n}", "0")
        assert "{" not in text, (key, text)
        if _squash(text) not in shown:
            missing.append((key, text))
    assert not missing, missing
    # The texts are escaped, the markup of the catalogue's placeholders is the server's.
    assert "<strong>stöds</strong>" in html and "<code>asih_</code>" in html
    # The no-JavaScript links, with their catalogue names; the legend is in the page, shown once the table is.
    noscript = html.split("<noscript>")[1].split("</noscript>")[0]
    for href, key in (("/v1/planning/audit?format=xlsx", "nojs_xlsx"), ("/v1/planning/audit?format=csv", "nojs_csv"),
                      ("/v1/reports/county", "nojs_report")):
        assert f'<a href="{href}">{texts[key]}</a>' in noscript
    assert '<div id="explain-box" class="explain" hidden>' in html and texts["explain_heading"] == "Så läses siffrorna"
    # What the script reads: the same facts, in the page.
    embedded = json.loads(page.scripts["facts"])
    assert embedded == json.loads(json.dumps(facts))
    assert embedded.keys() == client.get("/v1/planning/page").json().keys()


def test_every_planning_text_is_in_swedish_and_english():
    cat = words.catalogue()
    section = cat["planning_page"]
    assert len(section) > 100
    for key, entry in section.items():
        assert isinstance(key, str), key  # YAML reads a bare yes/no/on/off key as a boolean
        assert set(entry) == {"en", "sv"} and all(entry[lang].strip() for lang in ("en", "sv")), key
        fields = [set(re.findall(r"\{(\w+)", entry[lang])) for lang in ("en", "sv")]
        assert fields[0] == fields[1], key
    for key in whatif.PAGE_TEXTS:  # the figures' texts, in `texts`
        assert set(cat["texts"][key]) >= {"en", "sv"}, key
    # The two sets of keys the page reads do not shadow each other.
    assert not {k.removeprefix("planning_") for k in whatif.PAGE_TEXTS} & set(section)
    for lang in ("sv", "en"):
        texts = words.planning_texts(lang, PARAMS)
        assert "30 minuter" in texts["lead"] if lang == "sv" else "30 minutes" in texts["lead"]
        assert all("{limit}" not in t and "{max}" not in t for t in texts.values())


def test_the_page_renders_in_english_from_the_same_template():
    html = whatif.planning_html(_settings(), "en")
    assert '<html lang="en">' in html and "<title>Planning: move a base – ASIH</title>" in html
    assert "<strong>supported</strong>" in html and "The audit as an Excel file" in html
    assert not SWEDISH_LETTER.search(" ".join(_read(html).texts).replace("Södertälje", "").replace("Lantmäteriet", ""))
