"""Keep looked-up addresses and coordinates out of logs.

uvicorn's access log record carries the request target as an argument (``client, method, target, version,
status``). :class:`RedactQueryFilter` cuts that target at its first ``?`` — where the query starts, whatever
characters follow (quotes included) — and logs ``?<redacted>`` in its place, before any handler or formatter sees
the record. Other records get every ``?…`` up to the next whitespace replaced the same way. The app itself never
logs request input.
"""

from __future__ import annotations

import logging
import re

REDACTED = "?<redacted>"
_QUERY = re.compile(r"\?\S*")
ACCESS_LOGGER = "uvicorn.access"
_TARGET_ARG = 2
"""Position of the request target in uvicorn's access-log arguments ``(client, method, target, version, status)``."""


def redact_target(target: str) -> str:
    """A request target (``/path?query``) with its query replaced by ``?<redacted>``; the path is kept."""
    path, sep, _query = target.partition("?")
    return path + REDACTED if sep else path


def redact(text: str) -> str:
    """Replace every query string (from ``?`` to the next whitespace) in free text by ``?<redacted>``."""
    return _QUERY.sub(REDACTED, text)


class RedactQueryFilter(logging.Filter):
    """A logging filter that strips query strings from a record's message and arguments, and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            args = list(record.args)
            if record.name == ACCESS_LOGGER and len(args) > _TARGET_ARG and isinstance(args[_TARGET_ARG], str):
                args[_TARGET_ARG] = redact_target(args[_TARGET_ARG])
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
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
