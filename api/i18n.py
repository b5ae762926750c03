"""Swedish versions of the service's warnings and error sentences, for the referrer page (``lang="sv"``).

The domain code writes its sentences in English, from a small fixed set of templates (routing.eligibility,
geo.areas.locate, geo.geocode, api.service). Each template has one pattern here and its Swedish text; a test runs
real lookups and checks that every sentence they produce is translated, so a new template cannot slip through.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Lang = str
LANGS = ("en", "sv")

_PRECISION_SV = {"postcode": "postnummer", "place": "ort", "street": "gata", "address": "adress"}
_NUM = r"[\d,.\u00a0]+"

_TEMPLATES: list[tuple[str, str | Callable[[re.Match], str]]] = [
    # Geocoder notes.
    (r"House number not in the offline data; the point is on the street\.",
     "Husnumret finns inte i adressdatat; punkten ligger på gatan."),
    (r"Entrance letter not in the offline data; the house number's point is used\.",
     "Uppgångsbokstaven finns inte i adressdatat; husnumrets punkt används."),
    (r"The spelling was corrected to the closest name\.", "Stavningen rättades till närmaste namn."),
    (r"Postcode not in the data; centre of the postcodes (?P<p>\d{3}) xx used\.",
     "Postnumret finns inte i datat; mitten av postnumren {p} xx används."),
    (r"The data gives this postcode only its postal town's centre \(shared by (?P<n>\d+) postcodes\), "
     r"not the postcode area\.",
     "Datat ger detta postnummer bara postortens mittpunkt (delad av {n} postnummer), inte postnummerområdet."),
    (r"The postcode belongs to another municipality than the street\.", "Postnumret hör till en annan kommun än gatan."),
    # api.service
    (r"Located by (?P<prec>postcode|place) only \((?P<m>[^)]*)\); give the street address\.",
     lambda m: f"Lokaliserad bara på {_PRECISION_SV[m['prec']]} ({m['m']}); ange gatuadressen."),
    # geo.areas.locate
    (r"Near an area border: ", "Nära en områdesgräns: "),
    (rf"(?P<d>{_NUM}) m from area (?P<a>\d+) \((?P<n>[^)]*)\)\. Area borders here are generalised; "
     r"check the address against the official register\.",
     "{d} m till område {a} ({n}). Gränserna är generaliserade här; kontrollera adressen mot det officiella registret."),
    (rf"The point is (?P<d>{_NUM}) m off the generalised coastline; placed in the nearest area\.",
     "Punkten ligger {d} m utanför den generaliserade kustlinjen; den har placerats i närmaste område."),
    (r"Outside Stockholm County: the point is in (?P<m>.+?) municipality \(county (?P<c>\d+)\)\. "
     r"ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: punkten ligger i {m} kommun (län {c}). ASIH-områdena gäller bara Stockholms län."),
    (r"Outside Stockholm County: the point is in (?P<m>.+?) municipality\. ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: punkten ligger i {m} kommun. ASIH-områdena gäller bara Stockholms län."),
    (r"Outside Stockholm County: the point is not in any Swedish municipality\. ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: punkten ligger inte i någon svensk kommun. ASIH-områdena gäller bara Stockholms län."),
    # routing.eligibility
    (r"Area (?P<a>\d+)'s membership is a hypothesis \(data/areas\.yaml\), not the official list\.",
     "Område {a}:s avgränsning är en hypotes (data/areas.yaml), inte den officiella listan."),
    (rf"The point is (?P<d>{_NUM}) m from the nearest drivable road; drive times end at that road\.",
     "Punkten ligger {d} m från närmaste bilväg; körtiderna slutar vid den vägen."),
    (r"Drive times of (?P<u>.+?): base known by place only \(about ±1 km\)\.",
     "Körtider för {u}: basen är bara känd till platsen (ungefär ±1 km)."),
    (r"Drive times of (?P<u>.+?): base location is a guess; confirm with the provider\.",
     "Körtider för {u}: basens läge är en gissning; bekräfta med vårdgivaren."),
    (rf"(?P<u>.+?): its base '(?P<b>[^']*)' is (?P<d>{_NUM}) m from the nearest road of the network; "
     r"its drive time starts at that road\.",
     "{u}: basen '{b}' ligger {d} m från närmaste väg i vägnätet; körtiden räknas från den vägen."),
    (r"No approved unit reaches this point within (?P<n>[\d.]+) minutes\.",
     "Ingen godkänd enhet når platsen inom {n} minuter."),
    (r"No unit is approved for area (?P<a>\S+)\.", "Ingen enhet är godkänd för område {a}."),
    # Errors shown to the user (geo.geocode, api.routes.lookup).
    (r"Enter an address, a postcode, a place name or coordinates\.", "Ange en adress, ett postnummer, en ort eller koordinater."),
    (r"The query is longer than (?P<n>\d+) characters\.", "Sökningen är längre än {n} tecken."),
    (r"The query must be text, not binary data\.", "Sökningen måste vara text, inte binära data."),
    (r"The query must be text\.", "Sökningen måste vara text."),
    (r"The query contains characters that cannot be part of an address\.",
     "Sökningen innehåller tecken som inte kan ingå i en adress."),
    (r"The coordinates could not be read\.", "Koordinaterna kunde inte läsas."),
    (r"Coordinates must be latitude \(-90 to 90\) then longitude \(-180 to 180\), in decimal degrees\.",
     "Ange koordinater som latitud (-90 till 90) och sedan longitud (-180 till 180), i decimalgrader."),
    (r"No street, postcode or place matched the query\. Check the spelling or add a postcode\.",
     "Ingen gata, inget postnummer och ingen ort matchade sökningen. Kontrollera stavningen eller lägg till postnummer."),
    (r"The postcode is not in the data\.", "Postnumret finns inte i datat."),
    (r"The address could not be geocoded\.", "Adressen kunde inte hittas."),
    (r"Several places match the query; choose one of the candidates or add a postcode or town\.",
     "Flera platser matchar sökningen; välj ett av förslagen eller lägg till postnummer eller ort."),
    (r"The geocoder is not available\.", "Adressökningen är inte tillgänglig."),
]
_COMPILED = [(re.compile(p), t) for p, t in _TEMPLATES]


def translate(text: str, lang: Lang) -> str:
    """``text`` in ``lang`` ('en' returns it unchanged); sentences without a template stay in English."""
    if lang == "en" or not text:
        return text
    for pattern, template in _COMPILED:
        text = pattern.sub(template if callable(template) else (lambda m, t=template: t.format(**m.groupdict())), text)
    return text


def localize_lookup(body: dict, lang: Lang) -> dict:
    """A lookup answer with its warnings and border message in ``lang``."""
    if lang == "en":
        return body
    body = {**body, "warnings": [translate(w, lang) for w in body["warnings"]]}
    border = body["area"].get("border_warning")
    if border:
        body["area"] = {**body["area"], "border_warning": {**border, "message": translate(border["message"], lang)}}
    return body
