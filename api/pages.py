"""What every HTML page the service sends shares: one security policy, the templates, the static files' types.

The referrer page (``/``, ``/svar``), the provider page (``/leverantor``), the planning page (``/planering``) and the
API documentation (``/docs``) all send :data:`SECURITY_HEADERS`: this origin only, no inline script, no framing.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Leaflet's CSS carries its icons as data: URIs and Leaflet sets inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""The one page policy (every page, and the pages' own scripts and stylesheets)."""

MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}
"""Content types of the files the pages are served from, by suffix."""

TEMPLATES = Environment(
    loader=FileSystemLoader([TEMPLATES_DIR, STATIC_DIR]), autoescape=True, undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
"""The server-rendered pages (autoescaped: an answer's names never become markup): ``templates/`` and the planning
page ``static/whatif.html``, whose every text is filled in from the catalogue when it is sent (a text the template
names and the catalogue lacks is an error, never an empty place)."""
