"""Postal towns (postorter) of Stockholm County → municipality and Stockholm borough, from ``data/postal_towns.yaml``.

An address's postal town is what the geocoder can trust about *where* when the street alone does not decide it:
GeoNames postcode points cannot be (all of "Stockholm"'s postcodes share one point; hundreds of county points lie
outside the municipality their own row names). The file maps every county postal town, and a few well-known
localities that people write as a town, to SCB municipality codes and, in Stockholm city (0180), to the
stadsdelsområden (boroughs) it covers, each with its provenance.

Names are looked up with :func:`geo.geocode.normalize.fold` (case, diacritics and punctuation ignored), so
"HÄSSELBY", "hasselby" and "Hässelby" are one key; aliases (spellings found in the data, such as "Lindingö") resolve
to their town. :func:`load_postal_towns` raises :class:`PostalTownsError` naming every problem of a broken file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.datafile import read_yaml_list
from geo.geocode.normalize import fold, lower
from core.settings import COUNTY_CODE, STOCKHOLM_CODE

KINDS = ("postal_town", "locality")
"""``postal_town``: a PostNord postort; ``locality``: a place name people write as a town that is not one."""

STOCKHOLM_BOROUGHS: tuple[str, ...] = (
    "Bromma", "Enskede-Årsta-Vantör", "Farsta", "Hägersten-Älvsjö", "Hässelby-Vällingby", "Kungsholmen",
    "Norrmalm", "Rinkeby-Kista", "Skarpnäck", "Skärholmen", "Spånga-Tensta", "Södermalm", "Östermalm",
)  # fmt: skip
"""Stockholm city's 13 stadsdelsområden (2020 division), spelled as in the boroughs file's ``Sdn_omarde`` field."""

_FIELDS = ("name", "kind", "municipalities", "boroughs", "aliases", "source", "note")
_CODE = re.compile(r"^\d{4}$")


class PostalTownsError(ValueError):
    """The postal towns file is broken; ``problems`` lists each problem as a sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid postal towns data:\n- " + "\n- ".join(problems))


@dataclass(frozen=True, slots=True)
class PostalTown:
    """One postal town (or locality) and the units it covers.

    Attributes
    ----------
    name : str
        Canonical spelling ("Hässelby").
    municipality_codes : tuple of str
        SCB municipality codes (4 digits, county 01), usually one.
    boroughs : tuple of str
        Stockholm stadsdelsområden covered, for towns in 0180; ``()`` = the whole municipality(ies).
    kind : str
        One of :data:`KINDS`.
    source : str
        Provenance of the mapping.
    aliases : tuple of str
        Other spellings that resolve to this town.
    note : str
        Why the mapping is what it is, when it is not obvious.
    """

    name: str
    municipality_codes: tuple[str, ...]
    boroughs: tuple[str, ...]
    kind: str
    source: str
    aliases: tuple[str, ...] = ()
    note: str = ""

    @property
    def units(self) -> tuple[str, ...]:
        """The admin-unit tokens the town covers (see :mod:`geo.areas.units`): ``borough:<name>`` for its Stockholm
        boroughs, ``municipality:<code>`` for every other municipality, and for 0180 itself when no borough is given
        (a town such as "Stockholm" that also reaches Solna yields both kinds)."""
        tokens: list[str] = []
        for code in self.municipality_codes:
            if code == STOCKHOLM_CODE and self.boroughs:
                tokens.extend(f"borough:{b}" for b in self.boroughs)
            else:
                tokens.append(f"municipality:{code}")
        return tuple(tokens)


class PostalTowns:
    """All towns of the file, looked up by name or alias (case- and diacritic-insensitive).

    Parameters
    ----------
    towns : iterable of PostalTown
        The towns, in file order.
    source_note : str
        The file's provenance note.
    version : str
        The file's version.

    Raises
    ------
    PostalTownsError
        When two towns claim the same folded name or alias.
    """

    def __init__(self, towns: Iterable[PostalTown], source_note: str = "", version: str = ""):
        self._towns = tuple(towns)
        self.source_note = source_note
        self.version = version
        self._by_key, problems = _index(self._towns)
        if problems:
            raise PostalTownsError(problems)

    def get(self, name: str) -> PostalTown | None:
        """The town a name or alias stands for ("SOLNA", "Jarfalla", "Lindingö"), or None."""
        return self._by_key.get(fold(name))

    def __iter__(self) -> Iterator[PostalTown]:
        return iter(self._towns)

    def __len__(self) -> int:
        return len(self._towns)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name) in self._by_key


def load_postal_towns(path: Path) -> PostalTowns:
    """Read and check a postal towns YAML file (top-level ``towns`` list).

    Parameters
    ----------
    path : Path
        The file, normally ``settings.postal_towns_file`` (``data/postal_towns.yaml``).

    Returns
    -------
    PostalTowns

    Raises
    ------
    PostalTownsError
        Naming each problem: a missing file or YAML syntax error, a missing name or source, an unknown kind or
        field, a municipality code that is not a quoted 4-digit county code (01xx), an unknown borough, boroughs
        given for a town outside Stockholm city (0180), a name or alias listed twice.
    """
    doc = read_yaml_list(path, "towns", PostalTownsError, "Postal towns")
    problems: list[str] = []
    towns: list[PostalTown] = []
    for i, raw in enumerate(doc["towns"]):
        town = _town(raw, i, problems)
        if town is not None:
            towns.append(town)
    _, duplicates = _index(towns)
    problems.extend(duplicates)
    if problems:
        raise PostalTownsError(problems)
    return PostalTowns(towns, str(doc.get("source_note") or ""), str(doc.get("version") or ""))


def _town(raw: object, i: int, problems: list[str]) -> PostalTown | None:
    """One entry of ``towns`` as a :class:`PostalTown`; None (with its problems appended) when it is unusable."""
    if not isinstance(raw, dict):
        problems.append(f"Entry {i + 1} of 'towns' is not a mapping.")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not fold(name):
        problems.append(f"Entry {i + 1} of 'towns' has no 'name'.")
        return None
    name = name.strip()
    what = f"Town '{name}'"
    before = len(problems)
    unknown = sorted(str(k) for k in raw if k not in _FIELDS)
    if unknown:
        problems.append(f"{what} has unknown field(s) {', '.join(unknown)}; known fields: {', '.join(_FIELDS)}.")
    kind = str(raw.get("kind") or "postal_town").strip()
    if kind not in KINDS:
        problems.append(f"{what}: kind must be one of {', '.join(KINDS)}, not '{kind}'.")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{what} has no source: say where its mapping comes from.")
    codes = _codes(raw.get("municipalities"), what, problems)
    boroughs = _boroughs(raw.get("boroughs"), what, codes, problems)
    aliases = _strings(raw.get("aliases"), "aliases", what, problems)
    for alias in aliases:
        if not fold(alias):
            problems.append(f"{what} has an empty alias.")
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(f"{what}: note must be text.")
    if len(problems) > before:
        return None
    return PostalTown(name, codes, boroughs, kind, str(source).strip(), aliases, str(note or "").strip())


def _strings(value: object, field: str, what: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{what}: '{field}' must be a list of text items.")
        return ()
    return tuple(v.strip() for v in value)


def _codes(value: object, what: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(f"{what} has no 'municipalities' list (SCB codes such as \"0180\").")
        return ()
    codes: list[str] = []
    for code in value:
        if not isinstance(code, str):
            # YAML reads an unquoted 0123 as the octal number 83 and 0180 as a string: demand quotes.
            problems.append(f"{what}: municipality code {code!r} must be a quoted 4-digit string such as \"0123\".")
        elif not _CODE.match(code.strip()):
            problems.append(f"{what}: municipality code '{code}' is not 4 digits.")
        elif not code.strip().startswith(COUNTY_CODE):
            problems.append(
                f"{what}: municipality code '{code}' is not in Stockholm County (codes start with {COUNTY_CODE})."
            )
        elif code.strip() in codes:
            problems.append(f"{what} lists municipality code '{code}' twice.")
        else:
            codes.append(code.strip())
    return tuple(codes)


def _boroughs(value: object, what: str, codes: tuple[str, ...], problems: list[str]) -> tuple[str, ...]:
    names = _strings(value, "boroughs", what, problems)
    if names and codes and STOCKHOLM_CODE not in codes:
        problems.append(
            f"{what} lists boroughs but not Stockholm city ({STOCKHOLM_CODE}); boroughs exist only in Stockholm city."
        )
    known = {b.casefold(): b for b in STOCKHOLM_BOROUGHS}
    out: list[str] = []
    for name in names:
        borough = known.get(name.casefold())
        if borough is None:
            problems.append(
                f"{what} lists '{name}', which is not a Stockholm stadsdelsområde "
                f"(known: {', '.join(STOCKHOLM_BOROUGHS)})."
            )
        elif borough in out:
            problems.append(f"{what} lists borough '{borough}' twice.")
        else:
            out.append(borough)
    return tuple(out)


def _index(towns: Iterable[PostalTown]) -> tuple[dict[str, PostalTown], list[str]]:
    """Folded name/alias → town, and a sentence for every name claimed twice.

    Within one town an alias may fold to the town's own key ("Järfalla" for Järfälla records the data's spelling);
    the same spelling listed twice, or a key claimed by two towns, is a problem.
    """
    by_key: dict[str, PostalTown] = {}
    problems: list[str] = []
    for town in towns:
        seen: set[str] = set()
        for label in (town.name, *town.aliases):
            if lower(label) in seen:
                problems.append(f"Town '{town.name}' lists the name '{label}' twice (names match case-insensitively).")
                continue
            seen.add(lower(label))
            key = fold(label)
            other = by_key.get(key)
            if other is not None and other is not town:
                problems.append(
                    f"The name '{label}' of town '{town.name}' is also a name or alias of town '{other.name}'."
                )
                continue
            by_key[key] = town
    return by_key, problems
