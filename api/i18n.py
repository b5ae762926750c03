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
_TIME = r"\d+(?:–\d+)? min|from \d+ min, partly unreachable|unreachable"
"""A drive time or range in a note (api.answer.minutes_text, api.wide_region.range_text)."""

_HOW_SV = {"a house number": "ett husnummer", "the street address": "gatuadressen", "the district": "stadsdelen",
           "a point on the map": "en punkt på kartan", "the official register": "det officiella registret",
           "a confirmation": "en bekräftelse", "the town or postcode": "orten eller postnumret"}
_WHAT_SV = {"the postcode's postal town": "postnumrets postort", "the postal town": "postorten",
            "the district": "stadsdelen", "the municipality": "kommunen", "the place": "orten"}
_PROFILE_SV = {"free-flow": "fritt flöde", "typical-traffic": "normal trafik (dygnsmedel)",
               "peak-traffic": "rusningstrafik", "rush-hour": "rusningstrafik"}
_BASE_SV = {"address": "adress", "place": "plats", "unknown": "gissning"}
_NETWORK_SV = {
    "county road network from OpenStreetMap (≈2013, MATSim 2014)": "länets vägnät från OpenStreetMap (≈2013, MATSim 2014)",
    "OpenStreetMap road network (OSMnx files)": "vägnät från OpenStreetMap (OSMnx-filer)",
    "OpenStreetMap road network (OSM XML)": "vägnät från OpenStreetMap (OSM XML)",
    "OpenStreetMap road network (.osm.pbf extract)": "vägnät från OpenStreetMap (.osm.pbf-utdrag)",
    "OpenStreetMap road network (Overpass download)": "vägnät från OpenStreetMap (Overpass-hämtning)",
}


def _deciders(text: str) -> str:
    return " eller ".join(_HOW_SV.get(part, part) for part in text.split(" or "))


_TEMPLATES: list[tuple[str, str | Callable[[re.Match], str]]] = [
    # Geocoder notes (geo.geocode.offline, geo.geocode.context).
    (r"House number not in the offline data; the answer covers the whole street\.",
     "Husnumret finns inte i adressdatat; svaret gäller hela gatan."),
    (r"House number not in the offline data; the point is on the street\.",
     "Husnumret finns inte i adressdatat; punkten ligger på gatan."),
    (r"Entrance letter not in the offline data; the house number's point is used\.",
     "Uppgångsbokstaven finns inte i adressdatat; husnumrets punkt används."),
    (r"The street name was corrected to the closest name in the data; check that it is the right street\.",
     "Gatunamnet rättades till det närmaste namnet i datat; kontrollera att det är rätt gata."),
    (r"The street is not in the offline data for the place given; the answer rests on the postcode or town only\.",
     "Gatan finns inte i adressdatat för den angivna orten; svaret bygger bara på postnummer eller ort."),
    (r"The town is known only from postcode data; its municipality was taken from there\.",
     "Orten är bara känd från postnummerdata; kommunen har hämtats därifrån."),
    (r"Outside Stockholm County: the place is in (?P<m>.+?) municipality \(county (?P<c>\d+)\)\. "
     r"ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: orten ligger i {m} kommun (län {c}). ASIH-områdena gäller bara Stockholms län."),
    (r"Outside Stockholm County: the place is not in the county\. ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: orten ligger inte i länet. ASIH-områdena gäller bara Stockholms län."),
    (r"Outside Stockholm County: the postcode is not a Stockholm County postcode\. "
     r"ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län: postnumret hör inte till Stockholms län. ASIH-områdena gäller bara Stockholms län."),
    (r"Outside Stockholm County\. ASIH areas cover Stockholm County only\.",
     "Utanför Stockholms län. ASIH-områdena gäller bara Stockholms län."),
    (r"The postcode's point in the data is a town centre or lies outside its own postal town; "
     r"the postal town's area is used instead\.",
     "Postnumrets punkt i datat är en ortsmitt eller ligger utanför den egna postorten; postortens område används i "
     "stället."),
    (r"The postcode is not in the data; the postal towns of the postcodes (?P<p>\d{3}) xx are used\.",
     "Postnumret finns inte i datat; postorterna för postnumren {p} xx används."),
    (r"The postcode and the town given do not agree; the Stockholm County one is used\.",
     "Postnumret och den angivna orten stämmer inte överens; den i Stockholms län används."),
    (r"The postcode and the town given lie in different places; both are kept as possible\.",
     "Postnumret och den angivna orten ligger på olika platser; båda behålls som möjliga."),
    # Region bases.
    (r"Coordinates as given\.", "Koordinaterna som de angavs."),
    (r"The address point of the house number in the address register\.",
     "Husnumrets adresspunkt i adressregistret."),
    (r"The same address exists in several places in the register\.",
     "Samma adress finns på flera platser i registret."),
    (r"The street's known pieces in (?P<w>.+?) in the offline data; the patient may be anywhere along them\.",
     "Gatans kända delar i {w} i adressdatat; patienten kan vara var som helst längs dem."),
    (r"The street's known pieces in the offline data; the patient may be anywhere along them\.",
     "Gatans kända delar i adressdatat; patienten kan vara var som helst längs dem."),
    (r"The (?P<n>\d+) addresses of the register carrying this postcode; the postcode's area may reach beyond them\.",
     "De {n} adresserna i registret med detta postnummer; postnummerområdet kan sträcka sig utanför dem."),
    (r"Only (?P<w>the postcode's postal town|the postal town|the district|the municipality|the place) is known "
     r"\((?P<n>.*)\); the patient may be anywhere in it\.",
     lambda m: f"Bara {_WHAT_SV[m['w']]} är känd ({m['n']}); patienten kan vara var som helst där."),
    (r"The place given is outside Stockholm County\.", "Den angivna orten ligger utanför Stockholms län."),
    (r"Narrowed to (?P<u>.+?) as chosen\.", "Avgränsat till {u} enligt valet."),
    (r"\((?P<n>\d+) places\)", "({n} platser)"),
    # api.service: the area decision and the basis line.
    (r"The area cannot be decided from this location: it may be in areas (?P<a>[\d, ]+)\. "
     r"Choose below, or give (?P<d>.+?)\.$",
     lambda m: f"Området kan inte avgöras från den här platsen: den kan ligga i område {m['a']}. "
               f"Välj nedan, eller ange {_deciders(m['d'])}."),
    (r"The street was not found as written; the closest name in the data is (?P<m>.+?)\. Confirm it, or give the "
     r"postcode and town\.",
     "Gatan hittades inte som den skrevs; närmaste namn i datat är {m}. Bekräfta det, eller ange postnummer och ort."),
    (r"Without a town or postcode the street may also exist elsewhere than in the offline data \((?P<m>.+?)\)\. "
     r"Confirm it, or give the postcode or town\.",
     "Utan ort eller postnummer kan gatan finnas på fler ställen än i adressdatat ({m}). Bekräfta den, eller ange "
     "postnummer eller ort."),
    (r"Area (?P<a>\d+) was chosen by the user; the data could not decide it here\.",
     "Område {a} valdes av användaren; datat kunde inte avgöra det här."),
    (r"The location is known only to within (?P<k>[\d.]+) km; drive times are from its most likely point\.",
     lambda m: f"Platsen är bara känd inom {m['k'].replace('.', ',')} km; körtiderna räknas från den mest sannolika "
               "punkten."),
    (r"The location is known only to within (?P<k>[\d.]+) km; each unit's drive time is a range over (?P<o>.+?), "
     r"ranked by the median\.",
     lambda m: f"Platsen är bara känd inom {m['k'].replace('.', ',')} km; varje enhets körtid är ett spann över "
               f"{_over_sv(m['o'])}, ordnat efter medianen."),
    (r"No approved unit reaches any part of this location within (?P<n>\d+) minutes\.",
     "Ingen godkänd enhet når någon del av platsen inom {n} minuter."),
    (r"No approved unit reaches all of this location within (?P<n>\d+) min; the best reaches (?P<p><?\d+%) of it\.",
     lambda m: f"Ingen godkänd enhet når hela platsen inom {m['n']} min; den bästa når {_percent_sv(m['p'])} av "
               "den."),
    (rf"(?P<p><?\d+%) of this location's points are more than (?P<d>{_NUM}) m from the nearest drivable road; "
     r"their drive times end at that road\.",
     lambda m: f"{_percent_sv(m['p'])} av platsens punkter ligger mer än {m['d']} m från närmaste bilväg; deras "
               "körtider slutar vid den vägen."),
    (rf"(?P<p><?\d+%) of the people in this location live more than (?P<d>{_NUM}) m from the nearest drivable road; "
     r"their drive times end at that road\.",
     lambda m: f"{_percent_sv(m['p'])} av invånarna på platsen bor mer än {m['d']} m från närmaste bilväg; deras "
               "körtider slutar vid den vägen."),
    (r"'Within (?P<m>\d+) min' rests on (?P<p>free-flow|typical-traffic|peak-traffic|rush-hour) drive times on the "
     r"(?P<n>.+?)"
     r"(?:; the least certain base is known by (?P<b>address|place|unknown))?\.$",
     lambda m: f"'Inom {m['m']} min' bygger på körtider vid {_PROFILE_SV[m['p']]} på "
               f"{_NETWORK_SV.get(m['n'], m['n'])}"
               + (f"; den osäkraste basen är känd som {_BASE_SV[m['b']]}." if m['b'] else ".")),
    (r"The chosen area is not one of the areas possible for this location\.",
     "Det valda området är inte ett av de möjliga områdena för platsen."),
    (r"The choice is not valid\.", "Valet är inte giltigt."),
    (r"The choice is not a part of this location\.", "Valet är inte en del av platsen."),
    (r"Give either an address or lat and lon, not both\.", "Ange antingen en adress eller lat och lon, inte båda."),
    (r"Give an address, or both lat and lon \(WGS84 degrees\)\.",
     "Ange en adress, eller både lat och lon (WGS84-grader)."),
    (r"The street is not in the offline data\. Add the postcode or the town, or give the point on the map\.",
     "Gatan finns inte i adressdatat. Lägg till postnummer eller ort, eller ange punkten på kartan."),
    (r"Several streets are spelt almost like this; choose one or check the spelling\.",
     "Flera gator stavas nästan så här; välj en eller kontrollera stavningen."),
    (r"The town is not in the data\.", "Orten finns inte i datat."),
    (r"Geocoded online \(Nominatim\)\.", "Adressökt online (Nominatim)."),
    (r"The online geocoder found a larger place than an address; the area is decided for the whole of it\.",
     "Adressökningen online hittade en större plats än en adress; området avgörs för hela platsen."),
    (r"The area the online geocoder's answer covers \(its bounding box\); the patient may be anywhere in it\.",
     "Det område som adressökningens svar täcker (dess omslutande rektangel); patienten kan vara var som helst i det."),
    (rf"The online geocoder gave no extent for this place; the patient may be within (?P<k>{_NUM}) km of its point\.",
     "Adressökningen online angav ingen utsträckning för platsen; patienten kan vara inom {k} km från dess punkt."),
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
    # api.service: units within the limit only without traffic
    (rf"(?P<u>.+?): within (?P<n>\d+) min only without traffic; (?P<t>{_TIME}) in typical traffic, "
     rf"(?P<p>{_TIME}) at peak\.",
     lambda m: f"{m['u']}: inom {m['n']} min bara utan trafik; {_sv_minutes(m['t'])} vid normal trafik, "
               f"{_sv_minutes(m['p'])} i rusning."),
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


def _sv_minutes(text: str) -> str:
    if text == "unreachable":
        return "når inte fram"
    return re.sub(r"^from (\d+) min, partly unreachable$", r"från \1 min, delvis ej nåbar", text)


def _percent_sv(text: str) -> str:
    """"70%" → "70 %", "<1%" → "< 1 %"."""
    return text.replace("<", "< ").replace("%", " %")


_OVER_SV = [
    (r"where people live in it \((?P<n>\d+) population points, weighted by people\)",
     "platserna där människor bor i den ({n} befolkningspunkter, viktade efter antal invånare)"),
    (r"where people live in it \((?P<n>\d+) of its (?P<t>\d+) population points, picked evenly, weighted by people\)",
     "platserna där människor bor i den ({n} av dess {t} befolkningspunkter, jämnt utvalda, viktade efter antal "
     "invånare)"),
    (r"its (?P<n>\d+) known points", "dess {n} kända punkter"),
    (r"(?P<n>\d+) of its (?P<t>\d+) known points, picked evenly", "{n} av dess {t} kända punkter, jämnt utvalda"),
]


def _over_sv(text: str) -> str:
    for pattern, template in _OVER_SV:
        m = re.fullmatch(pattern, text)
        if m:
            return template.format(**m.groupdict())
    return text


_OR = {"en": "or", "sv": "eller"}


def either(names, lang: Lang = "en") -> str | None:
    """Names joined as alternatives in ``lang``: "A", "A or B", "A, B or C" ("A, B eller C"); None for none."""
    names = list(names)
    if len(names) <= 1:
        return names[0] if names else None
    return f"{', '.join(names[:-1])} {_OR[lang]} {names[-1]}"


def translate(text: str, lang: Lang) -> str:
    """``text`` in ``lang`` ('en' returns it unchanged); sentences without a template stay in English."""
    if lang == "en" or not text:
        return text
    for pattern, template in _COMPILED:
        text = pattern.sub(template if callable(template) else (lambda m, t=template: t.format(**m.groupdict())), text)
    return text


def localize_lookup(body: dict, lang: Lang) -> dict:
    """A lookup answer with every sentence (warnings, border message, region basis, basis line, labels) in
    ``lang``."""
    if lang == "en":
        return body
    body = {**body, "warnings": [_localize_warning(w, lang) for w in body["warnings"]]}
    query = body.get("query") or {}
    if query.get("region"):
        region = {**query["region"], "basis": translate(query["region"]["basis"], lang),
                  "label": translate(query["region"]["label"], lang)}
        body["query"] = {**query, "region": region, "matched": translate(query["matched"], lang)}
    if body.get("basis"):
        body["basis"] = {**body["basis"], "summary": translate(body["basis"]["summary"], lang),
                         "network": _NETWORK_SV.get(body["basis"]["network"], body["basis"]["network"])}
    area = body["area"]
    several = {k: area[f"{k}_possible"] for k in ("municipality", "district", "stadsdel")
               if len(area.get(f"{k}_possible") or ()) > 1}
    if several:
        body["area"] = {**area, **{k: either(v, lang) for k, v in several.items()}}
    border = body["area"].get("border_warning")
    if border:
        body["area"] = {**body["area"], "border_warning": {**border, "message": translate(border["message"], lang)}}
    return body


def _localize_warning(warning, lang: Lang):
    if isinstance(warning, dict):
        return {**warning, "message": translate(warning["message"], lang)}
    return translate(warning, lang)
