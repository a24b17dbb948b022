"""The practice contract files: good files load; bad input gives a clear error (file, row,
column, reason) and changes nothing; the data contract documents every file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fangcang import alcohol
from fangcang.access import Scope
from fangcang.importer.contract import file_table
from fangcang.models import (
    AlcoholMeasure,
    CheckinStatus,
    ImportLog,
    ImportStatus,
    IncidentCategory,
    IncidentPerson,
    MediationConsultation,
    MediationReferral,
    MediationSession,
    PatrolCheckin,
    PatrolPlan,
    PatrolPoint,
)
from tests.practice_support import ID_A, build

HEADERS = {
    "incident_people": "警情编号,角色,姓名,身份证号,联系电话,地址",
    "patrol_points": "点位编号,点位名称,场所编号,社区编号,经度,纬度,打卡半径",
    "patrol_plans": "计划编号,点位编号,巡逻力量,星期,开始时间,结束时间,开始日期,结束日期",
    "patrol_checkins": "点位编号,巡逻力量,民警编号,打卡时间,经度,纬度",
    "alcohol_measures": "身份证号,措施,日期,民警编号,警情编号,备注",
    "mediation_referrals": "委托编号,警情编号,委托日期,律师事务所,律师,派出所编号,司法所,调解结果,结案日期",
    "mediation_sessions": "委托编号,调解日期,调解情况",
    "mediation_consultations": "会商编号,会商日期,派出所编号,律师事务所,司法所,会商内容,研判案件数",
}
MODELS = {
    "incident_people": IncidentPerson,
    "patrol_points": PatrolPoint,
    "patrol_plans": PatrolPlan,
    "patrol_checkins": PatrolCheckin,
    "alcohol_measures": AlcoholMeasure,
    "mediation_referrals": MediationReferral,
    "mediation_sessions": MediationSession,
    "mediation_consultations": MediationConsultation,
}


@pytest.fixture
def d(session, factory):
    dist = build(factory)
    factory.incident(dist.a1, datetime(2026, 9, 1, 22, 0), incident_id="I1", alcohol_related=True)
    factory.incident(
        dist.a1, datetime(2026, 9, 2, 22, 0), incident_id="D1", category=IncidentCategory.DISPUTE
    )
    factory.incident(
        dist.b1, datetime(2026, 9, 3, 22, 0), incident_id="DB", category=IncidentCategory.DISPUTE
    )
    return dist


def _csv(kind: str, *rows: str) -> bytes:
    return ("\n".join([HEADERS[kind], *rows]) + "\n").encode("gb18030")


def _import(session, kind, data, scope=None):
    return alcohol.import_file(
        session, data, actor="t", scope=scope or Scope.district(), name=kind, file=f"{kind}.csv"
    )


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _good(session):
    """Load one good file of every kind, in order; returns the reports."""
    out = {}
    out["incident_people"] = _import(
        session,
        "incident_people",
        _csv(
            "incident_people",
            f"I1,当事人,陈小华,{ID_A},13812345678,沿江路12号",
            "D1,报警人,王五,,,",
        ),
    )
    out["patrol_points"] = _import(
        session, "patrol_points", _csv("patrol_points", "PP2,江滨KTV,,,120.615,28.005,120")
    )
    out["patrol_plans"] = _import(
        session,
        "patrol_plans",
        _csv("patrol_plans", "PL2,PP2,护村队,周五至周日,20:00,23:00,2026-01-01,"),
    )
    out["patrol_checkins"] = _import(
        session,
        "patrol_checkins",
        _csv(
            "patrol_checkins",
            "PP2,护村队,OA,2026-10-09 21:00,120.615,28.0051",  # Friday, inside
            "PP2,护村队,OA,2026-10-08 21:00,120.615,28.0051",  # Thursday: outside window
            "PP2,护村队,OA,2026-10-10 21:00,120.615,28.0100",  # outside radius
        ),
    )
    out["alcohol_measures"] = _import(
        session, "alcohol_measures", _csv("alcohol_measures", f"{ID_A},亲友带回,2026-09-01,OA,I1,")
    )
    out["mediation_referrals"] = _import(
        session,
        "mediation_referrals",
        _csv(
            "mediation_referrals",
            "R1,D1,2026-09-03,瓯江律师事务所,林律师,,五马司法所,调解成功,2026-09-20",
        ),
    )
    out["mediation_sessions"] = _import(
        session, "mediation_sessions", _csv("mediation_sessions", "R1,2026-09-10,第一次调解")
    )
    out["mediation_consultations"] = _import(
        session,
        "mediation_consultations",
        _csv("mediation_consultations", "M1,2026-09-15,STA,瓯江律师事务所,五马司法所,月度会商,3"),
    )
    return out


def test_good_files_load(session, d):
    reports = _good(session)
    assert all(r.ok for r in reports.values()), [r.summary() for r in reports.values()]
    assert _count(session, IncidentPerson) == 2
    p = session.get(PatrolPoint, "PP2")
    assert p.community_id == "CA2"  # located by the point
    assert session.get(PatrolPlan, "PL2").days == "567"
    statuses = sorted(c.status.value for c in session.scalars(select(PatrolCheckin)))
    assert statuses == sorted(
        [CheckinStatus.VALID, CheckinStatus.OUTSIDE_WINDOW, CheckinStatus.OUTSIDE_RADIUS]
    )
    ref = session.get(MediationReferral, "R1")
    assert (ref.station_id, ref.outcome.value, ref.community_id) == ("STA", "resolved", "CA1")
    # importing the same check-ins again adds nothing
    again = _import(
        session,
        "patrol_checkins",
        _csv("patrol_checkins", "PP2,护村队,OA,2026-10-09 21:00,120.615,28.0051"),
    )
    assert again.ok and again.written == 0


BAD = [
    ("incident_people", "NOPE,当事人,陈小华,,,", 2, "incident_id", "not in the database"),
    ("incident_people", "I1,路人,陈小华,,,", 2, "role", ""),
    ("incident_people", "I1,当事人,陈小华,330302199001011234,,", 2, "id_number", ""),
    ("incident_people", "DB,当事人,陈小华,,,", 2, "incident_id", "outside your jurisdiction"),
    ("incident_people", "I1,当事人,陈小华,,call me,", 2, "phone", ""),
    ("patrol_points", "PP2,江滨KTV,,,,,120", 2, "lon", "give lon/lat"),
    ("patrol_points", "PP2,江滨KTV,,,130.0,45.0,120", 2, "lon", "no community"),
    ("patrol_points", "PP2,江滨KTV,,,120.615,28.005,5", 2, "radius_m", ""),
    ("patrol_plans", "PL2,PP1,护村队,周八,20:00,23:00,2026-01-01,", 2, "days", "not a day"),
    ("patrol_plans", "PL2,PP1,护村队,每天,25:00,23:00,2026-01-01,", 2, "start_time", "HH:MM"),
    (
        "patrol_plans",
        "PL2,PP1,护村队,每天,20:00,23:00,2026-01-01,2025-01-01",
        2,
        "ends_on",
        "before",
    ),
    (
        "patrol_plans",
        "PL2,PX,护村队,每天,20:00,23:00,2026-01-01,",
        2,
        "point_id",
        "not in the database",
    ),
    ("patrol_checkins", "PP1,护村队,OA,2099-01-01 21:00,120.605,28.005", 2, "checked_at", "future"),
    ("patrol_checkins", "PP1,护村队,OA,2026-10-09 21:00,120.605,99.0", 2, "lat", ""),
    ("alcohol_measures", f"{ID_A},罚款,2026-09-01,OA,,", 2, "measure", ""),
    (
        "alcohol_measures",
        "330302198512120017,劝导教育,2026-09-01,OA,,",
        2,
        "id_number",
        "in no incident",
    ),
    ("mediation_referrals", "R1,I1,2026-09-03,律所,律师,,,,", 2, "incident_id", "only dispute"),
    (
        "mediation_referrals",
        "R1,D1,2026-09-03,律所,律师,,,调解成功,",
        2,
        "closed_on",
        "needs closed_on",
    ),
    (
        "mediation_referrals",
        "R1,D1,2026-09-03,律所,律师,STB,,,",
        2,
        "station_id",
        "not the station",
    ),
    ("mediation_sessions", "RX,2026-09-10,", 2, "referral_id", "not in the database"),
    ("mediation_consultations", "M1,2026-09-15,STX,律所,,,", 2, "station_id", "unknown station"),
    ("mediation_consultations", "M1,2026-09-15,STA,律所,,,-1", 2, "cases_discussed", ""),
]


@pytest.mark.parametrize(("kind", "row", "line", "column", "reason"), BAD)
def test_bad_input_names_file_row_column_reason_and_changes_nothing(
    session, d, kind, row, line, column, reason
):
    if kind == "alcohol_measures":
        _import(session, "incident_people", _csv("incident_people", f"I1,当事人,陈小华,{ID_A},,"))
    session.flush()
    before = {k: _count(session, m) for k, m in MODELS.items()}
    good_row = {
        "incident_people": "I1,报警人,王五,,,",
        "patrol_points": "PP3,夜宵街,,,120.605,28.006,100",
        "patrol_plans": "PL3,PP1,护村队,每天,20:00,23:00,2026-01-01,",
        "patrol_checkins": "PP1,巡特警一队,OA,2026-10-09 22:00,120.605,28.005",
        "alcohol_measures": f"{ID_A},劝导教育,2026-09-02,OA,,",
        "mediation_referrals": "R9,D1,2026-09-03,律所,律师,,,,",
        "mediation_sessions": "R9,2026-09-10,",
        "mediation_consultations": "M9,2026-09-15,STA,律所,,,1",
    }[kind]
    report = _import(session, kind, _csv(kind, good_row, row), scope=d.station_viewer("a").scope)
    assert not report.ok
    errors = [e for e in report.errors if e.row == line + 1]
    assert errors, report.summary()
    e = errors[0]
    assert e.file == f"{kind}.csv" and e.column == column
    assert reason in e.reason
    assert str(e).startswith(f"{kind}.csv row {line + 1}")
    if column == "closed_on" and "needs closed_on" in reason:
        # the value shown is the closed_on cell (empty), the outcome is named in the reason
        assert e.value == "" and "outcome resolved" in e.reason, e
    after = {k: _count(session, m) for k, m in MODELS.items()}
    assert after == before  # the good row was not loaded either
    log = session.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
    assert log.status is ImportStatus.FAILED


def test_personal_values_are_masked_in_errors(session, d):
    report = _import(
        session,
        "incident_people",
        _csv("incident_people", "NOPE,当事人,陈小华,330302199001011234,13812345678,"),
    )
    text = report.summary()
    assert "330302199001011234" not in text


def test_empty_file_and_unknown_kind(session, d):
    assert not _import(session, "patrol_points", _csv("patrol_points")).ok
    with pytest.raises(ValueError, match="unknown practice file"):
        alcohol.import_file(session, b"x", actor="t", scope=Scope.district(), name="nothing")


def test_data_contract_documents_every_practice_file():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-contract.md").read_text("utf-8")
    for name, pf in alcohol.contract_files().items():
        assert f"## {name}.csv" in doc, name
        assert file_table(pf.spec) in doc, f"docs/data-contract.md is out of date for {name}.csv"


def test_dates_are_kept(session, d):
    _good(session)
    assert session.get(PatrolPlan, "PL2").starts_on == date(2026, 1, 1)


def test_incident_people_phone_follows_the_one_phone_rule(session, d):
    """The same phone rule as people, officers and visits: Excel's ".0" is undone and the
    phone is stored in its canonical form."""
    result = _import(
        session, "incident_people", _csv("incident_people", "I1,当事人,陈小华,,13900139000.0,")
    )
    assert result.ok
    stored = session.scalars(select(IncidentPerson.phone)).all()
    assert stored == ["13900139000"]
