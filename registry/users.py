"""Users and their tokens in the live registry: who may write, with which role (provider, contract manager, admin).

:class:`UserAccounts` is mixed into :class:`registry.service.RegistryService` (its database, secret, clock and
change log). A token is shown once, at creation; only its public prefix and its keyed hash are stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from registry.actors import Actor, verify_role
from registry.db import read_session
from registry.errors import Invalid, NotFound
from registry.models import ROLES, Token, User, UserUnit
from registry.tokens import hash_token, new_token, token_matches, token_prefix
from registry.values import user_form


class UserAccounts:
    """Users and tokens (needs the registry's ``engine``, ``_secret``, ``clock``, ``_write``, ``_unit``, ``_log``)."""

    def add_user(self, user: Actor, role: str, unit_ids: Iterable[str] = (), name: str = "") -> tuple[dict, str]:
        """Create a user with one token; returns ``(user, token)``. The token is shown once: only its keyed hash
        is stored."""
        verify_role(user, "admin", what="manage users")
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}, not '{role}'.")
        unit_ids = sorted(set(unit_ids))
        if role == "provider" and not unit_ids:
            raise Invalid("A provider user needs at least one unit (--unit ID).")
        if role != "provider" and unit_ids:
            raise Invalid(f"Only provider users have units; a {role} may act on every unit.")
        name = " ".join("".join(ch if ch.isprintable() else " " for ch in str(name)).split())[:200] or role
        with self._write() as s:
            for uid in unit_ids:
                self._unit(s, uid)
            row = User(name=name, role=role, created_at=self.clock(), units=[UserUnit(unit_id=u) for u in unit_ids])
            s.add(row)
            s.flush()
            token, prefix = new_token()
            while s.scalar(select(Token.id).where(Token.prefix == prefix)) is not None:
                token, prefix = new_token()
            s.add(Token(user_id=row.id, prefix=prefix, hash=hash_token(token, self._secret), created_at=self.clock()))
            out = user_form(row, [prefix])
            self._log(s, user, "user.add", f"user:{row.id}", None, out)
        return out, token

    def revoke_user(self, user: Actor, user_id: int) -> dict:
        """Revoke a user and all their tokens (the user stays, for the change log)."""
        verify_role(user, "admin", what="manage users")
        if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**31:
            raise NotFound(f"No user {user_id}.")
        with self._write() as s:
            row = s.get(User, user_id, with_for_update=True)
            if row is None:
                raise NotFound(f"No user {user_id}.")
            prefixes = list(s.scalars(select(Token.prefix).where(Token.user_id == user_id)))
            before = user_form(row, prefixes)
            now = self.clock()
            if row.revoked_at is None:
                row.revoked_at = now
            for t in s.scalars(select(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None))):
                t.revoked_at = now
            s.flush()
            after = user_form(row, prefixes)
            self._log(s, user, "user.revoke", f"user:{user_id}", before, after)
        return after

    def users(self) -> list[dict]:
        """Every user (revoked ones too) with role, units and token prefixes; never a token or hash."""
        with read_session(self.engine) as s:
            prefixes: dict[int, list[str]] = {}
            for uid, prefix in s.execute(select(Token.user_id, Token.prefix).order_by(Token.id)):
                prefixes.setdefault(uid, []).append(prefix)
            return [user_form(u, prefixes.get(u.id, [])) for u in s.scalars(select(User).order_by(User.id))]

    def authenticate(self, token: str) -> Actor | None:
        """The actor holding ``token``, or None for a malformed, unknown or revoked token."""
        prefix = token_prefix(token)
        if prefix is None:
            return None
        with read_session(self.engine) as s:
            row = s.execute(
                select(Token, User).join(User, User.id == Token.user_id)
                .where(Token.prefix == prefix, Token.revoked_at.is_(None), User.revoked_at.is_(None))
            ).first()
            if row is None or not token_matches(token, row.Token.hash, self._secret):
                return None
            u = row.User
            return Actor(id=u.id, name=u.name, role=u.role, unit_ids=frozenset(x.unit_id for x in u.units))
