"""Keep looked-up addresses and coordinates out of logs.

uvicorn's access log prints the request line, query string included; :class:`RedactQueryFilter` replaces every
query string with ``?<redacted>`` before any handler sees the record. The app itself never logs request input.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"]*")


def redact(text: str) -> str:
    """Replace the query string of any URL or request line in ``text`` by ``?<redacted>``."""
    return _QUERY.sub("?<redacted>", text)


class RedactQueryFilter(logging.Filter):
    """A logging filter that strips query strings from a record's message and arguments, and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.exc_info:
            # A traceback's messages can quote request data (an address in an exception text): log the type only.
            exc_type = record.exc_info[0]
            record.msg = f"{record.msg} [{exc_type.__name__ if exc_type else 'exception'}; traceback withheld]"
            record.exc_info = None
            record.exc_text = None
        record.stack_info = None
        return True


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's and the app's loggers (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "fastapi", "asih"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
            logger.addFilter(RedactQueryFilter())


def uvicorn_log_config() -> dict:
    """uvicorn's default logging config with the redaction filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = {k: (v.copy() if isinstance(v, dict) else v) for k, v in LOGGING_CONFIG.items()}
    config["filters"] = {"redact": {"()": "api.privacy.RedactQueryFilter"}}
    config["handlers"] = {k: {**v, "filters": ["redact"]} for k, v in LOGGING_CONFIG["handlers"].items()}
    return config
