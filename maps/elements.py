"""Small Leaflet elements that need neither jQuery nor Bootstrap.

folium's own ``Popup`` wraps its content with jQuery (``$(...)``) and ``Marker``/``Icon`` pull awesome-markers and
image icons; these replacements call plain Leaflet. Text is written into the page as UTF-8 JSON strings, so Swedish
labels stay readable in the HTML source and ``</script>`` in data cannot break the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

from branca.element import Element, MacroElement
from jinja2 import Template


def js_string(value: str) -> str:
    """A JavaScript string literal (UTF-8, safe inside a ``<script>`` element)."""
    return json.dumps(str(value), ensure_ascii=False).replace("</", "<\\/")


def esc(value: object) -> str:
    """HTML-escaped text for popup and legend content."""
    return html.escape("" if value is None else str(value))


def table_html(rows: Iterable[tuple[str, object]], title: str | None = None) -> str:
    """A small two-column HTML table (label, value) for popups; values are escaped unless already markup."""
    body = "".join(
        f"<tr><th>{esc(k)}</th><td>{v.markup if isinstance(v, Markup) else esc(v)}</td></tr>" for k, v in rows
    )
    head = f"<b>{esc(title)}</b>" if title else ""
    return f'{head}<table class="asih-table">{body}</table>'


class Markup:
    """Trusted HTML for ``table_html`` (e.g. a coloured symbol)."""

    def __init__(self, markup: str):
        self.markup = markup


class Label(MacroElement):
    """A text label at a point (a DivIcon marker: no image is fetched, it does not capture clicks)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.marker({{ this.location }}, {
                icon: L.divIcon({className: {{ this.class_name }}, html: {{ this.html }}, iconSize: null}),
                interactive: false, keyboard: false
            }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, location: Sequence[float], text: str, class_name: str = "asih-label"):
        super().__init__()
        self._name = "Label"
        self.location = json.dumps([float(location[0]), float(location[1])])
        self.html = js_string(f"<span>{esc(text)}</span>")
        self.class_name = js_string(class_name)


class Popup(MacroElement):
    """Bind an HTML popup to the parent layer with plain Leaflet."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindPopup({{ this.html }}, {maxWidth: {{ this.max_width }}});
        {% endmacro %}
        """
    )

    def __init__(self, html_content: str, max_width: int = 340):
        super().__init__()
        self._name = "Popup"
        self.html = js_string(html_content)
        self.max_width = int(max_width)


class Tooltip(MacroElement):
    """Bind a tooltip (escaped text or trusted HTML) to the parent layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip({{ this.html }}, {sticky: {{ this.sticky }}});
        {% endmacro %}
        """
    )

    def __init__(self, text: str, sticky: bool = True, is_html: bool = False):
        super().__init__()
        self._name = "Tooltip"
        self.html = js_string(text if is_html else esc(text))
        self.sticky = "true" if sticky else "false"


class Legend(MacroElement):
    """A legend box as a Leaflet control (``items``: (swatch HTML, label) pairs)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function() {
                var legend = L.control({position: {{ this.position }}});
                legend.onAdd = function() {
                    var div = L.DomUtil.create('div', 'asih-legend');
                    div.innerHTML = {{ this.html }};
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                legend.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]], position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        parts = []
        for title, items in sections:
            parts.append(f"<div class='asih-legend-title'>{esc(title)}</div>")
            parts.extend(f"<div class='asih-legend-row'>{swatch}<span>{esc(label)}</span></div>" for swatch, label in items)
        self.html = js_string("".join(parts))
        self.position = js_string(position)


class Attribution(MacroElement):
    """Add the data sources to the map's attribution control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = js_string(esc(text))


def swatch(fill: str, edge: str | None = None, shape: str = "box", symbol: str = "", hatch: bool = False) -> str:
    """Legend swatch HTML: a filled box, a circle with an optional symbol, or a line."""
    edge = edge or fill
    if shape == "circle":
        return (
            f"<i class='asih-sw asih-sw-circle' style='background:{fill};border-color:{edge}'>{esc(symbol)}</i>"
        )
    if shape == "line":
        return f"<i class='asih-sw asih-sw-line' style='border-top-color:{edge}'></i>"
    pattern = (
        f";background-image:repeating-linear-gradient(45deg,{edge} 0 2px,transparent 2px 6px)" if hatch else ""
    )
    return f"<i class='asih-sw' style='background-color:{fill};border-color:{edge}{pattern}'></i>"


PAGE_CSS = """
<style>
.asih-label span { display:inline-block; transform:translate(-50%,-50%); white-space:nowrap;
  font:600 12px/1.2 system-ui,sans-serif; color:#222; background:rgba(255,255,255,.75);
  padding:1px 4px; border-radius:3px; }
.asih-label-small span { display:inline-block; transform:translate(-50%,-50%); white-space:nowrap;
  font:10px/1.1 system-ui,sans-serif; color:#333; }
.asih-legend { background:rgba(255,255,255,.92); padding:6px 8px; border-radius:4px;
  box-shadow:0 1px 4px rgba(0,0,0,.3); font:12px/1.35 system-ui,sans-serif; max-width:260px; }
.asih-legend-title { font-weight:600; margin:4px 0 2px; }
.asih-legend-row { display:flex; align-items:center; gap:6px; }
.asih-sw { display:inline-block; width:16px; height:12px; border:1px solid; flex:none; }
.asih-sw-circle { width:14px; height:14px; border-radius:50%; border-width:2px; color:#fff;
  font:bold 9px/14px system-ui,sans-serif; text-align:center; font-style:normal; }
.asih-sw-line { height:0; border:0; border-top:3px solid; }
.asih-title { background:rgba(255,255,255,.92); padding:4px 10px; border-radius:4px;
  font:600 15px system-ui,sans-serif; box-shadow:0 1px 4px rgba(0,0,0,.3); }
.asih-table th { text-align:left; padding-right:8px; vertical-align:top; font-weight:600; }
.asih-table td { vertical-align:top; }
</style>
"""


def page_css(background: str | None = None) -> Element:
    """The page's CSS (labels, legend, popups), with an optional map background colour (water)."""
    extra = f"<style>.leaflet-container {{ background:{background}; }}</style>" if background else ""
    return Element(PAGE_CSS + extra)


class Title(MacroElement):
    """A title box at the top centre of the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function() {
                var title = L.control({position: 'topright'});
                title.onAdd = function() {
                    var div = L.DomUtil.create('div', 'asih-title');
                    div.innerHTML = {{ this.html }};
                    return div;
                };
                title.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "Title"
        self.html = js_string(esc(text))
