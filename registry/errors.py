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
