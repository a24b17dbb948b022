"""Who may see what: what each role may do and the jurisdiction scope that every query applies.

Jurisdiction is enforced in fangcang's queries, not only in the UI: every function that returns
community-level or person-level data takes a ``Scope`` and filters by it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from .models import Community, Officer, Station, SubDistrict
from .models.access import Permission, Role

__all__ = [
    "ROLE_PERMISSIONS",
    "Forbidden",
    "Permission",
    "Role",
    "Scope",
    "ScopeError",
    "Viewer",
    "can",
    "get_community",
    "officer_names",
    "scope_for",
    "station_names",
    "sub_district_names",
    "visible_communities",
]


class ScopeError(PermissionError):
    """Raised when a caller asks for data outside its jurisdiction."""


class Forbidden(PermissionError):
    """Raised when a role lacks the permission for an action (see ``ROLE_PERMISSIONS``)."""


#: Which role may do what. Reading is governed by the scope, not listed here. Leaders read
#: masked data only; admins run the system but do not read residents in the clear.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.LEADER: frozenset({Permission.EXPORT}),
    Role.DISPATCHER: frozenset(
        {Permission.DISPATCH, Permission.EVALUATE, Permission.UNMASK, Permission.EXPORT}
    ),
    Role.STATION: frozenset(
        {Permission.EVALUATE, Permission.UNMASK, Permission.EXPORT, Permission.CORRECT_REGISTRY}
    ),
    Role.OFFICER: frozenset({Permission.FEEDBACK, Permission.UNMASK, Permission.CORRECT_REGISTRY}),
    Role.BRANCH: frozenset({Permission.PROPOSE_TEMPLATE, Permission.EXPORT}),
    Role.ADMIN: frozenset(
        {Permission.IMPORT, Permission.MANAGE_USERS, Permission.CONFIGURE, Permission.EXPORT}
    ),
}


def can(role: Role | str, permission: Permission | str) -> bool:
    """True when ``role`` holds ``permission``."""
    return Permission(permission) in ROLE_PERMISSIONS[Role(role)]


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

    def can(self, permission: Permission | str) -> bool:
        """True when this viewer's role holds ``permission``."""
        return can(self.role, permission)

    def require(self, permission: Permission | str) -> None:
        """Raise ``Forbidden`` unless this viewer's role holds ``permission``."""
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {Permission(permission).value}")


def scope_for(
    session: Session, role: Role, station_id: str | None = None, officer_id: str | None = None
) -> Scope:
    """The jurisdiction of a role: the whole district, a station's or an officer's communities."""
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


def visible_communities(session: Session, scope: Scope) -> list[tuple[str, str]]:
    """``(community_id, name)`` of every community inside ``scope``, ordered by id."""
    rows = session.execute(
        select(Community.community_id, Community.name)
        .where(scope.clause(Community.community_id))
        .order_by(Community.community_id)
    )
    return [(r.community_id, r.name) for r in rows]


def get_community(session: Session, scope: Scope, community_id: str):
    """One community by id; ``ScopeError`` when it lies outside ``scope``, ``KeyError`` when
    there is no such community (checked in that order, so outsiders learn nothing)."""
    scope.check(community_id)
    community = session.scalar(
        select(Community).where(
            Community.community_id == community_id, scope.clause(Community.community_id)
        )
    )
    if community is None:
        raise KeyError(f"no community {community_id!r}")
    return community


def station_names(session: Session) -> dict[str, str]:
    """Every police station: ``{station_id: name}`` ordered by id (pickers, scope labels)."""
    rows = session.execute(select(Station.station_id, Station.name).order_by(Station.station_id))
    return {r.station_id: r.name for r in rows}


def officer_names(session: Session) -> dict[str, str]:
    """Every community officer: ``{officer_id: name}`` ordered by id (names only: no phone)."""
    rows = session.execute(select(Officer.officer_id, Officer.name).order_by(Officer.officer_id))
    return {r.officer_id: r.name for r in rows}


def sub_district_names(session: Session) -> dict[str, str]:
    """Every sub-district: ``{code: name}`` ordered by code."""
    rows = session.execute(select(SubDistrict.code, SubDistrict.name).order_by(SubDistrict.code))
    return {r.code: r.name for r in rows}
