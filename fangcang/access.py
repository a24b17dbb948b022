"""Who may see what: roles, permissions and the jurisdiction scope that every query applies.

Jurisdiction is enforced in fangcang's queries, not only in the UI: every function that returns
community-level or person-level data takes a ``Scope`` and filters by it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session


class Role(enum.StrEnum):
    LEADER = "leader"  # whole district, read
    DISPATCHER = "dispatcher"  # duty officer: whole district, dispatch and evaluate
    STATION = "station"  # their station's communities
    OFFICER = "officer"  # community officer: their own communities and inbox
    BRANCH = "branch"  # a police branch: proposes task templates
    ADMIN = "admin"  # users, configuration, imports


class ScopeError(PermissionError):
    """Raised when a caller asks for data outside its jurisdiction."""


@dataclass(frozen=True)
class Scope:
    """The set of communities a user may see; ``None`` means the whole district."""

    community_ids: frozenset[str] | None = None
    label: str = "district"

    @classmethod
    def district(cls) -> Scope:
        return cls(None, "district")

    @classmethod
    def of(cls, community_ids: Iterable[str], label: str = "restricted") -> Scope:
        return cls(frozenset(community_ids), label)

    @property
    def is_district(self) -> bool:
        return self.community_ids is None

    def allows(self, community_id: str) -> bool:
        return self.community_ids is None or community_id in self.community_ids

    def check(self, community_id: str) -> None:
        """Raise ``ScopeError`` unless ``community_id`` is inside the scope."""
        if not self.allows(community_id):
            raise ScopeError(f"community {community_id!r} is outside your jurisdiction")

    def clause(self, column) -> ColumnElement[bool]:
        """A WHERE clause restricting ``column`` (a community_id column) to the scope."""
        if self.community_ids is None:
            return true()
        if not self.community_ids:
            return false()
        return column.in_(sorted(self.community_ids))


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as fangcang functions see it."""

    username: str
    role: Role
    scope: Scope = field(default_factory=Scope.district)
    officer_id: str | None = None
    station_id: str | None = None
    branch: str | None = None
    display_name: str = ""


def scope_for(
    session: Session, role: Role, station_id: str | None = None, officer_id: str | None = None
) -> Scope:
    """The jurisdiction of a role: the whole district, a station's or an officer's communities."""
    from .models import Community

    if role in (Role.LEADER, Role.DISPATCHER, Role.ADMIN, Role.BRANCH):
        return Scope.district()
    if role is Role.STATION:
        if not station_id:
            raise ValueError("a station user needs a station_id")
        ids = session.scalars(
            select(Community.community_id).where(Community.station_id == station_id)
        )
        return Scope.of(ids, f"station:{station_id}")
    if role is Role.OFFICER:
        if not officer_id:
            raise ValueError("a community officer needs an officer_id")
        ids = session.scalars(
            select(Community.community_id).where(Community.officer_id == officer_id)
        )
        return Scope.of(ids, f"officer:{officer_id}")
    raise ValueError(f"unknown role {role!r}")
