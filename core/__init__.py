"""Shared infrastructure at the bottom of the layers: settings, the prepared-artifact cache, the in-memory memo, CRS
helpers, data-file reading, GeoJSON out, and the catalogue of words with its renderer."""
