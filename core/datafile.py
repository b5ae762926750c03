"""Reading the domain data files (``data/*.yaml``): one place for the structural checks they share."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml_list(path: Path, key: str, error: type[Exception], what: str) -> dict:
    """Load a YAML mapping whose ``key`` is a list; raise ``error([sentence])`` when it is not.

    Parameters
    ----------
    path : the file.
    key : the top-level list ('areas', 'units').
    error : an exception class taking a list of problem sentences.
    what : the file's name for a reader ('Areas', 'Providers').
    """
    if not path.exists():
        raise error([f"{what} file not found: {path}"])
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error([f"{path.name} is not valid YAML: {exc}"]) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise error([f"{path.name} must have a top-level '{key}' list."])
    return doc
