"""Roles, permissions, navigation by role, page guards, and jurisdiction applied in queries."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from fangcang.access import (
    ROLE_PERMISSIONS,
    Forbidden,
    Permission,
    Role,
    Scope,
    ScopeError,
    Viewer,
    can,
    get_community,
    scope_for,
    visible_communities,
)
from fangcang.models import Community, Person
from ui import nav

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def district(session, factory):
    """Two stations; station A has two communities (one per officer), station B one."""
    st_a, st_b = factory.station(name="南汇派出所"), factory.station(name="藤桥派出所")
    off_a1, off_a2 = factory.officer(station=st_a), factory.officer(station=st_a)
    off_b = factory.officer(station=st_b)
    a1 = factory.community(name="沿江社区", station=st_a, officer=off_a1)
    a2 = factory.community(name="江滨社区", station=st_a, officer=off_a2)
    b1 = factory.community(name="藤桥社区", station=st_b, officer=off_b)
    for c in (a1, a2, b1):
        factory.person(c, name=f"{c.name}居民")
    session.commit()
    return {"st_a": st_a, "st_b": st_b, "off_a1": off_a1, "a1": a1, "a2": a2, "b1": b1}


def test_scope_for_each_role(session, district):
    d = district
    for role in (Role.LEADER, Role.DISPATCHER, Role.BRANCH, Role.ADMIN):
        assert scope_for(session, role).is_district
    station = scope_for(session, Role.STATION, station_id=d["st_a"].station_id)
    assert station.community_ids == {d["a1"].community_id, d["a2"].community_id}
    officer = scope_for(session, Role.OFFICER, officer_id=d["off_a1"].officer_id)
    assert officer.community_ids == {d["a1"].community_id}
    with pytest.raises(ValueError, match="station_id"):
        scope_for(session, Role.STATION)
    with pytest.raises(ValueError, match="officer_id"):
        scope_for(session, Role.OFFICER)


def test_station_user_cannot_reach_another_stations_community(session, district):
    d = district
    scope = scope_for(session, Role.STATION, station_id=d["st_a"].station_id)
    assert [c for c, _ in visible_communities(session, scope)] == sorted(
        [d["a1"].community_id, d["a2"].community_id]
    )
    assert get_community(session, scope, d["a1"].community_id).name == "沿江社区"
    with pytest.raises(ScopeError, match="outside your jurisdiction"):
        get_community(session, scope, d["b1"].community_id)
    # A query asking for the other community explicitly still returns nothing through the clause.
    rows = session.scalars(
        select(Person.name).where(
            Person.community_id == d["b1"].community_id, scope.clause(Person.community_id)
        )
    ).all()
    assert rows == []
    with pytest.raises(KeyError):
        get_community(session, Scope.district(), "NOPE")


def test_empty_scope_sees_nothing(session, district):
    empty = Scope.of([])
    assert visible_communities(session, empty) == []
    assert (
        session.scalars(select(Community).where(empty.clause(Community.community_id))).all() == []
    )
    assert not empty.allows(district["a1"].community_id)


def test_dashboard_queries_apply_the_scope(session, district):
    """The community module (dashboard) refuses out-of-scope ids and filters searches."""
    community = pytest.importorskip("fangcang.community")
    d = district
    scope = scope_for(session, Role.STATION, station_id=d["st_a"].station_id)
    assert set(community.search(session, scope, "社区")["community_id"]) == {
        d["a1"].community_id,
        d["a2"].community_id,
    }
    assert community.search(session, scope, "藤桥").empty
    with pytest.raises(ScopeError):
        community.overdue_factors(session, scope, d["b1"].community_id, date(2026, 10, 31))


def test_permissions_by_role():
    assert can(Role.OFFICER, Permission.UNMASK) and can("station", "unmask")
    assert not can(Role.LEADER, Permission.UNMASK)
    assert not can(Role.ADMIN, Permission.UNMASK)  # admins run the system, not read residents
    assert can(Role.ADMIN, Permission.MANAGE_USERS)
    assert [r for r in Role if can(r, Permission.MANAGE_USERS)] == [Role.ADMIN]
    assert [r for r in Role if can(r, Permission.DISPATCH)] == [Role.DISPATCHER]
    assert [r for r in Role if can(r, Permission.PROPOSE_TEMPLATE)] == [Role.BRANCH]
    assert not can(Role.OFFICER, Permission.EXPORT)
    assert set(ROLE_PERMISSIONS) == set(Role)
    viewer = Viewer(username="x", role=Role.LEADER)
    with pytest.raises(Forbidden, match="leader may not unmask"):
        viewer.require(Permission.UNMASK)


# --- navigation and page guards ---------------------------------------------------------------
def test_each_role_sees_exactly_its_pages():
    ids = [p.id for p in nav.PAGES]
    assert len(ids) == len(set(ids)), "page ids must be unique"
    for role in Role:
        allowed = nav.allowed(role)
        assert allowed == [p for p in nav.PAGES if role in p.roles]
        assert ("admin" in [p.id for p in allowed]) is (role is Role.ADMIN)
    assert nav.spec("admin").roles == {Role.ADMIN}
    with pytest.raises(KeyError):
        nav.spec("nope")


def test_every_role_has_somewhere_to_go():
    for role in Role:
        assert nav.allowed(role), f"role {role} has no page"


def _guard_call(tree: ast.Module) -> tuple[int, str | None]:
    """Index of the top-level statement calling guard.page(...) and its page id."""
    for i, node in enumerate(tree.body):
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "page"
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "guard"
            ):
                arg = sub.args[0] if sub.args else None
                return i, arg.value if isinstance(arg, ast.Constant) else None
    return -1, None


def _calls_anything(node: ast.AST) -> bool:
    return any(isinstance(sub, ast.Call) for sub in ast.walk(node))


PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=[p.stem for p in PAGE_FILES])
def test_every_page_file_guards_itself_first(path):
    """A deep link runs the file without app.py: its first action must be the guard."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    index, page_id = _guard_call(tree)
    assert index >= 0, f"{path.name} never calls guard.page(...)"
    registered = {p.file: p.id for p in nav.PAGES}
    rel = f"pages/{path.name}"
    assert rel in registered, f"{rel} is not registered in ui.nav.PAGES"
    assert page_id == registered[rel], f"{path.name} guards as {page_id!r}, registered as "
    for node in tree.body[:index]:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        assert not _calls_anything(node), (
            f"{path.name}: line {node.lineno} runs before guard.page(...)"
        )


def test_registered_page_files_exist():
    for p in nav.PAGES:
        assert (ROOT / p.file).is_file(), f"{p.file} (page {p.id}) is missing"


def test_name_lists_for_pickers(session, factory):
    from fangcang.access import officer_names, station_names, sub_district_names

    sd_b = factory.sub_district("SD2", "乙街道")
    sd_a = factory.sub_district("SD1", "甲街道")
    st = factory.station("ST9", "仰义派出所")
    factory.officer(officer_id="O2", name="李警官", station=st)
    factory.officer(officer_id="O1", name="王警官", station=st)
    assert sub_district_names(session) == {sd_a.code: "甲街道", sd_b.code: "乙街道"}
    assert list(sub_district_names(session)) == ["SD1", "SD2"]
    assert station_names(session) == {"ST9": "仰义派出所"}
    assert list(officer_names(session).items()) == [("O1", "王警官"), ("O2", "李警官")]
