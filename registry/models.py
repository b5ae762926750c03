"""The registry's tables (SQLAlchemy 2 declarative models); ``migrations/`` creates the same schema.

Times are UTC instants (timezone-aware in Python, ``timestamptz`` in PostgreSQL, ISO text in SQLite); approval
dates are calendar dates in Stockholm. Three tables are append-only, enforced by database triggers as well as by the
service: ``availability_reports`` (every report is kept; the unit's current free places is its latest report),
``changes`` (who changed what, when, with the state before and after) and ``scenarios`` (saved what-ifs).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("provider", "contract_manager", "admin")
"""``provider``: reports free places for its own units; ``contract_manager``: approvals and the change log;
``admin``: users, and everything a contract manager may do."""

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on both backends (SQLite keeps no offset: values are stored as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("registry times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Meta(Base):
    """Key/value facts about the imported data (the YAML header and version, the import's source)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Unit(Base):
    """An ASIH unit as the YAML describes it; bases stay a JSON list (they are edited in the YAML, not live)."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    bases: Mapped[list] = mapped_column(JSON)
    capacity_note: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[dict | None] = mapped_column(JSON)


class Approval(Base):
    """A unit's approval for an area from ``valid_from`` to ``valid_to``, both days included.

    ``valid_from`` is null for approvals imported from an undated list (in force as far back as the records go);
    ``valid_to`` is null while open-ended. An approval withdrawn before it started keeps its row with
    ``valid_to`` the day before ``valid_from`` (in force on no day), so the history stays complete.
    """

    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    area_id: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """Someone who may write: a role, and for providers the units they report for."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('provider', 'contract_manager', 'admin')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    units: Mapped[list[UserUnit]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserUnit(Base):
    __tablename__ = "user_units"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Token(Base):
    """A bearer token: its public prefix (to find it and to rate-limit guesses) and its keyed hash, never itself."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """After this instant the token is refused (None: it does not expire)."""


class AuthFailure(Base):
    """One failed token check, counted by every worker (:mod:`registry.throttle`); rows older than the window are
    deleted. ``prefix_key`` is a keyed hash of the prefix the token named (None for a malformed token): never the
    token, nor the prefix itself; ``prefix_known``: whether a token with that prefix exists."""

    __tablename__ = "auth_failures"
    __table_args__ = (
        Index("ix_auth_failures_address_at", "address", "at"),
        Index("ix_auth_failures_prefix_key_at", "prefix_key", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str] = mapped_column(String(64))
    prefix_key: Mapped[str | None] = mapped_column(String(64))
    prefix_known: Mapped[bool] = mapped_column(Boolean)


class AvailabilityReport(Base):
    """One report of a unit's free places (append-only); the unit's latest report is its current state."""

    __tablename__ = "availability_reports"
    __table_args__ = (
        CheckConstraint("free_places >= 0", name="free_places_not_negative"),
        Index("ix_availability_reports_unit_id_id", "unit_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    free_places: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Change(Base):
    """One change (append-only): who, when, what (``action`` on ``entity``), and the state before and after."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(200), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class Scenario(Base):
    """A saved what-if (:mod:`registry.scenarios`): one unit's base changes, the approvals' day and the traffic
    profile, with its name and who saved it when. Immutable (database triggers): a new save is a new row."""

    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    approvals_date: Mapped[date] = mapped_column(Date)
    profile: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    saved_by_name: Mapped[str] = mapped_column(String(200))


APPEND_ONLY_TABLES = ("availability_reports", "changes", "scenarios")
