"""How well is the work done (干得怎么样): rates by any grouping, overdue items, scorecards.

Definitions (items dispatched in the period ``[start, end)``; ``now`` decides overdue):

- ``completion_rate`` = completed / items, where completed = fed back or evaluated (an item
  rated unqualified is returned and no longer completed until it is fed back again);
- ``on_time_rate`` = completed with ``fed_back_at <= deadline`` / completed;
- ``excellent_rate`` = latest rating excellent / items rated; ``qualified_rate`` = excellent or
  qualified / items rated; ``unqualified_rate`` = latest rating unqualified / items rated;
- ``overdue`` = open (dispatched, accepted, returned) items past their deadline at ``now``;
- ``returned`` = items returned at least once.

Rates are fractions 0-1 and ``NaN`` when their denominator is zero.

Size: 507 lines because it holds the one definition of each task rate (completed, on time, overdue,
rated) and every view of them (rates, scorecards, community, urgent board) reads ``item_facts`` or
the same states.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..access import Role, Scope, Viewer
from ..models import Community, Officer, Station, SubDistrict
from ..models.tasks import ItemState, Rating, TaskItem
from ..timeutil import Month, now_local
from .items import DONE_STATES, OPEN_STATES, visible_clause

#: Grouping name -> (key columns, label column).
GROUPS = {
    "officer": (["officer_id"], "officer_name"),
    "community": (["community_id"], "community_name"),
    "station": (["station_id"], "station_name"),
    "sub_district": (["sub_district_code"], "sub_district_name"),
    "branch": (["branch"], "branch"),
    "template": (["template_key"], "title"),
}
RATE_COLUMNS = [
    "items",
    "completed",
    "completion_rate",
    "on_time",
    "on_time_rate",
    "rated",
    "excellent",
    "qualified",
    "unqualified",
    "excellent_rate",
    "qualified_rate",
    "unqualified_rate",
    "returned",
    "overdue",
]


def _check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValueError(f"period: end ({end}) must be after start ({start})")


def _where_viewer(q, who: Viewer | Scope):
    # Duck-typed: a UI may hold a Viewer made before a module reload (isinstance would fail).
    if hasattr(who, "role"):
        return q.where(visible_clause(who))
    return q.where(who.clause(TaskItem.community_id))


def item_facts(
    session: Session,
    who: Viewer | Scope,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    """One row per item dispatched in ``[start, end)`` that ``who`` may see, with the flags the
    rates add up (completed, on_time, rating flags, overdue) and the grouping labels."""
    _check_period(start, end)
    now = now or now_local()
    q = (
        select(
            TaskItem.id,
            TaskItem.template_id,
            TaskItem.title,
            TaskItem.branch,
            TaskItem.community_id,
            Community.name,
            Community.station_id,
            Station.name,
            Community.sub_district_code,
            SubDistrict.name,
            TaskItem.officer_id,
            Officer.name,
            TaskItem.state,
            TaskItem.deadline,
            TaskItem.fed_back_at,
            TaskItem.rating,
            TaskItem.returns,
            TaskItem.urgent,
            TaskItem.dispatched_at,
        )
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Station, Station.station_id == Community.station_id)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(TaskItem.dispatched_at >= start, TaskItem.dispatched_at < end)
    )
    # Plain tuples: pandas builds a frame from them far faster than from Row objects.
    rows = [tuple(r) for r in session.execute(_where_viewer(q, who))]
    cols = [
        "id",
        "template_id",
        "title",
        "branch",
        "community_id",
        "community_name",
        "station_id",
        "station_name",
        "sub_district_code",
        "sub_district_name",
        "officer_id",
        "officer_name",
        "state",
        "deadline",
        "fed_back_at",
        "rating",
        "returns",
        "urgent",
        "dispatched_at",
    ]
    df = pd.DataFrame(rows, columns=cols)
    for col in ("state", "rating", "branch"):
        df[col] = df[col].map(lambda v: getattr(v, "value", v)).astype(object)
    done = {s.value for s in DONE_STATES}
    open_ = {s.value for s in OPEN_STATES}
    df["completed"] = df["state"].isin(done)
    fed = pd.to_datetime(df["fed_back_at"])
    df["on_time"] = df["completed"] & (fed <= pd.to_datetime(df["deadline"])).fillna(False)
    df["rated"] = df["rating"].notna()
    for r in Rating:
        df[r.value] = df["rating"] == r.value
    df["returned"] = df["returns"] > 0
    df["overdue"] = df["state"].isin(open_) & (pd.to_datetime(df["deadline"]) < now)
    df["template_key"] = df["template_id"].map(lambda v: "urgent" if pd.isna(v) else str(int(v)))
    return df


def _summarise(g: pd.DataFrame | pd.core.groupby.DataFrameGroupBy) -> pd.DataFrame:
    agg = g.agg(
        items=("id", "size"),
        completed=("completed", "sum"),
        on_time=("on_time", "sum"),
        rated=("rated", "sum"),
        excellent=("excellent", "sum"),
        qualified=("qualified", "sum"),
        unqualified=("unqualified", "sum"),
        returned=("returned", "sum"),
        overdue=("overdue", "sum"),
    )
    out = agg.astype(int)

    def ratio(a, b):
        return np.where(out[b] > 0, out[a] / out[b].where(out[b] > 0, 1), np.nan)

    out["completion_rate"] = ratio("completed", "items")
    out["on_time_rate"] = ratio("on_time", "completed")
    out["excellent_rate"] = ratio("excellent", "rated")
    out["qualified_rate"] = np.where(
        out["rated"] > 0,
        (out["excellent"] + out["qualified"]) / out["rated"].where(out["rated"] > 0, 1),
        np.nan,
    )
    out["unqualified_rate"] = ratio("unqualified", "rated")
    return out[RATE_COLUMNS]


def rates(
    session: Session,
    who: Viewer | Scope,
    start: datetime,
    end: datetime,
    by: str = "officer",
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Completion, on-time and rating rates for items dispatched in ``[start, end)``.

    Parameters
    ----------
    who : Viewer or Scope
        An officer sees their own items; others their scope's communities.
    by : str
        officer, community, station, sub_district, branch, template or ``total``.

    Returns
    -------
    DataFrame
        ``key``, ``label`` and ``RATE_COLUMNS`` (see the module notes), most items first.
    """
    df = item_facts(session, who, start, end, now=now)
    if by == "total":
        if df.empty:
            return pd.DataFrame(columns=["key", "label", *RATE_COLUMNS])
        out = _summarise(df.assign(_all="all").groupby("_all"))
        return out.reset_index(names="key").assign(label="all")[["key", "label", *RATE_COLUMNS]]
    if by not in GROUPS:
        raise ValueError(f"by: {by!r} is not one of {sorted(GROUPS) + ['total']}")
    keys, label = GROUPS[by]
    if df.empty:
        return pd.DataFrame(columns=["key", "label", *RATE_COLUMNS])
    out = _summarise(df.groupby(keys[0]))
    labels = df.groupby(keys[0])[label].first()
    out.insert(0, "label", labels)
    out = out.reset_index(names="key")
    return out.sort_values(["items", "key"], ascending=[False, True]).reset_index(drop=True)


def overdue_items(
    session: Session,
    who: Viewer | Scope,
    *,
    now: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Open items past their deadline at ``now``, longest overdue first.

    ``start``/``end`` keep items dispatched in ``[start, end)`` (the period a page shows, so
    the list agrees with the rates' ``overdue`` column); without them, any dispatch date.
    """
    now = now or now_local()
    if start is not None and end is not None:
        _check_period(start, end)
    q = (
        select(
            TaskItem.id,
            TaskItem.urgent,
            TaskItem.branch,
            TaskItem.title,
            TaskItem.community_id,
            Community.name,
            TaskItem.officer_id,
            Officer.name,
            TaskItem.state,
            TaskItem.dispatched_at,
            TaskItem.deadline,
        )
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(TaskItem.state.in_(OPEN_STATES), TaskItem.deadline < now)
        .order_by(TaskItem.deadline, TaskItem.id)
    )
    if start is not None:
        q = q.where(TaskItem.dispatched_at >= start)
    if end is not None:
        q = q.where(TaskItem.dispatched_at < end)
    if limit:
        q = q.limit(limit)
    # Plain tuples: pandas builds a frame from them far faster than from Row objects.
    rows = [tuple(r) for r in session.execute(_where_viewer(q, who))]
    df = pd.DataFrame(
        rows,
        columns=[
            "id",
            "urgent",
            "branch",
            "title",
            "community_id",
            "community_name",
            "officer_id",
            "officer_name",
            "state",
            "dispatched_at",
            "deadline",
        ],
    )
    for col in ("branch", "state"):
        df[col] = df[col].map(lambda v: getattr(v, "value", v))
    df["hours_overdue"] = ((now - pd.to_datetime(df["deadline"])).dt.total_seconds() / 3600).round(
        1
    )
    return df


def monthly_scorecard(
    session: Session, who: Viewer | Scope, month: Month, *, now: datetime | None = None
) -> pd.DataFrame:
    """Per-officer scorecard for items dispatched in ``month`` (a downloadable table).

    Columns: month, officer_id, officer_name, station_name and ``RATE_COLUMNS``.
    """
    df = item_facts(session, who, month.start, month.end, now=now)
    cols = ["month", "officer_id", "officer_name", "station_name", *RATE_COLUMNS]
    if df.empty:
        return pd.DataFrame(columns=cols)
    out = _summarise(df.groupby("officer_id"))
    first = df.groupby("officer_id")[["officer_name", "station_name"]].first()
    out = first.join(out).reset_index()
    out.insert(0, "month", str(month))
    return out[cols].sort_values(["station_name", "officer_id"]).reset_index(drop=True)


def _completion_select(start: datetime, end: datetime, scope: Scope, now: datetime, *keys):
    """Items dispatched in ``[start, end)`` in ``scope`` (the joins ``item_facts`` uses):
    count, completed, completed on time and overdue at ``now``, grouped by ``keys`` if any."""
    _check_period(start, end)
    done = TaskItem.state.in_(list(DONE_STATES))
    overdue = TaskItem.state.in_(list(OPEN_STATES)) & (TaskItem.deadline < now)
    q = (
        select(
            *keys,
            func.count(),
            func.sum(case((done, 1), else_=0)),
            func.sum(case((done & (TaskItem.fed_back_at <= TaskItem.deadline), 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .select_from(TaskItem)
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Station, Station.station_id == Community.station_id)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(TaskItem.dispatched_at >= start, TaskItem.dispatched_at < end)
        .where(scope.clause(TaskItem.community_id))
    )
    return q.group_by(*keys) if keys else q


def completion_totals(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """``completion_by_community``'s items, completed and overdue summed over ``scope`` (the
    same items, joins and states) in one ungrouped query: ``{"items", "completed",
    "overdue"}`` (zeros when nothing was dispatched in ``[start, end)``)."""
    q = _completion_select(start, end, scope or Scope.district(), now or now_local())
    items, completed, _on_time, overdue = session.execute(q).one()
    return {
        "items": int(items or 0),
        "completed": int(completed or 0),
        "overdue": int(overdue or 0),
    }


def completion_by_community(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope | None = None,
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Task completion of every community in ``scope`` for items dispatched in ``[start, end)``
    (for the map colouring and the community page).

    Returns
    -------
    DataFrame
        community_id, name, items, completed, completion_rate (NaN without items),
        on_time_rate, overdue; one row per community in scope (items 0 when none).
    """
    scope = scope or Scope.district()
    # One grouped query (the items item_facts would list, same joins), not a frame of every
    # item: the overview's cold run spent ~0.2 s building and grouping that frame.
    q = _completion_select(start, end, scope, now or now_local(), TaskItem.community_id)
    agg = pd.DataFrame(
        [tuple(r) for r in session.execute(q)],
        columns=["community_id", "items", "completed", "on_time", "overdue"],
    )
    comm = pd.DataFrame(
        session.execute(
            select(Community.community_id, Community.name)
            .where(scope.clause(Community.community_id))
            .order_by(Community.community_id)
        ).all(),
        columns=["community_id", "name"],
    )
    cols = [
        "community_id",
        "name",
        "items",
        "completed",
        "completion_rate",
        "on_time_rate",
        "overdue",
    ]
    if agg.empty:
        out = comm.assign(
            items=0, completed=0, completion_rate=np.nan, on_time_rate=np.nan, overdue=0
        )
        return out[cols]
    agg = agg.set_index("community_id").astype(int)
    items, completed = agg["items"], agg["completed"]
    agg["completion_rate"] = np.where(items > 0, completed / items.where(items > 0, 1), np.nan)
    agg["on_time_rate"] = np.where(
        completed > 0, agg["on_time"] / completed.where(completed > 0, 1), np.nan
    )
    agg = agg[["items", "completed", "completion_rate", "on_time_rate", "overdue"]]
    out = comm.merge(agg, left_on="community_id", right_index=True, how="left")
    for col in ("items", "completed", "overdue"):
        out[col] = out[col].fillna(0).astype(int)
    return out[cols]


def community_tasks(
    session: Session,
    community_id: str,
    scope: Scope,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> pd.DataFrame:
    """The community's recent items, newest first (for the community page).

    Raises ``ScopeError`` when the community is outside ``scope``.
    """
    from .items import items_frame

    scope.check(community_id)
    viewer = Viewer(username="community-page", role=Role.LEADER, scope=scope)
    df = items_frame(session, viewer, community_id=community_id, now=now, limit=limit)
    return df[
        [
            "id",
            "urgent",
            "branch",
            "title",
            "officer_id",
            "state",
            "dispatched_at",
            "deadline",
            "fed_back_at",
            "rating",
            "overdue",
        ]
    ]


#: An open urgent item more than this long past its deadline leaves the live board for the
#: history (it needs following up, not watching).
URGENT_STALE_HOURS = 24


def _urgent_frame(session: Session, who: Viewer | Scope, q, now: datetime) -> pd.DataFrame:
    # Plain tuples: pandas builds a frame from them far faster than from Row objects.
    rows = [tuple(r) for r in session.execute(_where_viewer(q, who))]
    df = pd.DataFrame(
        rows,
        columns=[
            "id",
            "title",
            "community_id",
            "community_name",
            "officer_id",
            "officer_name",
            "state",
            "dispatched_at",
            "accepted_at",
            "deadline",
            "fed_back_at",
            "source",
        ],
    )
    df["state"] = df["state"].map(lambda v: getattr(v, "value", v))
    df["minutes_since"] = (
        (now - pd.to_datetime(df["dispatched_at"])).dt.total_seconds() // 60
    ).astype(int)
    df["acknowledged"] = df["accepted_at"].notna() | (df["state"] != ItemState.DISPATCHED.value)
    df["overdue"] = df["state"].isin([s.value for s in OPEN_STATES]) & (
        pd.to_datetime(df["deadline"]) < now
    )
    return df


def _urgent_select():
    return (
        select(
            TaskItem.id,
            TaskItem.title,
            TaskItem.community_id,
            Community.name,
            TaskItem.officer_id,
            Officer.name,
            TaskItem.state,
            TaskItem.dispatched_at,
            TaskItem.accepted_at,
            TaskItem.deadline,
            TaskItem.fed_back_at,
            TaskItem.source,
        )
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(TaskItem.urgent.is_(True))
        .order_by(TaskItem.dispatched_at.desc(), TaskItem.id.desc())
    )


def urgent_board(
    session: Session,
    who: Viewer | Scope,
    *,
    now: datetime | None = None,
    stale_hours: int = URGENT_STALE_HOURS,
) -> pd.DataFrame:
    """The live urgent board: open urgent items not more than ``stale_hours`` past their
    deadline, newest first, with minutes since dispatch and whether the officer acknowledged.
    Handled items and older open ones are in ``urgent_history``."""
    now = now or now_local()
    q = _urgent_select().where(
        TaskItem.state.in_(OPEN_STATES),
        TaskItem.deadline >= now - timedelta(hours=stale_hours),
    )
    return _urgent_frame(session, who, q, now)


def urgent_history(
    session: Session,
    who: Viewer | Scope,
    *,
    now: datetime | None = None,
    days: int = 30,
    stale_hours: int = URGENT_STALE_HOURS,
) -> pd.DataFrame:
    """Urgent items dispatched in the last ``days`` days that left the live board: handled
    (fed back or evaluated) or open and more than ``stale_hours`` past their deadline.
    Columns as ``urgent_board`` plus ``fed_back_at``; newest first."""
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days: must be a positive whole number, got {days!r}")
    now = now or now_local()
    stale = TaskItem.state.in_(OPEN_STATES) & (
        TaskItem.deadline < now - timedelta(hours=stale_hours)
    )
    q = _urgent_select().where(
        TaskItem.dispatched_at >= now - timedelta(days=days),
        TaskItem.state.in_(DONE_STATES) | stale,
    )
    return _urgent_frame(session, who, q, now)


def task_months(session: Session, *, now: datetime | None = None) -> list[Month]:
    """Months from the first dispatched item to the current month, newest first."""
    from sqlalchemy import func

    now = now or now_local()
    first = session.scalar(select(func.min(TaskItem.dispatched_at)))
    last = Month.of(now)
    start = Month.of(first) if first else last
    out, m = [], last
    while m >= start:
        out.append(m)
        m = m.shift(-1)
    return out
