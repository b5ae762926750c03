"""The registry's refusals: each carries a sentence for the user; the HTTP layer maps them to 404 / 403 / 409 / 422."""

from __future__ import annotations


class RegistryError(ValueError):
    """A registry request that cannot be done, with the reason as a sentence."""


class NotFound(RegistryError):
    """No such unit, user or approval."""


class Forbidden(RegistryError):
    """The actor's role or units do not allow this."""


class Conflict(RegistryError):
    """The change contradicts the registry's state (an overlapping approval, nothing to end)."""


class Invalid(RegistryError):
    """A value is out of range or malformed."""


class Unavailable(RuntimeError):
    """The database cannot be read or written now (server stopped, file unreadable or damaged).

    Not a :class:`RegistryError`: the request was fine and may be sent again after ``retry_after_s`` seconds; nothing
    of a write was stored (its transaction was rolled back, or never began).
    """

    def __init__(self, reason: str, retry_after_s: int = 10):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Damaged(RuntimeError):
    """The database at start is not one the registry can use (a 0-byte, truncated or non-database file); the
    message names the file and the fix."""
