"""The contract files of the alcohol practice: ``incident_people``, ``patrol_points``,
``patrol_plans``, ``patrol_checkins`` and ``alcohol_measures`` (see docs/data-contract.md).

Each is a ``PracticeFile`` (``fangcang.alcohol.filekit``); ``FILES`` lists them with the
mediation files, in load order.

Size: 686 lines because it holds the five contract files of one practice, each a spec with its
check and load function sharing one context (``_Ctx``: session, scope, points); each file is
~130 lines and could move to its own module, but they reference each other's rows (points -> plans
-> check-ins, people -> measures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from .. import geo
from ..access import Scope
from ..importer import Field, FileSpec
from ..importer.kinds import PHONE_ALIASES
from ..importer.spec import DATE, DATETIME, ENUM, FLOAT, ID_NUMBER, INT, LAT, LON, PHONE
from ..models import (
    AlcoholMeasure,
    Community,
    Incident,
    IncidentPerson,
    IncidentRole,
    MeasureKind,
    PatrolCheckin,
    PatrolPlan,
    PatrolPoint,
    Person,
    Place,
)
from ..timeutil import now_local
from .filekit import PracticeFile, opt, outside_scope
from .patrol import FUTURE_SKEW, RADIUS_RANGE, PlanRule, classify, parse_days, parse_hhmm

SOURCE = Field("source", aliases=("数据来源", "来源"), default="", max_length=64)
UPDATED = Field(
    "updated_at",
    DATETIME,
    aliases=("更新时间",),
    description="when the record last changed (default: import time)",
)


@dataclass(frozen=True)
class _Ctx:
    session: Session
    scope: Scope
    now: datetime
    points: dict[str, str]  # point_id -> community_id


def _ctx(session: Session, scope: Scope) -> _Ctx:
    points = dict(session.execute(select(PatrolPoint.point_id, PatrolPoint.community_id)).all())
    return _Ctx(session, scope, now_local(), points)


def _incident_map(session: Session, ids) -> dict[str, str]:
    ids = sorted({str(i) for i in ids})
    out: dict[str, str] = {}
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        out.update(
            session.execute(
                select(Incident.incident_id, Incident.community_id).where(
                    Incident.incident_id.in_(chunk)
                )
            ).all()
        )
    return out


def _unknown(frame, column: str, known, reason: str):
    values = frame[column].astype(str)
    bad = ~values.isin(set(known))
    return [(frame.index[bad], column, values[bad], reason)] if bad.any() else []


# ---------------------------------------------------------------------------------------------
# incident_people.csv
# ---------------------------------------------------------------------------------------------
def _check_people(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    known = _incident_map(ctx.session, frame["incident_id"])
    out = _unknown(
        frame, "incident_id", known, "incident is not in the database (import incidents.csv first)"
    )
    comm = frame["incident_id"].astype(str).map(known)
    out += outside_scope(frame, "incident_id", comm, ctx.scope)
    return out


def _load_people(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    known = _incident_map(session, frame["incident_id"])
    ids = sorted(set(frame["incident_id"].astype(str)))
    # A re-export of an incident's people replaces them.
    for i in range(0, len(ids), 5000):
        session.execute(
            delete(IncidentPerson).where(IncidentPerson.incident_id.in_(ids[i : i + 5000]))
        )
    numbers = sorted({str(v) for v in frame["id_number"].dropna()})
    person_of: dict[str, str] = {}
    for i in range(0, len(numbers), 5000):
        person_of.update(
            (n, p)
            for n, p in session.execute(
                select(Person.id_number, Person.person_id).where(
                    Person.id_number.in_(numbers[i : i + 5000])
                )
            )
        )
    rows = []
    for r in frame.itertuples(index=False):
        idn = opt(r.id_number)
        rows.append(
            dict(
                incident_id=str(r.incident_id),
                community_id=known[str(r.incident_id)],
                role=IncidentRole(r.role),
                name=str(r.name).strip(),
                id_number=idn,
                phone=opt(r.phone),
                address=(opt(r.address) or None) and str(r.address).strip(),
                person_id=person_of.get(idn) if idn else None,
                source=opt(r.source) or "",
                updated_at=opt(r.updated_at) or ctx.now,
            )
        )
    if rows:
        session.execute(IncidentPerson.__table__.insert(), rows)
    return len(rows)


INCIDENT_PEOPLE = FileSpec(
    "incident_people",
    description="People involved in incidents (reporter, party, suspect, victim).",
    fields=(
        Field(
            "incident_id",
            required=True,
            aliases=("警情编号", "接警编号"),
            max_length=40,
            description="the incident (must be in the database)",
        ),
        Field(
            "role",
            ENUM,
            required=True,
            choices=IncidentRole,
            aliases=("角色", "人员角色", "涉警身份"),
        ),
        Field("name", required=True, aliases=("姓名",), max_length=64, personal=True),
        Field(
            "id_number",
            ID_NUMBER,
            aliases=("身份证号", "身份证号码", "公民身份号码"),
            personal=True,
            description="links the person across incidents; without it the person is never filed",
        ),
        Field("phone", PHONE, aliases=PHONE_ALIASES, personal=True),
        Field(
            "address",
            aliases=("地址", "涉事地址", "住址"),
            max_length=200,
            personal=True,
            description="address involved (the escalation watch links incidents by it)",
        ),
        SOURCE,
        UPDATED,
    ),
    checks=(_check_people,),
)


# ---------------------------------------------------------------------------------------------
# patrol_points.csv
# ---------------------------------------------------------------------------------------------
def _check_points(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    out = []
    s = ctx.session
    places = {}
    pids = sorted({str(v) for v in frame["place_id"].dropna()})
    if pids:
        places = {
            p: (c, lo, la)
            for p, c, lo, la in s.execute(
                select(Place.place_id, Place.community_id, Place.lon, Place.lat).where(
                    Place.place_id.in_(pids)
                )
            )
        }
    has_place = frame["place_id"].notna()
    bad = has_place & ~frame["place_id"].astype(str).isin(places.keys())
    if bad.any():
        out.append(
            (
                frame.index[bad],
                "place_id",
                frame["place_id"][bad].astype(str),
                "place is not in the database",
            )
        )
    no_pos = frame["lon"].isna() | frame["lat"].isna()
    place_pos = (
        frame["place_id"]
        .astype(str)
        .map(lambda p: places.get(p, (None, None, None))[1] is not None)
    )
    missing = no_pos & ~(has_place & place_pos)
    if missing.any():
        out.append(
            (
                frame.index[missing],
                "lon",
                frame["lon"][missing].astype(str),
                "give lon/lat, or a place_id whose place has a position",
            )
        )
    communities = set(s.scalars(select(Community.community_id)))
    given = frame["community_id"].notna()
    bad = given & ~frame["community_id"].astype(str).isin(communities)
    if bad.any():
        out.append(
            (
                frame.index[bad],
                "community_id",
                frame["community_id"][bad].astype(str),
                "unknown community",
            )
        )
    comm = _point_communities(s, frame, places)
    lost = comm.isna() & ~missing
    if lost.any():
        out.append(
            (
                frame.index[lost],
                "lon",
                frame["lon"][lost].astype(str),
                "the point lies in no community",
            )
        )
    out += outside_scope(frame, "point_id", comm, ctx.scope)
    return out


def _point_positions(frame: pd.DataFrame, places: dict) -> tuple[pd.Series, pd.Series]:
    lon = frame["lon"].copy()
    lat = frame["lat"].copy()
    for i, p in frame["place_id"].items():
        if (pd.isna(lon[i]) or pd.isna(lat[i])) and pd.notna(p) and str(p) in places:
            _, lo, la = places[str(p)]
            lon[i], lat[i] = lo, la
    return lon.astype(float), lat.astype(float)


def _point_communities(session: Session, frame: pd.DataFrame, places: dict) -> pd.Series:
    lon, lat = _point_positions(frame, places)
    located = geo.place_points(lon.to_numpy(), lat.to_numpy(), geo.communities_frame(session))
    comm = pd.Series(located, index=frame.index, dtype=object)
    given = frame["community_id"].notna()
    comm[given] = frame["community_id"][given].astype(str)
    return comm


def _load_points(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    pids = sorted({str(v) for v in frame["place_id"].dropna()})
    places = {
        p: (c, lo, la)
        for p, c, lo, la in session.execute(
            select(Place.place_id, Place.community_id, Place.lon, Place.lat).where(
                Place.place_id.in_(pids)
            )
        )
    }
    lon, lat = _point_positions(frame, places)
    comm = _point_communities(session, frame, places)
    for i, r in frame.iterrows():
        session.merge(
            PatrolPoint(
                point_id=str(r["point_id"]),
                name=str(r["name"]).strip(),
                place_id=opt(r["place_id"]),
                community_id=str(comm[i]),
                lon=float(lon[i]),
                lat=float(lat[i]),
                radius_m=int(r["radius_m"]),
                source=opt(r["source"]) or "",
                updated_at=opt(r["updated_at"]) or ctx.now,
            )
        )
    session.flush()
    return len(frame)


PATROL_POINTS = FileSpec(
    "patrol_points",
    key="point_id",
    description="Patrol check-in points: a venue (place_id) or a location, with a radius.",
    fields=(
        Field("point_id", required=True, aliases=("点位编号", "打卡点编号"), max_length=40),
        Field("name", required=True, aliases=("点位名称", "名称"), max_length=128),
        Field(
            "place_id",
            aliases=("场所编号", "单位编号"),
            max_length=40,
            description="the venue (must be in the database); its position is used when lon/lat are empty",
        ),
        Field(
            "community_id",
            aliases=("社区编号",),
            max_length=32,
            description="default: the community containing the point",
        ),
        Field("lon", LON, aliases=("经度",), description="WGS84 longitude"),
        Field("lat", LAT, aliases=("纬度",), description="WGS84 latitude"),
        Field(
            "radius_m",
            INT,
            required=True,
            min=RADIUS_RANGE[0],
            max=RADIUS_RANGE[1],
            aliases=("打卡半径", "半径", "半径(米)"),
            description="check-in radius in metres",
        ),
        SOURCE,
        UPDATED,
    ),
    checks=(_check_points,),
)


# ---------------------------------------------------------------------------------------------
# patrol_plans.csv
# ---------------------------------------------------------------------------------------------
def _parse_col(frame: pd.DataFrame, column: str, fn) -> tuple[pd.Series, list[tuple]]:
    parsed, bad_rows, bad_vals, reasons = {}, [], [], []
    for i, v in frame[column].items():
        try:
            parsed[i] = fn(v)
        except ValueError as exc:
            bad_rows.append(i)
            bad_vals.append(str(v))
            reasons.append(str(exc))
    errs = [(pd.Index(bad_rows), column, bad_vals, reasons)] if bad_rows else []
    return pd.Series(parsed, dtype=object), errs


def _check_plans(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    out = _unknown(
        frame,
        "point_id",
        ctx.points,
        "patrol point is not in the database (import patrol_points.csv first)",
    )
    out += outside_scope(
        frame, "point_id", frame["point_id"].astype(str).map(ctx.points), ctx.scope
    )
    _, e = _parse_col(frame, "days", parse_days)
    out += e
    start, e1 = _parse_col(frame, "start_time", parse_hhmm)
    end, e2 = _parse_col(frame, "end_time", parse_hhmm)
    out += e1 + e2
    same = [i for i in start.index.intersection(end.index) if start[i] == end[i]]
    if same:
        out.append(
            (
                pd.Index(same),
                "end_time",
                frame["end_time"][same].astype(str),
                "the window is empty (end equals start)",
            )
        )
    back = frame["ends_on"].notna() & (frame["ends_on"] < frame["starts_on"])
    if back.any():
        out.append(
            (frame.index[back], "ends_on", frame["ends_on"][back].astype(str), "before starts_on")
        )
    return out


def _load_plans(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    for r in frame.itertuples(index=False):
        session.merge(
            PatrolPlan(
                plan_id=str(r.plan_id),
                point_id=str(r.point_id),
                unit=str(r.unit).strip(),
                days=parse_days(r.days),
                start_time=parse_hhmm(r.start_time),
                end_time=parse_hhmm(r.end_time),
                starts_on=pd.Timestamp(r.starts_on).date(),
                ends_on=pd.Timestamp(r.ends_on).date() if opt(r.ends_on) is not None else None,
                source=opt(r.source) or "",
                updated_at=opt(r.updated_at) or ctx.now,
            )
        )
    session.flush()
    return len(frame)


PATROL_PLANS = FileSpec(
    "patrol_plans",
    key="plan_id",
    description="Patrol plans: a unit at a point on days of the week in a time window.",
    fields=(
        Field("plan_id", required=True, aliases=("计划编号",), max_length=40),
        Field(
            "point_id",
            required=True,
            aliases=("点位编号", "打卡点编号"),
            max_length=40,
            description="the patrol point (must be in the database)",
        ),
        Field(
            "unit",
            required=True,
            aliases=("巡逻力量", "巡逻单位", "打卡单位"),
            max_length=64,
            description="patrol unit, e.g. 巡特警一队, 护村队",
        ),
        Field(
            "days",
            required=True,
            aliases=("星期", "巡逻日", "打卡日"),
            max_length=40,
            description="ISO days of the week: `5,6,7`, `1-5`, `每天`, `周五至周日` (1 = Monday)",
        ),
        Field(
            "start_time",
            required=True,
            aliases=("开始时间", "起始时间"),
            max_length=8,
            description="window start `HH:MM`",
        ),
        Field(
            "end_time",
            required=True,
            aliases=("结束时间", "截止时间"),
            max_length=8,
            description="window end `HH:MM`; before the start = the next day",
        ),
        # A plan is planned: it may start or end after today (issue 17's future-time check).
        Field("starts_on", DATE, required=True, aliases=("开始日期", "启用日期"), future=True),
        Field(
            "ends_on",
            DATE,
            aliases=("结束日期", "停用日期"),
            description="empty = open",
            future=True,
        ),
        SOURCE,
        UPDATED,
    ),
    checks=(_check_plans,),
)


# ---------------------------------------------------------------------------------------------
# patrol_checkins.csv
# ---------------------------------------------------------------------------------------------
def _check_checkins(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    out = _unknown(
        frame,
        "point_id",
        ctx.points,
        "patrol point is not in the database (import patrol_points.csv first)",
    )
    out += outside_scope(
        frame, "point_id", frame["point_id"].astype(str).map(ctx.points), ctx.scope
    )
    future = frame["checked_at"] > pd.Timestamp(ctx.now + FUTURE_SKEW)
    if future.any():
        out.append(
            (
                frame.index[future],
                "checked_at",
                frame["checked_at"][future].astype(str),
                "in the future",
            )
        )
    return out


def _load_checkins(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    point_ids = sorted(set(frame["point_id"].astype(str)))
    points = {
        p.point_id: p
        for p in session.scalars(select(PatrolPoint).where(PatrolPoint.point_id.in_(point_ids)))
    }
    rules = [
        PlanRule.of(p)
        for p in session.scalars(select(PatrolPlan).where(PatrolPlan.point_id.in_(point_ids)))
    ]
    keys = [
        (str(r.point_id), str(r.unit).strip(), pd.Timestamp(r.checked_at).to_pydatetime())
        for r in frame.itertuples()
    ]
    have = set()
    for i in range(0, len(keys), 2000):
        have.update(
            session.execute(
                select(PatrolCheckin.point_id, PatrolCheckin.unit, PatrolCheckin.checked_at).where(
                    tuple_(
                        PatrolCheckin.point_id, PatrolCheckin.unit, PatrolCheckin.checked_at
                    ).in_(keys[i : i + 2000])
                )
            ).all()
        )
    have = {(a, b, c) for a, b, c in have}
    rows = []
    for (point_id, unit, at), r in zip(keys, frame.itertuples(), strict=True):
        if (point_id, unit, at) in have:
            continue  # the same check-in imported again
        have.add((point_id, unit, at))
        point = points[point_id]
        status, plan_id, dist = classify(point, rules, unit, at, float(r.lon), float(r.lat))
        rows.append(
            dict(
                point_id=point_id,
                community_id=point.community_id,
                plan_id=plan_id,
                unit=unit,
                officer_id=opt(r.officer_id),
                checked_at=at,
                lon=float(r.lon),
                lat=float(r.lat),
                accuracy_m=opt(r.accuracy_m),
                distance_m=round(dist, 1),
                status=status,
                source="csv",
                recorded_by=actor,
                created_at=ctx.now,
            )
        )
    if rows:
        session.execute(PatrolCheckin.__table__.insert(), rows)
    return len(rows)


PATROL_CHECKINS = FileSpec(
    "patrol_checkins",
    description="Patrol check-ins (from a patrol app or a terminal export).",
    fields=(
        Field("point_id", required=True, aliases=("点位编号", "打卡点编号"), max_length=40),
        Field("unit", required=True, aliases=("巡逻力量", "巡逻单位", "打卡单位"), max_length=64),
        Field("officer_id", aliases=("民警编号", "警号", "打卡人"), max_length=32),
        Field(
            "checked_at",
            DATETIME,
            required=True,
            aliases=("打卡时间",),
            description="not in the future",
        ),
        Field(
            "lon", LON, required=True, aliases=("经度",), description="WGS84 longitude of the phone"
        ),
        Field(
            "lat", LAT, required=True, aliases=("纬度",), description="WGS84 latitude of the phone"
        ),
        Field(
            "accuracy_m",
            FLOAT,
            min=0,
            aliases=("定位精度", "精度(米)"),
            description="position accuracy in metres",
        ),
    ),
    checks=(_check_checkins,),
)


# ---------------------------------------------------------------------------------------------
# alcohol_measures.csv
# ---------------------------------------------------------------------------------------------
def _person_communities(session: Session, numbers) -> dict[str, str]:
    """id_number -> community of the person's latest incident."""
    numbers = sorted({str(n) for n in numbers})
    out: dict[str, str] = {}
    for i in range(0, len(numbers), 5000):
        rows = session.execute(
            select(IncidentPerson.id_number, Incident.community_id, Incident.occurred_at)
            .join(Incident, Incident.incident_id == IncidentPerson.incident_id)
            .where(IncidentPerson.id_number.in_(numbers[i : i + 5000]))
            .order_by(Incident.occurred_at)
        ).all()
        out.update((n, c) for n, c, _ in rows)
    return out


def _check_measures(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    known = _person_communities(ctx.session, frame["id_number"].dropna())
    out = _unknown(
        frame,
        "id_number",
        known,
        "this person is in no incident (import incident_people.csv first)",
    )
    out += outside_scope(frame, "id_number", frame["id_number"].astype(str).map(known), ctx.scope)
    future = frame["taken_on"] > pd.Timestamp(ctx.now.date())
    if future.any():
        out.append(
            (
                frame.index[future],
                "taken_on",
                frame["taken_on"][future].astype(str),
                "in the future",
            )
        )
    return out


def _load_measures(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    comm = _person_communities(session, frame["id_number"])
    n = 0
    for r in frame.itertuples(index=False):
        taken = pd.Timestamp(r.taken_on).date()
        kind = MeasureKind(r.measure)
        exists = session.scalar(
            select(AlcoholMeasure.id).where(
                AlcoholMeasure.id_number == r.id_number,
                AlcoholMeasure.kind == kind,
                AlcoholMeasure.taken_on == taken,
            )
        )
        if exists:
            continue
        session.add(
            AlcoholMeasure(
                id_number=str(r.id_number),
                community_id=comm[str(r.id_number)],
                kind=kind,
                taken_on=taken,
                officer_id=opt(r.officer_id),
                incident_id=opt(r.incident_id),
                note=opt(r.note) or "",
                recorded_by=actor,
                created_at=ctx.now,
            )
        )
        n += 1
    session.flush()
    return n


ALCOHOL_MEASURES = FileSpec(
    "alcohol_measures",
    description="Measures taken with people involved in alcohol incidents.",
    fields=(
        Field(
            "id_number",
            ID_NUMBER,
            required=True,
            aliases=("身份证号", "公民身份号码"),
            personal=True,
            description="the person (must appear in incident_people)",
        ),
        Field("measure", ENUM, required=True, choices=MeasureKind, aliases=("措施", "处置措施")),
        Field("taken_on", DATE, required=True, aliases=("日期", "采取日期", "处置日期")),
        Field("officer_id", aliases=("民警编号", "警号"), max_length=32),
        Field("incident_id", aliases=("警情编号",), max_length=40),
        Field("note", aliases=("备注", "情况"), max_length=1000, default=""),
    ),
    checks=(_check_measures,),
)


INCIDENT_PEOPLE_FILE = PracticeFile(INCIDENT_PEOPLE, _ctx, _load_people)
PATROL_POINTS_FILE = PracticeFile(PATROL_POINTS, _ctx, _load_points)
PATROL_PLANS_FILE = PracticeFile(PATROL_PLANS, _ctx, _load_plans)
PATROL_CHECKINS_FILE = PracticeFile(PATROL_CHECKINS, _ctx, _load_checkins)
ALCOHOL_MEASURES_FILE = PracticeFile(ALCOHOL_MEASURES, _ctx, _load_measures)

ALCOHOL_FILES = [
    INCIDENT_PEOPLE_FILE,
    PATROL_POINTS_FILE,
    PATROL_PLANS_FILE,
    PATROL_CHECKINS_FILE,
    ALCOHOL_MEASURES_FILE,
]
