"""Who acts on the registry: a user holding a token, or the operator at the command line."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from registry.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (``id``) with a role and, for providers, units; or the command line (``id`` None)."""

    id: int | None
    name: str
    role: str
    unit_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """How the change log names the actor."""
        return f"user {self.id} ({self.name})" if self.id is not None else self.name


def cli_actor() -> Actor:
    """The operator at the command line: an admin named by the OS account (they hold the database anyway)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(id=None, name=f"cli:{who}", role="admin")


SYSTEM = Actor(id=None, name="system", role="admin")
"""The service itself (the first start's import)."""


def verify_role(user: Actor, *roles: str, what: str) -> None:
    """Raise :class:`Forbidden` unless ``user`` has one of ``roles``; ``what`` completes "Only … may"."""
    if user.role not in roles:
        raise Forbidden(f"Only {' or '.join(r.replace('_', ' ') + 's' for r in roles)} may {what}.")
