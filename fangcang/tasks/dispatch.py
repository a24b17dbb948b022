"""One-click dispatch (一键派单) and urgent instructions (紧急指令).

``dispatch_cycle`` creates one item per admitted template of the cycle and target community,
assigned to the community's officer. The unique key (template, cycle, community) plus
``INSERT ... ON CONFLICT DO NOTHING`` make it idempotent even when two dispatchers click at
the same moment: the second run creates nothing.

``urgent_instruction`` routes an ad-hoc item to one community's officer, found from a point
(point in polygon), an address (the house register) or the community itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import audit, db, geo
from ..access import Permission, Viewer, can
from ..models import Community, House
from ..models.tasks import Branch, Cycle, ItemState, TaskItem, TaskTemplate, TemplateStatus
from ..timeutil import now_local
from . import targets
from .cycles import period_of

URGENT_MAX_MINUTES = 7 * 24 * 60


@dataclass
class DispatchResult:
    """What one dispatch did: items created, items that already existed, communities without
    an officer (skipped), per template counts, and the cycle keys used."""

    created: int = 0
    existing: int = 0
    skipped_no_officer: int = 0
    templates: int = 0
    cycle_keys: set[str] = field(default_factory=set)
    by_template: dict[int, int] = field(default_factory=dict)
    item_ids: list[int] = field(default_factory=list)


def _actor(actor: Viewer | str) -> str:
    if not isinstance(actor, str):  # a Viewer (duck-typed: survives a module reload in the UI)
        if not can(actor.role, Permission.DISPATCH):
            raise PermissionError(f"role {actor.role.value} cannot dispatch tasks")
        return actor.username
    if not actor:
        raise ValueError("actor: who is dispatching?")
    return actor


def _insert(session: Session):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(
        TaskItem
    )


def dispatch_cycle(
    session: Session,
    cycle: Cycle | str,
    actor: Viewer | str,
    *,
    on: date | datetime | None = None,
    template_ids: list[int] | None = None,
    now: datetime | None = None,
    target_cache: dict | None = None,
) -> DispatchResult:
    """Dispatch every admitted template of ``cycle`` for the cycle containing ``on``.

    Parameters
    ----------
    cycle : Cycle
        weekly, monthly, quarterly (or ad_hoc: the chosen ad-hoc templates, keyed by day).
    actor : Viewer or str
        A dispatcher/admin viewer, or a name such as ``cli:alice``.
    on : date, optional
        A day inside the cycle (default today).
    template_ids : list of int, optional
        Only these templates (they must be admitted and of this cycle).
    now : datetime, optional
        The dispatch time recorded on the items (default now).
    target_cache : dict, optional
        Resolved targets to reuse across calls (a batch of dispatches in which the warning
        levels and the registry do not change, e.g. building the demo).

    Returns
    -------
    DispatchResult
        Running it again for the same cycle creates nothing (``created == 0``).
    """
    cycle = Cycle(cycle)
    name = _actor(actor)
    now = now or now_local()
    period = period_of(cycle, on or now)
    q = select(TaskTemplate).where(
        TaskTemplate.status == TemplateStatus.ADMITTED, TaskTemplate.cycle == cycle
    )
    if template_ids is not None:
        q = q.where(TaskTemplate.id.in_(template_ids))
    templates = list(session.scalars(q.order_by(TaskTemplate.id)))
    officer_of = dict(session.execute(select(Community.community_id, Community.officer_id)).all())
    result = DispatchResult(templates=len(templates), cycle_keys={period.key})
    # Templates often share a target (e.g. a rule): resolve each target once.
    resolved: dict[tuple, list[str]] = {} if target_cache is None else target_cache
    for tpl in templates:
        key = (tpl.target_kind, tpl.target_value)
        if key not in resolved:
            resolved[key] = targets.resolve(session, tpl.target_kind, tpl.target_value)
        _send_template(session, tpl, resolved[key], period, name, now, officer_of, result)
    audit.log(session, actor=name, **cycle_audit(cycle, period.key, result))
    db.bump_data_version(session)
    return result


def cycle_audit(cycle: Cycle, key: str, result: DispatchResult) -> dict:
    """The audit entry of one cycle's dispatch (``action``, ``target``, ``detail``; the demo
    writes the same entries for the cycles it dispatches)."""
    return {
        "action": "task.dispatch",
        "target": f"cycle:{key}",
        "detail": {
            "cycle": cycle.value,
            "created": result.created,
            "existing": result.existing,
            "templates": result.templates,
            "skipped_no_officer": result.skipped_no_officer,
        },
    }


def _send_template(
    session: Session,
    tpl: TaskTemplate,
    ids: list[str],
    period,
    name: str,
    now: datetime,
    officer_of: dict[str, str | None],
    result: DispatchResult,
) -> None:
    """Create ``tpl``'s items of ``period`` for the communities ``ids`` (idempotent: the
    unique key and ON CONFLICT DO NOTHING skip what exists, even under a race)."""
    stmt = _insert(session).on_conflict_do_nothing(
        index_elements=["template_id", "cycle_key", "community_id"]
    )
    existing = set(
        session.scalars(
            select(TaskItem.community_id).where(
                TaskItem.template_id == tpl.id, TaskItem.cycle_key == period.key
            )
        )
    )
    rows = new_item_rows(tpl, ids, period, name, now, officer_of, existing, result)
    if rows:
        session.execute(stmt, rows)
    after = session.scalar(
        select(func.count())
        .select_from(TaskItem)
        .where(TaskItem.template_id == tpl.id, TaskItem.cycle_key == period.key)
    )
    made = after - len(existing)
    result.existing += len(rows) - made  # lost a race: another dispatcher made them
    result.created += made
    result.by_template[tpl.id] = made


def new_item_rows(
    tpl: TaskTemplate,
    ids: list[str],
    period,
    name: str,
    now: datetime,
    officer_of: dict[str, str | None],
    existing: set[str],
    result: DispatchResult,
) -> list[dict]:
    """The ``task_items`` rows ``tpl`` dispatches in ``period`` to the communities ``ids``:
    none for a community in ``existing`` (it has the item) or without an officer (both
    counted in ``result``). Writes nothing (the demo plans a year of dispatches with it)."""
    deadline = period.deadline(tpl.deadline_days)
    rows = []
    for cid in ids:
        if cid in existing:
            result.existing += 1
            continue
        if not officer_of.get(cid):
            result.skipped_no_officer += 1
            continue
        rows.append(
            dict(
                template_id=tpl.id,
                cycle_key=period.key,
                community_id=cid,
                officer_id=officer_of[cid],
                branch=tpl.branch,
                title=tpl.title,
                instructions=tpl.instructions,
                urgent=False,
                source="cycle",
                est_minutes=tpl.est_minutes,
                state=ItemState.DISPATCHED,
                dispatched_by=name,
                dispatched_at=now,
                deadline=deadline,
                note="",
                returns=0,
                version=1,
            )
        )
    return rows


def dispatch_to(
    session: Session,
    actor: Viewer | str,
    community_ids: list[str],
    *,
    template_id: int | None = None,
    text: str | None = None,
    minutes: int = 30,
    on: date | datetime | None = None,
    now: datetime | None = None,
) -> DispatchResult:
    """Send exactly ``community_ids`` (a dispatcher's filter result) one thing in one action:
    an admitted template's task for the current cycle (``template_id``), or an urgent
    instruction (``text``, due in ``minutes``). Audited as ``task.dispatch_selected``.

    A dispatcher with a restricted scope can send only inside it. Communities without an
    officer are skipped and counted; a template's item already sent this cycle is not sent
    again (``existing``).

    Returns
    -------
    DispatchResult
        created, existing, skipped_no_officer; ``item_ids`` of the urgent items created.

    Raises
    ------
    ValueError
        No communities, both or neither of template and text, an unknown or unadmitted
        template, an unknown community, or an invalid urgent text/minutes. Nothing is written.
    ScopeError
        A community outside the dispatcher's scope.
    """
    name = _actor(actor)
    ids = list(dict.fromkeys(str(c) for c in community_ids))
    if not ids:
        raise ValueError("communities: the filter selected no community; nothing to send")
    if (template_id is None) == (text is None):
        raise ValueError("what: give either a template (a task) or a text (an urgent instruction)")
    if not isinstance(actor, str):
        for cid in ids:
            actor.scope.check(cid)
    officer_of = dict(
        session.execute(
            select(Community.community_id, Community.officer_id).where(
                Community.community_id.in_(ids)
            )
        ).all()
    )
    unknown = [c for c in ids if c not in officer_of]
    if unknown:
        raise ValueError(f"communities: unknown community id(s) {unknown}")
    now = now or now_local()
    result = DispatchResult()
    if template_id is not None:
        tpl = session.get(TaskTemplate, int(template_id))
        if tpl is None or tpl.status is not TemplateStatus.ADMITTED:
            raise ValueError(f"template {template_id}: no admitted template with this id")
        period = period_of(tpl.cycle, on or now)
        result.templates, result.cycle_keys = 1, {period.key}
        _send_template(session, tpl, ids, period, name, now, officer_of, result)
        what = {"template_id": tpl.id, "cycle_key": period.key}
    else:
        _check_urgent(text, minutes)
        for cid in ids:
            if not officer_of.get(cid):
                result.skipped_no_officer += 1
                continue
            item = _urgent_item(session, name, cid, officer_of[cid], text, minutes, "filter", now)
            result.item_ids.append(item.id)
        result.created = len(result.item_ids)
        what = {"urgent": True, "minutes": minutes, "item_ids": result.item_ids}
    audit.log(
        session,
        actor=name,
        action="task.dispatch_selected",
        target=f"communities:{len(ids)}",
        detail={
            **what,
            "communities": ids,
            "created": result.created,
            "existing": result.existing,
            "skipped_no_officer": result.skipped_no_officer,
        },
    )
    db.bump_data_version(session)
    return result


# ---------------------------------------------------------------------------------------------
# Urgent instructions: where is it, whose is it
# ---------------------------------------------------------------------------------------------
def locate_point(session: Session, lon: float, lat: float) -> str:
    """The community containing (``lon``, ``lat``) (WGS84).

    A point on a border between communities belongs to the one with the smallest id, so the
    answer never depends on storage order. A point in no community raises ``ValueError``.
    """
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValueError(f"point: lon/lat must be numbers, got {lon!r}, {lat!r}") from None
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (
        -180 <= lon <= 180 and -90 <= lat <= 90
    ):
        raise ValueError(f"point: ({lon}, {lat}) is not a longitude/latitude pair")
    # The same point-in-polygon rule as the importer (fangcang.geo): borders go to the
    # smallest community id.
    polygons = geo.communities_frame(session)
    if polygons.empty:
        raise ValueError("point: the database has no communities")
    found = geo.place_points([lon], [lat], polygons)[0]
    if found is None:
        raise ValueError(
            f"point ({lon:.6f}, {lat:.6f}) is outside the district: no community contains it"
        )
    return str(found)


def locate_address(session: Session, address: str) -> str:
    """The community of a registered address (exact, else a unique partial match)."""
    address = (address or "").strip()
    if len(address) < 2:
        raise ValueError("address: give at least two characters")
    exact = set(session.scalars(select(House.community_id).where(House.address == address)))
    found = exact or set(
        session.scalars(
            select(House.community_id)
            .where(House.address.contains(address, autoescape=True))
            .limit(500)
        )
    )
    if not found:
        raise ValueError(f"address: {address!r} is not in the house register")
    if len(found) > 1:
        raise ValueError(
            f"address: {address!r} matches houses in {len(found)} communities; be more specific"
        )
    return found.pop()


def locate_community(session: Session, community: str) -> str:
    """A community by id or exact name."""
    community = (community or "").strip()
    if session.get(Community, community) is not None:
        return community
    ids = list(session.scalars(select(Community.community_id).where(Community.name == community)))
    if len(ids) == 1:
        return ids[0]
    if len(ids) > 1:
        raise ValueError(f"community: the name {community!r} is ambiguous ({len(ids)} communities)")
    raise ValueError(f"community: no community with id or name {community!r}")


def _check_urgent(text: str | None, minutes) -> str:
    """The urgent text, stripped; ``ValueError`` for a text or time limit out of range."""
    text = (text or "").strip()
    if len(text) < 4:
        raise ValueError("text: say what has to be done (at least 4 characters)")
    if len(text) > 1000:
        raise ValueError(f"text: at most 1000 characters, got {len(text)}")
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 1 <= minutes <= URGENT_MAX_MINUTES
    ):
        raise ValueError(f"minutes: must be a whole number 1-{URGENT_MAX_MINUTES}, got {minutes!r}")
    return text


def _urgent_item(
    session: Session,
    name: str,
    cid: str,
    officer_id: str,
    text: str,
    minutes: int,
    source: str,
    now: datetime,
    *,
    branch: Branch | str = Branch.PUBLIC_ORDER,
    lon: float | None = None,
    lat: float | None = None,
) -> TaskItem:
    title = text if len(text) <= 40 else text[:39] + "…"
    item = TaskItem(
        template_id=None,
        cycle_key=now.strftime("U%Y%m%d%H%M%S%f"),  # no template: the unique key ignores it
        community_id=cid,
        officer_id=officer_id,
        branch=Branch(branch),
        title=title,
        instructions=text,
        urgent=True,
        source=source,
        lon=lon,
        lat=lat,
        est_minutes=0,
        state=ItemState.DISPATCHED,
        dispatched_by=name,
        dispatched_at=now,
        deadline=now + timedelta(minutes=minutes),
        note="",
        returns=0,
    )
    session.add(item)
    session.flush()
    return item


def urgent_instruction(
    session: Session,
    actor: Viewer | str,
    *,
    text: str,
    minutes: int = 30,
    lon: float | None = None,
    lat: float | None = None,
    community: str | None = None,
    address: str | None = None,
    branch: Branch | str = Branch.PUBLIC_ORDER,
    now: datetime | None = None,
) -> TaskItem:
    """Create an urgent ad-hoc item for one community's officer, due in ``minutes``.

    Exactly one of (``lon``, ``lat``), ``community`` (id or name) or ``address`` says where.
    Audited as ``task.urgent``.
    """
    name = _actor(actor)
    text = _check_urgent(text, minutes)
    given = [lon is not None or lat is not None, community is not None, address is not None]
    if sum(given) != 1:
        raise ValueError(
            "where: give exactly one of a point (lon and lat), a community or an address"
        )
    if given[0]:
        if lon is None or lat is None:
            raise ValueError("point: give both lon and lat")
        cid, source = locate_point(session, lon, lat), "point"
    elif given[1]:
        cid, source = locate_community(session, community), "community"
    else:
        cid, source = locate_address(session, address), "address"
    officer_id = session.scalar(select(Community.officer_id).where(Community.community_id == cid))
    if not officer_id:
        raise ValueError(f"community {cid} has no responsible officer to send this to")
    item = _urgent_item(
        session,
        name,
        cid,
        officer_id,
        text,
        minutes,
        source,
        now or now_local(),
        branch=branch,
        lon=float(lon) if given[0] else None,
        lat=float(lat) if given[0] else None,
    )
    audit.log(
        session,
        actor=name,
        action="task.urgent",
        target=f"task:{item.id}",
        detail={"community_id": cid, "source": source, "minutes": minutes},
    )
    db.bump_data_version(session)
    return item
