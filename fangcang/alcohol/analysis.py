"""Alcohol-related incidents (涉酒警情): where (nearest patrol point, community), when (hour of
night, day of week), and whether they fell after patrol plans started.

- ``alcohol_incidents``: the alcohol-related incidents of a period inside a scope, each with
  its nearest patrol point when one lies within ``VENUE_DISTANCE_M`` (the venue it belongs to).
- ``hour_dow``, ``by_point``, ``by_community``: the counts the page draws.
- ``patrol_effect``: before/after the first patrol plan started in the scope's patrolled
  communities, with comparison communities, by the effect module's method
  (``fangcang.effect.focus_windows``, its comparison matching and ``measure_effect``: raw
  change, comparison change, difference-in-differences and a plain verdict).
- ``practice_summary``: the headline figures of the practice for a period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import effect
from ..access import Scope
from ..models import (
    AggIncidentDay,
    Community,
    Incident,
    IncidentCategory,
    PatrolPlan,
    PatrolPoint,
    Station,
)
from ..timeutil import Month
from .patrol import distance_m, points_frame

#: An incident belongs to the nearest patrol point within this distance (metres).
VENUE_DISTANCE_M = 300.0
#: Night hours (20:00 to 05:59), when alcohol incidents cluster.
NIGHT_HOURS = (20, 21, 22, 23, 0, 1, 2, 3, 4, 5)
INCIDENT_COLUMNS = [
    "incident_id",
    "occurred_at",
    "category",
    "community_id",
    "community",
    "station_id",
    "station",
    "lon",
    "lat",
    "hour",
    "dow",
    "point_id",
    "point_name",
    "point_distance_m",
]


def _day_bounds(first: date, last: date):
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


def alcohol_incidents(
    session: Session, scope: Scope, first: date, last: date, *, points: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Alcohol-related incidents that occurred between ``first`` and ``last`` (inclusive).

    Returns
    -------
    DataFrame
        ``INCIDENT_COLUMNS``; ``hour`` 0-23, ``dow`` 0 = Monday ... 6 = Sunday; ``point_*``
        empty when no patrol point lies within ``VENUE_DISTANCE_M``.
    """
    lo, hi = _day_bounds(first, last)
    rows = session.execute(
        select(
            Incident.incident_id,
            Incident.occurred_at,
            Incident.category,
            Incident.community_id,
            Community.name,
            Community.station_id,
            Station.name,
            Incident.lon,
            Incident.lat,
        )
        .join(Community, Community.community_id == Incident.community_id)
        .join(Station, Station.station_id == Community.station_id)
        .where(
            Incident.alcohol_related.is_(True),
            Incident.occurred_at >= lo,
            Incident.occurred_at < hi,
            scope.clause(Incident.community_id),
        )
        .order_by(Incident.occurred_at)
    ).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=INCIDENT_COLUMNS[:9])
    df["category"] = df["category"].map(lambda c: IncidentCategory(c).value)
    times = pd.to_datetime(df["occurred_at"])
    df["hour"] = times.dt.hour.astype(int)
    df["dow"] = times.dt.day_of_week.astype(int)
    pts = points_frame(session, scope) if points is None else points
    df["point_id"], df["point_name"], df["point_distance_m"] = None, None, np.nan
    has_pos = df["lon"].notna() & df["lat"].notna()
    if len(pts) and has_pos.any():
        sub = df[has_pos]
        d = distance_m(
            sub["lon"].to_numpy()[:, None],
            sub["lat"].to_numpy()[:, None],
            pts["lon"].to_numpy()[None, :],
            pts["lat"].to_numpy()[None, :],
        )
        best = d.argmin(axis=1)
        best_d = d[np.arange(len(sub)), best]
        near = best_d <= VENUE_DISTANCE_M
        idx = sub.index[near]
        df.loc[idx, "point_id"] = pts["point_id"].to_numpy()[best[near]]
        df.loc[idx, "point_name"] = pts["name"].to_numpy()[best[near]]
        df.loc[idx, "point_distance_m"] = best_d[near].round(0)
    return df


def hour_dow(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as a 7 x 24 table: index dow (0 = Monday), columns hour 0-23."""
    table = pd.crosstab(frame["dow"], frame["hour"]) if len(frame) else pd.DataFrame()
    return table.reindex(index=range(7), columns=range(24), fill_value=0).astype(int)


def by_hour(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts by hour of day, night hours flagged: hour, n, night."""
    counts = frame["hour"].value_counts().reindex(range(24), fill_value=0)
    return pd.DataFrame(
        {"hour": range(24), "n": counts.to_numpy(), "night": [h in NIGHT_HOURS for h in range(24)]}
    )


def by_point(frame: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Incidents per patrol point (every point, zero included), most first."""
    counts = frame["point_id"].dropna().value_counts()
    out = points[["point_id", "name", "community"]].copy()
    out["incidents"] = out["point_id"].map(counts).fillna(0).astype(int)
    return out.sort_values(["incidents", "point_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def by_community(frame: pd.DataFrame) -> pd.DataFrame:
    """Incidents per community (with station), most first; ``near_point`` = within reach of a
    patrol point."""
    if frame.empty:
        return pd.DataFrame(
            columns=["community_id", "community", "station", "incidents", "near_point"]
        )
    g = frame.groupby(["community_id", "community", "station"], sort=False)
    out = g.agg(incidents=("incident_id", "size"), near_point=("point_id", "count")).reset_index()
    return out.sort_values(["incidents", "community_id"], ascending=[False, True]).reset_index(
        drop=True
    )


# ---------------------------------------------------------------------------------------------
# Before / after patrol plans start
# ---------------------------------------------------------------------------------------------
@dataclass
class PatrolEffect:
    start: date  # the first plan's first day
    windows: effect.Windows
    communities: list[str]  # patrolled communities (pooled)
    comparisons: list[str]  # comparison communities (pooled)
    before: int
    after: int
    result: effect.MeasureEffect


def _alcohol_by_community(session: Session, first: Month, last: Month) -> dict[str, int]:
    q = (
        select(AggIncidentDay.community_id, func.sum(AggIncidentDay.n_alcohol))
        .where(AggIncidentDay.day >= first.first_day, AggIncidentDay.day <= last.last_day)
        .group_by(AggIncidentDay.community_id)
    )
    return {cid: int(n or 0) for cid, n in session.execute(q)}


def patrol_effect(
    session: Session,
    scope: Scope,
    *,
    months: int = 6,
    as_of: Month | None = None,
    n_matches: int = 5,
) -> PatrolEffect | None:
    """Alcohol incidents before and after patrol plans started, against comparison communities.

    The patrolled communities (those inside ``scope`` with a patrol point) are pooled; the
    first plan's ``starts_on`` is the start. Windows follow ``effect.focus_windows``; comparison
    communities are communities anywhere without a patrol point, matched on the alcohol rate
    per 1,000 residents in the before window by the effect module's matching (no warning
    levels); ``effect.measure_effect`` gives the raw change, the comparison change, the DiD and
    the verdict. Counts come from ``agg_incident_day.n_alcohol``.

    Returns None when no plan has started in a patrolled community or no month has ended
    since.
    """
    rows = session.execute(
        select(PatrolPoint.community_id, func.min(PatrolPlan.starts_on))
        .join(PatrolPlan, PatrolPlan.point_id == PatrolPoint.point_id)
        .where(scope.clause(PatrolPoint.community_id))
        .group_by(PatrolPoint.community_id)
    ).all()
    if not rows:
        return None
    start = min(r[1] for r in rows)
    focal = sorted({r[0] for r in rows})
    as_of = as_of or effect.latest_data_month(session)
    if as_of is None:
        return None
    try:
        w = effect.focus_windows(start, months, as_of)
    except ValueError:
        return None
    before = _alcohol_by_community(session, w.before_first, w.before_last)
    after = _alcohol_by_community(session, w.after_first, w.after_last)
    residents = effect.residents_by_community(session)
    patrolled = set(session.scalars(select(PatrolPoint.community_id).distinct()))
    all_ids = sorted(session.scalars(select(Community.community_id)))
    rates = {
        cid: 1000.0 * before.get(cid, 0) / residents[cid]
        for cid in all_ids
        if residents.get(cid) and cid not in patrolled
    }
    f_res = sum(residents.get(c, 0) for c in focal)
    f_before = sum(before.get(c, 0) for c in focal)
    f_after = sum(after.get(c, 0) for c in focal)
    key = "__patrolled__"
    picked = []
    if f_res:
        rates[key] = 1000.0 * f_before / f_res
        candidates = [c for c in rates if c != key]
        picked = [
            c for c, _ in effect.match_comparisons(key, candidates, rates, None, n_matches, 1)
        ]
    comps = [(before.get(c, 0), after.get(c, 0)) for c in picked]
    result = effect.measure_effect("alcohol", f_before, f_after, comps)
    return PatrolEffect(start, w, focal, picked, f_before, f_after, result)
