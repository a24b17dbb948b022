"""Alcohol-related incidents: check-in validation, gaps and coverage, repeat-person files,
escalation watch, scope, masking, patrol effect."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from fangcang import aggregates, alcohol, privacy
from fangcang.access import Role, Scope, ScopeError, Viewer
from fangcang.alcohol.patrol import PlanRule, classify, distance_m, parse_days, parse_hhmm
from fangcang.models import (
    AlcoholPersonFile,
    CheckinStatus,
    IncidentCategory,
    PatrolCheckin,
    TaskTemplate,
)
from tests.practice_support import ID_A, ID_B, NOW, alcohol_incident, build, person_in


@pytest.fixture
def d(session, factory):
    return build(factory)


def _offset(lon: float, lat: float, metres_north: float) -> tuple[float, float]:
    return lon, lat + metres_north / 111_195.0


# ---------------------------------------------------------------------------------------------
# Check-ins: radius and window
# ---------------------------------------------------------------------------------------------
def test_distance_is_haversine():
    # one degree of latitude on the mean-radius sphere
    assert float(distance_m(120.0, 28.0, 120.0, 29.0)) == pytest.approx(111_195, rel=1e-4)


@pytest.mark.parametrize(
    ("at", "north", "unit", "expected"),
    [
        (datetime(2026, 10, 9, 23, 0), 50, "巡特警一队", CheckinStatus.VALID),
        (datetime(2026, 10, 9, 23, 0), 99, "巡特警一队", CheckinStatus.VALID),
        (datetime(2026, 10, 9, 23, 0), 101, "巡特警一队", CheckinStatus.OUTSIDE_RADIUS),
        (datetime(2026, 10, 9, 23, 0), 250, "巡特警一队", CheckinStatus.OUTSIDE_RADIUS),
        (datetime(2026, 10, 9, 18, 0), 10, "巡特警一队", CheckinStatus.OUTSIDE_WINDOW),
        (datetime(2026, 10, 9, 21, 0), 10, "巡特警一队", CheckinStatus.VALID),  # start inclusive
        (datetime(2026, 10, 10, 1, 30), 10, "巡特警一队", CheckinStatus.VALID),  # past midnight
        (datetime(2026, 10, 10, 2, 0), 10, "巡特警一队", CheckinStatus.VALID),  # end inclusive
        (datetime(2026, 10, 10, 2, 1), 10, "巡特警一队", CheckinStatus.OUTSIDE_WINDOW),
        (datetime(2026, 10, 9, 23, 0), 10, "护村队", CheckinStatus.OUTSIDE_WINDOW),  # not his plan
        (datetime(2025, 12, 31, 23, 0), 10, "巡特警一队", CheckinStatus.OUTSIDE_WINDOW),  # before
    ],
)
def test_checkin_inside_and_outside_radius_and_window(d, at, north, unit, expected):
    lon, lat = _offset(d.point.lon, d.point.lat, north)
    status, plan_id, dist = classify(d.point, [PlanRule.of(d.plan)], unit, at, lon, lat)
    assert status is expected
    assert dist == pytest.approx(north, abs=0.5)
    assert (plan_id == "PL1") == (
        expected is CheckinStatus.VALID or (expected is CheckinStatus.OUTSIDE_RADIUS)
    )


def test_days_of_week_limit_the_window(session, d):
    d.plan.days = "567"  # Friday to Sunday
    rule = PlanRule.of(d.plan)
    friday_late = datetime(2026, 10, 9, 23, 0)  # Friday
    saturday_early = datetime(2026, 10, 10, 1, 0)  # Friday's window, after midnight
    monday_early = datetime(2026, 10, 12, 1, 0)  # Sunday's window
    tuesday = datetime(2026, 10, 13, 22, 0)
    assert rule.slot_day(friday_late) == date(2026, 10, 9)
    assert rule.slot_day(saturday_early) == date(2026, 10, 9)
    assert rule.slot_day(monday_early) == date(2026, 10, 11)
    assert rule.slot_day(tuesday) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5,6,7", "567"),
        ("1-5", "12345"),
        ("每天", "1234567"),
        ("周五至周日", "567"),
        ("周一、周三", "13"),
    ],
)
def test_parse_days(text, expected):
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["8", "周八", "7-1", "", "weekends"])
def test_parse_days_rejects(text):
    with pytest.raises(ValueError):
        parse_days(text)


def test_parse_hhmm():
    assert parse_hhmm("9:05") == "09:05"
    with pytest.raises(ValueError):
        parse_hhmm("24:00")


def test_record_checkin_stores_status_and_audits(session, d, monkeypatch):
    monkeypatch.setattr("fangcang.alcohol.patrol.now_local", lambda: datetime(2026, 10, 9, 23, 30))
    viewer = d.officer_viewer()
    lon, lat = _offset(d.point.lon, d.point.lat, 30)
    ok = alcohol.record_checkin(
        session, viewer, point_id="PP1", unit="巡特警一队", lon=lon, lat=lat
    )
    far = alcohol.record_checkin(
        session, viewer, point_id="PP1", unit="巡特警一队", lon=lon, lat=lat + 0.01
    )
    assert ok.status is CheckinStatus.VALID and ok.plan_id == "PL1"
    assert far.status is CheckinStatus.OUTSIDE_RADIUS
    assert ok.officer_id == "OA" and ok.source == "phone"
    with pytest.raises(ValueError, match="future"):
        alcohol.record_checkin(
            session,
            viewer,
            point_id="PP1",
            unit="巡特警一队",
            lon=lon,
            lat=lat,
            at=datetime(2026, 10, 10, 1, 0),
        )
    with pytest.raises(ValueError, match="position"):
        alcohol.record_checkin(session, viewer, point_id="PP1", unit="巡特警一队", lon=0.0, lat=0.0)


# ---------------------------------------------------------------------------------------------
# Gaps and coverage
# ---------------------------------------------------------------------------------------------
def _checkin(session, d, at: datetime, unit="巡特警一队", north=20.0, officer="OA"):
    lon, lat = _offset(d.point.lon, d.point.lat, north)
    status, plan_id, dist = classify(d.point, [PlanRule.of(d.plan)], unit, at, lon, lat)
    session.add(
        PatrolCheckin(
            point_id="PP1",
            community_id="CA1",
            plan_id=plan_id,
            unit=unit,
            officer_id=officer,
            checked_at=at,
            lon=lon,
            lat=lat,
            distance_m=dist,
            status=status,
            source="csv",
            recorded_by="t",
            created_at=NOW,
        )
    )
    session.flush()


def test_recent_checkins_are_the_officers_own_newest_first(session, d):
    for day in (1, 3, 5, 7):
        _checkin(session, d, datetime(2026, 10, day, 22, 0))
    _checkin(session, d, datetime(2026, 10, 6, 22, 0), officer="OB")
    scope = Scope.district()
    recent = alcohol.recent_checkins(session, scope, "OA", date(2026, 10, 3), limit=2)
    assert list(recent["checked_at"]) == [
        datetime(2026, 10, 7, 22, 0),
        datetime(2026, 10, 5, 22, 0),
    ]
    assert set(alcohol.recent_checkins(session, scope, "OB", date(2026, 10, 1))["officer_id"]) == {
        "OB"
    }
    assert alcohol.recent_checkins(session, scope, None, date(2026, 10, 1)).empty
    with pytest.raises(ValueError, match="limit must be > 0"):
        alcohol.recent_checkins(session, scope, "OA", date(2026, 10, 1), limit=0)


def test_a_missed_checkin_is_a_gap(session, d):
    _checkin(session, d, datetime(2026, 10, 5, 22, 0))  # Monday's window
    _checkin(session, d, datetime(2026, 10, 7, 1, 0))  # Tuesday's window, after midnight
    _checkin(session, d, datetime(2026, 10, 7, 23, 0), north=300)  # outside radius: no credit
    scope = Scope.district()
    slots = alcohol.slots(
        session, scope, date(2026, 10, 5), date(2026, 10, 7), as_of=datetime(2026, 10, 8, 12, 0)
    )
    assert list(slots["day"]) == [date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)]
    assert list(slots["made"]) == [True, True, False]
    gaps = alcohol.gaps(slots)
    assert list(gaps["day"]) == [date(2026, 10, 7)]
    cov = alcohol.coverage(slots, "point_id")
    assert cov.iloc[0][["planned", "made", "missed"]].tolist() == [3, 2, 1]
    assert cov.iloc[0]["coverage"] == pytest.approx(2 / 3)
    by_week = alcohol.coverage(slots, "week")
    assert by_week["week"].tolist() == ["2026-W41"]
    # a window that has not ended by as_of is not yet a gap
    open_ = alcohol.slots(
        session, scope, date(2026, 10, 5), date(2026, 10, 7), as_of=datetime(2026, 10, 8, 1, 0)
    )
    assert len(open_) == 2


# ---------------------------------------------------------------------------------------------
# Repeat-person files
# ---------------------------------------------------------------------------------------------
def test_repeat_person_at_exactly_two_incidents_in_twelve_months(session, factory, d):
    as_of = datetime(2026, 10, 31, 23, 0)
    first = alcohol_incident(factory, d.a1, as_of - timedelta(days=364))
    second = alcohol_incident(factory, d.a1, as_of - timedelta(days=1))
    person_in(session, first, ID_A)
    person_in(session, second, ID_A)
    # B: two incidents but one is 366 days old; C: one alcohol incident and one other incident
    old = alcohol_incident(factory, d.a1, as_of - timedelta(days=366))
    recent = alcohol_incident(factory, d.a1, as_of - timedelta(days=10))
    person_in(session, old, ID_B, name="王五")
    person_in(session, recent, ID_B, name="王五")
    sober = factory.incident(d.a1, as_of - timedelta(days=5))
    person_in(session, sober, "11010519491231002X", name="李四")
    person_in(session, recent, "11010519491231002X", name="李四")
    found = alcohol.repeat_people(session, Scope.district(), as_of)
    assert found["id_number"].tolist() == [ID_A]
    assert found.iloc[0]["incidents"] == 2
    # one day later the first incident leaves the window
    assert alcohol.repeat_people(session, Scope.district(), as_of + timedelta(days=1)).empty
    # a file opens once, with the community officer and a review date
    assert alcohol.sync_files(session, as_of, actor="t") == 1
    assert alcohol.sync_files(session, as_of, actor="t") == 0
    f = session.scalar(select(AlcoholPersonFile))
    assert (f.officer_id, f.next_review) == ("OA", date(2026, 11, 30))


def test_people_without_id_number_are_never_filed(session, factory, d):
    as_of = datetime(2026, 10, 31, 23, 0)
    for days in (3, 2, 1):
        person_in(session, alcohol_incident(factory, d.a1, as_of - timedelta(days=days)), None)
    assert alcohol.repeat_people(session, Scope.district(), as_of).empty


def _filed(session, factory, d, community, id_number, name="陈小华"):
    as_of = datetime(2026, 10, 31, 23, 0)
    for days in (30, 3):
        person_in(
            session,
            alcohol_incident(factory, community, as_of - timedelta(days=days)),
            id_number,
            name=name,
        )
    alcohol.sync_files(session, as_of, actor="t")
    return as_of


def test_reviews_and_measures(session, factory, d, monkeypatch):
    as_of = _filed(session, factory, d, d.a1, ID_A)
    monkeypatch.setattr("fangcang.alcohol.repeat.now_local", lambda: as_of)
    f = session.scalar(select(AlcoholPersonFile))
    officer = d.officer_viewer()
    with pytest.raises(ValueError, match="note"):
        alcohol.record_review(session, officer, f.id, reviewed_on=as_of.date(), note="")
    alcohol.record_review(
        session,
        officer,
        f.id,
        reviewed_on=as_of.date(),
        note="已回访，本人承诺戒酒",
        measure="persuasion",
    )
    assert f.next_review == as_of.date() + timedelta(days=30)
    files = alcohol.person_files(session, officer.scope, as_of)
    assert files.iloc[0]["measures"] == 1 and not files.iloc[0]["due"]
    detail = alcohol.file_detail(session, officer.scope, f.id)
    assert len(detail["incidents"]) == 2
    assert detail["measures"]["kind"].tolist() == ["persuasion"]
    leader = Viewer("leader", Role.LEADER)
    with pytest.raises(PermissionError):
        alcohol.record_measure(
            session, leader, id_number=ID_A, kind="persuasion", taken_on=as_of.date()
        )


def test_review_visit_is_a_task_template(session, factory, d):
    from fangcang.tasks import propose_template, review_template

    _filed(session, factory, d, d.a1, ID_A)
    draft = alcohol.review_template_draft(session)
    assert draft.target == ["CA1"]
    branch = Viewer("branch", Role.BRANCH, branch="public_order")
    tpl = propose_template(session, draft, branch)
    review_template(session, tpl.id, Viewer("office", Role.DISPATCHER), admit=True)
    assert session.get(TaskTemplate, tpl.id).status.value == "admitted"


# ---------------------------------------------------------------------------------------------
# Escalation watch
# ---------------------------------------------------------------------------------------------
def test_escalation_at_day_90_and_not_91(session, factory, d):
    t0 = datetime(2026, 3, 1, 20, 0)
    dispute1 = factory.incident(d.a1, t0, category=IncidentCategory.DISPUTE)
    dispute2 = factory.incident(d.a2, t0, category=IncidentCategory.DISPUTE)
    crime90 = factory.incident(d.a1, t0 + timedelta(days=90), category=IncidentCategory.CRIMINAL)
    crime91 = factory.incident(d.a2, t0 + timedelta(days=91), category=IncidentCategory.CRIMINAL)
    person_in(session, dispute1, ID_A)
    person_in(session, crime90, ID_A, role="suspect")
    person_in(session, dispute2, ID_B)
    person_in(session, crime91, ID_B, role="suspect")
    esc = alcohol.escalations(session, Scope.district(), date(2026, 1, 1), date(2026, 10, 31))
    assert esc["dispute_id"].tolist() == [dispute1.incident_id]
    assert esc.iloc[0]["criminal_id"] == crime90.incident_id
    assert esc.iloc[0]["days"] == 90.0 and esc.iloc[0]["link"] == "person"
    counts = alcohol.counts_by_station(session, Scope.district(), esc)
    assert dict(zip(counts["station_id"], counts["escalations"], strict=True)) == {
        "STA": 1,
        "STB": 0,
    }


def test_escalation_by_address(session, factory, d):
    t0 = datetime(2026, 3, 1, 20, 0)
    dispute = factory.incident(d.a1, t0, category=IncidentCategory.DISPUTE)
    crime = factory.incident(d.a1, t0 + timedelta(days=30), category=IncidentCategory.CRIMINAL)
    person_in(session, dispute, None, address="沿江路12号")
    person_in(session, crime, None, name="王五", address=" 沿江路12号 ")
    # a criminal incident before the dispute does not count
    person_in(
        session,
        factory.incident(d.a1, t0 - timedelta(days=1), category=IncidentCategory.CRIMINAL),
        None,
        address="沿江路12号",
    )
    esc = alcohol.escalations(session, Scope.district(), date(2026, 1, 1), date(2026, 10, 31))
    assert esc["link"].tolist() == ["address"]
    assert privacy.mask_frame(esc)["address"].tolist() == ["沿江路**号"]


# ---------------------------------------------------------------------------------------------
# Scope and masking
# ---------------------------------------------------------------------------------------------
def test_a_station_sees_its_own_points_and_files_only(session, factory, d):
    from fangcang.models import PatrolPoint

    session.add(
        PatrolPoint(
            point_id="PP9",
            name="西山酒吧",
            community_id="CB1",
            lon=120.505,
            lat=28.005,
            radius_m=100,
            source="",
            updated_at=NOW,
        )
    )
    _filed(session, factory, d, d.a1, ID_A)
    _filed(session, factory, d, d.b1, ID_B, name="王五")
    a, b = d.station_viewer("a"), d.station_viewer("b")
    assert alcohol.points_frame(session, a.scope)["point_id"].tolist() == ["PP1"]
    assert alcohol.points_frame(session, b.scope)["point_id"].tolist() == ["PP9"]
    as_of = datetime(2026, 10, 31, 23, 0)
    assert alcohol.person_files(session, a.scope, as_of)["id_number"].tolist() == [ID_A]
    assert alcohol.person_files(session, b.scope, as_of)["id_number"].tolist() == [ID_B]
    other = session.scalar(select(AlcoholPersonFile.id).where(AlcoholPersonFile.id_number == ID_B))
    with pytest.raises(ScopeError):
        alcohol.file_detail(session, a.scope, other)
    with pytest.raises(ScopeError):
        alcohol.record_checkin(session, a, point_id="PP9", unit="x", lon=120.505, lat=28.005)
    assert alcohol.plans_frame(session, b.scope).empty


def test_person_files_are_masked_by_column_name(session, factory, d):
    as_of = _filed(session, factory, d, d.a1, ID_A)
    masked = privacy.mask_frame(alcohol.person_files(session, Scope.district(), as_of))
    assert masked.iloc[0]["name"] == "陈*华"
    assert masked.iloc[0]["id_number"] == "330302********1235"


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------
def test_incidents_find_their_venue_and_hour(session, factory, d):
    near = alcohol_incident(factory, d.a1, datetime(2026, 10, 9, 23, 10), lon=120.6052, lat=28.0052)
    far = alcohol_incident(factory, d.a1, datetime(2026, 10, 10, 2, 5), lon=120.609, lat=28.009)
    df = alcohol.alcohol_incidents(session, Scope.district(), date(2026, 10, 1), date(2026, 10, 31))
    by_id = df.set_index("incident_id")
    assert by_id.loc[near.incident_id, "point_id"] == "PP1"
    assert pd.isna(by_id.loc[far.incident_id, "point_id"])
    assert by_id.loc[far.incident_id, "hour"] == 2 and by_id.loc[far.incident_id, "dow"] == 5  # Sat
    grid = alcohol.hour_dow(df)
    assert grid.shape == (7, 24) and grid.to_numpy().sum() == 2
    pts = alcohol.by_point(df, alcohol.points_frame(session, Scope.district()))
    assert pts.iloc[0]["incidents"] == 1


def test_patrol_effect_uses_the_effect_module(session, factory, d):
    # patrol plans start 2026-07-01; 3 months before / after
    d.plan.starts_on = date(2026, 7, 1)
    for m, n in ((4, 6), (5, 6), (6, 6), (7, 2), (8, 2), (9, 2)):
        for _ in range(n):
            alcohol_incident(factory, d.a1, datetime(2026, m, 10, 22, 0))
        for _ in range(5):
            alcohol_incident(factory, d.b1, datetime(2026, m, 11, 22, 0))
    for c in (d.a1, d.b1):
        factory.person(c)
    aggregates.rebuild(session)
    from fangcang.timeutil import Month

    eff = alcohol.patrol_effect(session, Scope.district(), months=3, as_of=Month(2026, 9))
    assert (eff.before, eff.after) == (18, 6)
    assert eff.communities == ["CA1"] and eff.comparisons == ["CB1"]
    assert eff.result.raw.pct == pytest.approx(-66.67, abs=0.01)
    assert eff.result.comparison_pct == pytest.approx(0.0)
    n = session.scalar(select(func.count()).select_from(PatrolCheckin))
    assert n == 0


def test_a_file_is_unmasked_with_a_reason_inside_the_scope_only(session, factory, d):
    from fangcang.access import Forbidden
    from fangcang.models import AuditEntry

    _filed(session, factory, d, d.a1, ID_A)
    file_id = session.scalar(select(AlcoholPersonFile.id))
    clear = privacy.unmask(
        session, d.officer_viewer(), "alcohol_file", file_id, "上门回访需要核对身份"
    )
    assert clear == {"name": "陈小华", "id_number": ID_A, "community_id": "CA1"}
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "alcohol_file.unmask" and ID_A not in entry.detail
    with pytest.raises(ScopeError):
        privacy.unmask(session, d.station_viewer("b"), "alcohol_file", file_id, "上门回访需要")
    with pytest.raises(Forbidden):
        privacy.unmask(session, Viewer("leader", Role.LEADER), "alcohol_file", file_id, "查看一下")


def test_a_review_entered_late_leaves_the_newer_one_standing(session, factory, d, monkeypatch):
    """A review older than the file's last one (entered late, or the demo's back-filled
    reviews landing after an officer's) is on record (audit, measure) but the file's schedule
    stays the newer review's: the last review never moves back."""
    from fangcang.models import AlcoholMeasure, AuditEntry

    as_of = _filed(session, factory, d, d.a1, ID_A)
    monkeypatch.setattr("fangcang.alcohol.repeat.now_local", lambda: as_of)
    f = session.scalar(select(AlcoholPersonFile))
    officer = d.officer_viewer()
    alcohol.record_review(
        session, officer, f.id, reviewed_on=as_of.date(), note="今日回访，情况稳定"
    )
    week_ago = as_of.date() - timedelta(days=7)
    alcohol.record_review(
        session, officer, f.id, reviewed_on=week_ago, note="补录上周回访", measure="persuasion"
    )
    assert f.last_review == as_of.date()
    assert f.next_review == as_of.date() + timedelta(days=30)
    assert f.review_note == "今日回访，情况稳定"
    reviews = session.scalars(
        select(AuditEntry.detail)
        .where(AuditEntry.action == "alcohol.review")
        .order_by(AuditEntry.id)
    ).all()
    assert [json.loads(r).get("superseded") for r in reviews] == [None, True]
    assert session.scalar(select(AlcoholMeasure.taken_on)) == week_ago
