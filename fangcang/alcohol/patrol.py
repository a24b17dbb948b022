"""Patrol points, plans and check-ins (精密智巡): validation, planned slots, gaps and coverage.

Rules
-----
- A plan puts one patrol unit at one point on some days of the week (ISO: 1 = Monday ...
  7 = Sunday) in a time window ``start_time``..``end_time``; an end before the start means the
  window runs past midnight (``21:00``..``02:00`` on a Friday ends on Saturday at 02:00). Both
  ends are inclusive. The plan runs from ``starts_on`` to ``ends_on`` (open when empty).
- A *planned slot* is one window of one plan on one day. It is *made* when a valid check-in of
  the plan's unit at the plan's point falls in it, and *missed* (a gap) when the window has
  ended without one. Windows not ended yet are neither.
- A check-in is ``valid`` when the position is within the point's radius (great-circle
  distance, haversine on a sphere of the mean Earth radius) and the time falls in a window of
  a plan of the same point and unit; otherwise it is ``outside_radius`` (checked first: the
  position is the stronger evidence) or ``outside_window``. Invalid check-ins are kept, with
  their reason, and count for nothing.
- Coverage is the share of planned slots made, by point, unit or ISO week.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Scope, ScopeError, Viewer
from ..models import CheckinStatus, Community, PatrolCheckin, PatrolPlan, PatrolPoint
from ..timeutil import now_local

log = logging.getLogger(__name__)

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
#: Accepted point radius, metres.
RADIUS_RANGE = (10, 2000)
#: A phone clock may run a little ahead of the server's.
FUTURE_SKEW = timedelta(minutes=5)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")
_DAILY = {"daily", "every day", "每天", "每日", "全周", "1-7"}
_ZH_DAYS = dict(zip("一二三四五六日", "1234567", strict=True)) | {"天": "7"}


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (haversine; arrays broadcast)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def parse_days(text: str) -> str:
    """Days of the week as sorted ISO digits: ``"5,6,7"``, ``"1-5"``, ``"每天"``, ``"周五,周六"``.

    Raises ``ValueError`` for anything else.
    """
    raw = str(text or "").strip().casefold()
    if not raw:
        raise ValueError("no days given")
    if raw in _DAILY:
        return "1234567"
    out: set[int] = set()
    for part in re.split(r"[,，、;；\s]+", raw):
        if not part:
            continue
        part = re.sub(r"^(周|星期)", "", part)
        part = "".join(_ZH_DAYS.get(c, c) for c in part)
        part = part.replace("至", "-").replace("~", "-")
        part = re.sub(r"-(周|星期)", "-", part)
        m = re.fullmatch(r"([1-7])(?:-([1-7]))?", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if hi < lo:
                raise ValueError(f"day range {part!r} runs backwards")
            out.update(range(lo, hi + 1))
        elif re.fullmatch(r"[1-7]+", part):
            out.update(int(c) for c in part)
        else:
            raise ValueError(f"{part!r} is not a day of the week (1 = Monday ... 7 = Sunday)")
    return "".join(str(d) for d in sorted(out))


def parse_hhmm(text: str) -> str:
    """``"9:05"`` -> ``"09:05"``; ``ValueError`` unless a time of day HH:MM."""
    m = _HHMM.match(str(text or "").strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _clock(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h), int(m))


@dataclass(frozen=True)
class PlanRule:
    """A plan as plain values (what window arithmetic needs)."""

    plan_id: str
    point_id: str
    unit: str
    days: str
    start_time: str
    end_time: str
    starts_on: date
    ends_on: date | None

    @classmethod
    def of(cls, plan: PatrolPlan) -> PlanRule:
        return cls(
            plan.plan_id,
            plan.point_id,
            plan.unit,
            plan.days,
            plan.start_time,
            plan.end_time,
            plan.starts_on,
            plan.ends_on,
        )

    def runs_on(self, day: date) -> bool:
        if day < self.starts_on or (self.ends_on is not None and day > self.ends_on):
            return False
        return str(day.isoweekday()) in self.days

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The window that starts on ``day`` (whether or not the plan runs that day)."""
        start = datetime.combine(day, _clock(self.start_time))
        end = datetime.combine(day, _clock(self.end_time))
        if end < start:
            end += timedelta(days=1)
        return start, end

    def slot_day(self, at: datetime) -> date | None:
        """The day whose window contains ``at`` (that day or the day before), or None."""
        for day in (at.date(), at.date() - timedelta(days=1)):
            if self.runs_on(day):
                start, end = self.window(day)
                if start <= at <= end:
                    return day
        return None


def _rules(session: Session, point_ids) -> list[PlanRule]:
    plans = session.scalars(select(PatrolPlan).where(PatrolPlan.point_id.in_(list(point_ids))))
    return [PlanRule.of(p) for p in plans]


def classify(
    point: PatrolPoint, rules: list[PlanRule], unit: str, at: datetime, lon: float, lat: float
) -> tuple[CheckinStatus, str | None, float]:
    """Validate one check-in: ``(status, plan_id or None, distance in metres)``."""
    dist = float(distance_m(point.lon, point.lat, lon, lat))
    plan_id = None
    for rule in rules:
        if rule.point_id == point.point_id and rule.unit == unit and rule.slot_day(at):
            plan_id = rule.plan_id
            break
    if dist > point.radius_m:
        return CheckinStatus.OUTSIDE_RADIUS, plan_id, dist
    if plan_id is None:
        return CheckinStatus.OUTSIDE_WINDOW, None, dist
    return CheckinStatus.VALID, plan_id, dist


def record_checkin(
    session: Session,
    viewer: Viewer,
    *,
    point_id: str,
    unit: str,
    lon: float,
    lat: float,
    at: datetime | None = None,
    accuracy_m: float | None = None,
    source: str = "phone",
) -> PatrolCheckin:
    """Record one check-in sent from a phone (the caller commits); audited.

    The check-in is kept whatever its status; ``status`` says whether it counts.

    Raises
    ------
    ScopeError
        The point lies outside the viewer's jurisdiction (or does not exist: outsiders learn
        nothing about points elsewhere).
    ValueError
        No position, a position outside mainland China's range, an empty unit, a future time.
    """
    point = session.get(PatrolPoint, point_id)
    if point is None or not viewer.scope.allows(point.community_id):
        raise ScopeError(f"patrol point {point_id!r} is outside your jurisdiction")
    if lon is None or lat is None or not (73 <= lon <= 136 and 3 <= lat <= 54):
        raise ValueError(f"position ({lon}, {lat}) is not a WGS84 position in China")
    unit = (unit or "").strip()
    if not unit:
        raise ValueError("unit: which patrol unit is checking in?")
    now = now_local()
    at = at or now
    if at > now + FUTURE_SKEW:
        raise ValueError(f"check-in time {at:%Y-%m-%d %H:%M} is in the future")
    status, plan_id, dist = classify(point, _rules(session, [point_id]), unit, at, lon, lat)
    row = PatrolCheckin(
        point_id=point_id,
        community_id=point.community_id,
        plan_id=plan_id,
        unit=unit,
        officer_id=viewer.officer_id,
        checked_at=at,
        lon=float(lon),
        lat=float(lat),
        accuracy_m=None if accuracy_m is None else float(accuracy_m),
        distance_m=round(dist, 1),
        status=status,
        source=source,
        recorded_by=viewer.username,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.log(
        session,
        actor=viewer.username,
        action="patrol.checkin",
        target=f"point:{point_id}",
        detail={"status": status.value, "distance_m": round(dist, 1), "unit": unit},
    )
    db.bump_data_version(session)
    return row


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
POINT_COLUMNS = ["point_id", "name", "community_id", "community", "lon", "lat", "radius_m"]


def points_frame(session: Session, scope: Scope) -> pd.DataFrame:
    """Patrol points inside ``scope`` with their community's name, ordered by id."""
    rows = session.execute(
        select(
            PatrolPoint.point_id,
            PatrolPoint.name,
            PatrolPoint.community_id,
            Community.name,
            PatrolPoint.lon,
            PatrolPoint.lat,
            PatrolPoint.radius_m,
        )
        .join(Community, Community.community_id == PatrolPoint.community_id, isouter=True)
        .where(scope.clause(PatrolPoint.community_id))
        .order_by(PatrolPoint.point_id)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=POINT_COLUMNS)


def plans_frame(session: Session, scope: Scope) -> pd.DataFrame:
    """Plans of the points inside ``scope``."""
    cols = ["plan_id", "point_id", "unit", "days", "start_time", "end_time", "starts_on", "ends_on"]
    rows = session.execute(
        select(*(getattr(PatrolPlan, c) for c in cols))
        .join(PatrolPoint, PatrolPoint.point_id == PatrolPlan.point_id)
        .where(scope.clause(PatrolPoint.community_id))
        .order_by(PatrolPlan.plan_id)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def checkins_frame(
    session: Session, scope: Scope, first: date | None = None, last: date | None = None
) -> pd.DataFrame:
    """Check-ins inside ``scope`` (optionally between two days, inclusive), newest first."""
    cols = [
        "id",
        "point_id",
        "plan_id",
        "unit",
        "officer_id",
        "checked_at",
        "lon",
        "lat",
        "distance_m",
        "status",
        "source",
    ]
    q = select(*(getattr(PatrolCheckin, c) for c in cols)).where(
        scope.clause(PatrolCheckin.community_id)
    )
    if first is not None:
        q = q.where(PatrolCheckin.checked_at >= datetime.combine(first, time()))
    if last is not None:
        q = q.where(PatrolCheckin.checked_at < datetime.combine(last + timedelta(days=1), time()))
    rows = session.execute(q.order_by(PatrolCheckin.checked_at.desc())).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    df["status"] = df["status"].map(lambda s: CheckinStatus(s).value)
    return df


def recent_checkins(
    session: Session, scope: Scope, officer_id: str | None, first: date, limit: int = 10
) -> pd.DataFrame:
    """One officer's latest check-ins inside ``scope`` from day ``first`` on, newest first.

    Returns
    -------
    DataFrame
        At most ``limit`` rows, columns as ``checkins_frame``; empty for a viewer who is not
        an officer (``officer_id`` None).

    Raises
    ------
    ValueError
        ``limit`` is not positive.
    """
    if int(limit) <= 0:
        raise ValueError(f"recent_checkins: limit must be > 0, got {limit}")
    df = checkins_frame(session, scope, first=first)
    return df[df["officer_id"] == officer_id].head(int(limit)).reset_index(drop=True)


SLOT_COLUMNS = ["plan_id", "point_id", "unit", "day", "start", "end", "week", "made", "checkin_id"]


def slots(
    session: Session,
    scope: Scope,
    first: date,
    last: date,
    *,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Every planned slot that starts between ``first`` and ``last`` (inclusive) and has ended
    by ``as_of`` (default now), with whether it was made.

    Returns
    -------
    DataFrame
        plan_id, point_id, unit, day, start, end, week (ISO ``YYYY-Www``), made (bool),
        checkin_id (the first valid check-in in the window, or None).
    """
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    as_of = as_of or now_local()
    plans = plans_frame(session, scope)
    rules = [PlanRule(*r) for r in plans.itertuples(index=False)]
    rows = []
    for rule in rules:
        day = max(first, rule.starts_on)
        stop = min(last, rule.ends_on) if rule.ends_on else last
        while day <= stop:
            if rule.runs_on(day):
                start, end = rule.window(day)
                if end <= as_of:
                    rows.append((rule.plan_id, rule.point_id, rule.unit, day, start, end))
            day += timedelta(days=1)
    out = pd.DataFrame(rows, columns=SLOT_COLUMNS[:6])
    out["week"] = [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in out["day"]]
    made: dict[tuple[str, date], int] = {}
    if len(out):
        valid = session.execute(
            select(PatrolCheckin.id, PatrolCheckin.plan_id, PatrolCheckin.checked_at)
            .where(
                scope.clause(PatrolCheckin.community_id),
                PatrolCheckin.status == CheckinStatus.VALID,
                PatrolCheckin.checked_at >= datetime.combine(first, time()),
                PatrolCheckin.checked_at < datetime.combine(last + timedelta(days=2), time()),
            )
            .order_by(PatrolCheckin.checked_at)
        ).all()
        by_id = {r.plan_id: r for r in rules}
        for cid, plan_id, at in valid:
            rule = by_id.get(plan_id)
            day = rule.slot_day(at) if rule else None
            if day is not None:
                made.setdefault((plan_id, day), cid)
    keys = list(zip(out["plan_id"], out["day"], strict=True))
    out["checkin_id"] = [made.get(k) for k in keys]
    out["made"] = out["checkin_id"].notna()
    return out


def gaps(slot_frame: pd.DataFrame) -> pd.DataFrame:
    """The missed planned check-ins (slots ended without a valid check-in), newest first."""
    missed = slot_frame[~slot_frame["made"]]
    return missed.sort_values("start", ascending=False).reset_index(drop=True)


def coverage(slot_frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of planned slots made, grouped ``by`` ``point_id``, ``unit`` or ``week``.

    Returns columns ``[by, planned, made, missed, coverage]`` (coverage 0..1).
    """
    if by not in ("point_id", "unit", "week", "plan_id"):
        raise ValueError(f"by must be point_id, unit, week or plan_id, got {by!r}")
    if slot_frame.empty:
        return pd.DataFrame(columns=[by, "planned", "made", "missed", "coverage"])
    g = slot_frame.groupby(by, sort=True)["made"]
    out = pd.DataFrame({"planned": g.size(), "made": g.sum().astype(int)}).reset_index()
    out["missed"] = out["planned"] - out["made"]
    out["coverage"] = out["made"] / out["planned"]
    return out


def nearest_points(points: pd.DataFrame, lon: float | None, lat: float | None) -> pd.DataFrame:
    """``points`` with ``distance_m`` from a position, nearest first (unchanged order when the
    position is unknown)."""
    out = points.copy()
    if lon is None or lat is None or out.empty:
        out["distance_m"] = np.nan
        return out
    out["distance_m"] = distance_m(out["lon"], out["lat"], lon, lat).round(0)
    return out.sort_values("distance_m").reset_index(drop=True)


def units_at(session: Session, point_id: str) -> list[str]:
    """The patrol units planned at a point, sorted."""
    return sorted(
        set(session.scalars(select(PatrolPlan.unit).where(PatrolPlan.point_id == point_id)))
    )
