"""Self-contained folium maps: Leaflet inlined, no request leaves the page.

folium's ``Map`` links Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from CDNs. The maps here use
only Leaflet (circle markers, GeoJSON, tooltips, plain popups, Leaflet's own layer control), so the other links are
dropped and Leaflet's JS and CSS (fetched once by ``python -m maps.vendor_assets``) are written into the page.
``save_html`` refuses to write a page that still refers to anything outside itself.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from maps.vendor_assets import LEAFLET_CSS, LEAFLET_JS, VENDOR_DIR, vendored

_CSS_EXTERNAL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
# Attributes through which a browser fetches something when the page loads (not <a href>, a click).
_FETCHING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class SelfContainedError(ValueError):
    """A map page refers to a resource outside itself."""


def leaflet_assets(vendor_dir: Path = VENDOR_DIR) -> tuple[str, str]:
    """Leaflet's JS and CSS text, as vendored by ``python -m maps.vendor_assets``."""
    if vendored(vendor_dir) is None:
        raise FileNotFoundError(
            f"Leaflet is not vendored in {vendor_dir}: run `python -m maps.vendor_assets` (make install does it)."
        )
    return (vendor_dir / LEAFLET_JS).read_text(encoding="utf-8"), (vendor_dir / LEAFLET_CSS).read_text(encoding="utf-8")


def offline_map(**kwargs) -> folium.Map:
    """A ``folium.Map`` with no tiles and no CDN links, Leaflet inlined in its header.

    Parameters
    ----------
    **kwargs
        Passed to ``folium.Map`` (``location``, ``zoom_start``, ...); ``tiles`` defaults to None.

    Returns
    -------
    folium.Map
    """
    kwargs.setdefault("tiles", None)
    kwargs.setdefault("control_scale", False)  # folium's scale shows miles too; see MetricScale
    m = folium.Map(**kwargs)
    # Instance attributes shadow the class lists of CDN links that JSCSSMixin.render would add.
    m.default_js = []
    m.default_css = []
    js, css = leaflet_assets()
    # "</script" inside the inlined code would end the element early; Leaflet has none, but be safe.
    js = js.replace("</script", "<\\/script")
    root = m.get_root()
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline", index=0)
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline", index=1)
    MetricScale().add_to(m)
    return m


def external_references(html: str) -> list[str]:
    """URLs a browser would fetch when loading ``html`` (scripts, styles, images, frames, CSS ``url()``).

    Links the user clicks (``<a href>``) are not counted: they fetch nothing until clicked.
    """
    found: list[str] = []

    class _Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if value and name in _FETCHING.get(tag, ()) and not value.startswith(("data:", "#")):
                    found.append(value)
                if name == "style" and value:
                    found.extend(_CSS_EXTERNAL.findall(value))

        def handle_data(self, data):
            if self.lasttag == "style":
                found.extend(_CSS_EXTERNAL.findall(data))

    _Parser(convert_charrefs=True).feed(html)
    return found


def render_html(m: folium.Map) -> str:
    """The full HTML page of a map, in Swedish (``<html lang="sv">``) and zoomable on a phone: folium's page wrapper
    names no language and forbids zooming (``user-scalable=no``), both WCAG 2.1 AA failures (axe: ``html-has-lang``,
    ``meta-viewport``)."""
    html = m.get_root().render()
    html = re.sub(r"<html>", '<html lang="sv">', html, count=1)
    zoomable = '<meta name="viewport" content="width=device-width, initial-scale=1" />'
    return re.sub(r'<meta name="viewport"[^>]*>', zoomable, html, count=1)


def save_html(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file.

    Parameters
    ----------
    m
        A map built by this package (``maps.interactive``).
    path
        Output ``.html`` file; parent directories are created.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    SelfContainedError
        If the page would fetch anything from outside itself through a tag. (A configured tile server is
        fetched by Leaflet's script at run time, not through a tag, so it is allowed.)
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"An interactive map is saved as .html, not {path.suffix or 'a file without extension'}.")
    html = render_html(m)
    external = external_references(html)
    if external:
        raise SelfContainedError(f"The map refers to external resources: {', '.join(sorted(set(external))[:5])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

