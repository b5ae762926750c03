"""Users and their tokens in the live registry: who may write, with which role (provider, contract manager, admin).

:class:`UserAccounts` is mixed into :class:`registry.service.RegistryService` (its database, secret, clock and
change log). A token is shown once, at creation; only its public prefix and its keyed hash are stored; it may expire.

:meth:`UserAccounts.check_token` costs the same whether the token's prefix exists or not (one query, one keyed hash
compared with the stored one or with a stand-in), so the time to refuse a token does not tell which prefixes exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from registry.actors import Actor, verify_role
from registry.db import read_session
from registry.errors import Invalid, NotFound
from registry.models import ROLES, Token, User, UserUnit
from registry.tokens import UNKNOWN_HASH, hash_token, new_token, prefix_key, token_matches, token_prefix
from registry.values import iso, user_form


@dataclass(frozen=True)
class TokenCheck:
    """What checking a token found: the ``actor`` (None when refused), whether its prefix names a token that exists
    (``prefix_known``; revoked and expired ones too), the keyed hash its failures count under (``prefix_key``; None for
    a malformed token) and, for the right secret of an expired token, when it expired (``expired_at``)."""

    actor: Actor | None
    prefix_known: bool = False
    prefix_key: str | None = None
    expired_at: datetime | None = None


class UserAccounts:
    """Users and tokens (needs the registry's ``engine``, ``_secret``, ``clock``, ``_write``, ``_unit``, ``_log``)."""

    def add_user(self, user: Actor, role: str, unit_ids: Iterable[str] = (), name: str = "",
                 expires_after: timedelta | None = None) -> tuple[dict, str]:
        """Create a user with one token; returns ``(user, token)``. The token is shown once: only its keyed hash
        is stored. ``expires_after`` (:func:`registry.tokens.lifetime`): the token is refused from then on (None:
        it does not expire)."""
        verify_role(user, "admin", what="manage users")
        if expires_after is not None and (not isinstance(expires_after, timedelta) or expires_after <= timedelta(0)):
            raise Invalid("expires_after must be a positive duration.")
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
            now = self.clock()
            expires_at = None if expires_after is None else now + expires_after
            s.add(Token(user_id=row.id, prefix=prefix, hash=hash_token(token, self._secret), created_at=now,
                        expires_at=expires_at))
            out = {**user_form(row, [prefix]), "token_expires_at": iso(expires_at)}
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
        """Every user (revoked ones too) with role, units, token prefixes and when their tokens expire
        (``token_expires_at``: the latest expiry of their unrevoked tokens, None when one never expires); never a
        token or hash."""
        with read_session(self.engine) as s:
            prefixes: dict[int, list[str]] = {}
            expiry: dict[int, list[datetime | None]] = {}
            for uid, prefix, expires_at, revoked_at in s.execute(
                    select(Token.user_id, Token.prefix, Token.expires_at, Token.revoked_at).order_by(Token.id)):
                prefixes.setdefault(uid, []).append(prefix)
                if revoked_at is None:
                    expiry.setdefault(uid, []).append(expires_at)
            return [{**user_form(u, prefixes.get(u.id, [])), "token_expires_at": _latest(expiry.get(u.id, []))}
                    for u in s.scalars(select(User).order_by(User.id))]

    def authenticate(self, token: str) -> Actor | None:
        """The actor holding ``token``, or None for a malformed, unknown, revoked or expired token."""
        return self.check_token(token).actor

    def check_token(self, token: str) -> TokenCheck:
        """Check ``token``: its actor, or why not (see :class:`TokenCheck`). A malformed token is never looked up."""
        prefix = token_prefix(token)
        if prefix is None:
            return TokenCheck(None)
        key = prefix_key(prefix, self._secret)
        with read_session(self.engine) as s:
            # Columns only (no relationship loads): a known prefix costs the same one query as an unknown one.
            row = s.execute(
                select(Token.hash, Token.revoked_at, Token.expires_at, User.id, User.revoked_at.label("user_revoked"))
                .join(User, User.id == Token.user_id).where(Token.prefix == prefix)
            ).first()
            matches = token_matches(token, UNKNOWN_HASH if row is None else row.hash, self._secret)
            if row is None or not matches or row.revoked_at is not None or row.user_revoked is not None:
                return TokenCheck(None, prefix_known=row is not None, prefix_key=key)
            if row.expires_at is not None and row.expires_at <= self.clock():
                return TokenCheck(None, prefix_known=True, prefix_key=key, expired_at=row.expires_at)
            u = s.get(User, row.id)
            actor = Actor(id=u.id, name=u.name, role=u.role, unit_ids=frozenset(x.unit_id for x in u.units))
            return TokenCheck(actor, prefix_known=True, prefix_key=key)


def _latest(expiries: list[datetime | None]) -> str | None:
    """The latest of some tokens' expiries as ISO text; None when there is none or one never expires."""
    if not expiries or any(e is None for e in expiries):
        return None
    return iso(max(expiries))
