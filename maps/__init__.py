"""Maps for the ASIH coverage service: self-contained interactive HTML (``maps.interactive``), static PNG/PDF
(``maps.static``) and GIS files (``maps.export``). Colours, Swedish labels and attribution live in ``maps.style``;
Leaflet is vendored by ``python -m maps.vendor_assets``."""
