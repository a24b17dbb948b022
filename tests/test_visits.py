"""Visits: matching, every discrepancy type, the queue (confirm / dismiss) and the measures."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from support import make_id

from fangcang import aggregates, checks
from fangcang.access import Scope, ScopeError
from fangcang.models import (
    AggFactor,
    AuditEntry,
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    FactorCheck,
    FactorKind,
    House,
    HouseUse,
    KeyPersonType,
    MatchMethod,
    Person,
    RegistryChange,
    VisitResident,
)
from fangcang.visits import (
    Observed,
    StaleDiscrepancy,
    confirm,
    discrepancy_queue,
    dismiss,
    id_number_valid,
    match_people,
    reconcile,
    record_visit,
    visit_measures,
)
from fangcang.visits.matching import birth_from_id

D = Scope.district()
WHEN = datetime(2026, 10, 20, 10, 0)


def types_of(session) -> list[str]:
    return sorted(d.type.value for d in session.scalars(select(Discrepancy)))


@pytest.fixture
def home(factory):
    """One community with a self-occupied house of two registered residents."""
    c = factory.community(community_id="C1", name="沿江社区")
    h = factory.house(c, house_id="H1", registered_residents=2)
    a = factory.person(
        c,
        person_id="PA",
        name="陈小华",
        id_number=make_id("19800101"),
        phone="13811112222",
        birth_date=date(1980, 1, 1),
        house_id="H1",
    )
    b = factory.person(
        c,
        person_id="PB",
        name="王丽",
        phone="13933334444",
        birth_date=date(1982, 5, 6),
        house_id="H1",
    )
    return c, h, a, b


def visit(session, **kw):
    kw.setdefault("house_id", "H1")
    kw.setdefault("visited_at", WHEN)
    kw.setdefault("recorded_by", "officer1")
    v, result = record_visit(session, D, **kw)
    session.commit()
    return v, result


def both_seen(a, b):
    return [Observed(a.name, id_number=a.id_number), Observed(b.name, phone=b.phone)]


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------
def test_id_number_check_digit():
    good = make_id("19900101")
    assert id_number_valid(good)
    assert not id_number_valid(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not id_number_valid("33030219901301123X")  # month 13
    assert birth_from_id(good) == date(1990, 1, 1)


def test_fuzzy_match_finds_true_matches(session, home):
    c, h, a, b = home
    session.commit()
    got = match_people(
        session,
        [
            Observed("陈小华", id_number=a.id_number.lower()),  # ID first
            Observed("王 丽", phone="13933334444"),  # same name, spacing differs
            Observed("陈晓华", birth_date=date(1980, 1, 1)),  # one character off
            Observed("王莉", phone="13933334444", birth_date=date(1982, 5, 6)),
        ],
    )
    assert [m.person_id for m in got[:3]] == ["PA", "PB", None]
    # 陈晓华 vs 陈小华 scores 66.7: enough with a phone, not with a birth date alone.
    assert got[0].method is MatchMethod.ID_NUMBER and got[0].confidence == 1.0
    assert got[1].method is MatchMethod.NAME_PHONE and got[1].confidence == pytest.approx(0.95)
    assert got[3].person_id == "PB" and got[3].method is MatchMethod.NAME_PHONE
    assert got[3].confidence == pytest.approx(0.49)  # 0.98 x ratio 50
    more = match_people(session, [Observed("陈晓华", phone="13811112222")])
    assert more[0].person_id == "PA" and more[0].confidence == pytest.approx(0.95 * 2 / 3, abs=1e-3)


def test_near_miss_with_other_birth_date_not_merged(session, factory, home):
    c, h, a, b = home
    # Same name and same phone as 陈小华 but a different birth date: a son, not the father.
    got = match_people(
        session,
        [
            Observed("陈小华", phone="13811112222", birth_date=date(2005, 3, 3)),
            Observed("陈小华", birth_date=date(1980, 1, 2)),
            Observed("陈小华", id_number=make_id("20050303")),  # ID number of someone else
        ],
    )
    assert [m.person_id for m in got] == [None, None, None]


# --------------------------------------------------------------------------------------------
# Every discrepancy type on a hand-made case
# --------------------------------------------------------------------------------------------
def test_visit_that_agrees_creates_nothing(session, home):
    c, h, a, b = home
    v, result = visit(session, observed_use="self_occupied", residents=both_seen(a, b))
    assert result.created == 0 and types_of(session) == []
    assert v.reconciled_at is not None
    methods = sorted(r.match_method.value for r in session.scalars(select(VisitResident)))
    assert methods == ["id_number", "name_phone"]


def test_use_differs(session, home):
    c, h, a, b = home
    visit(session, observed_use=HouseUse.GROUP_RENTAL, residents=both_seen(a, b))
    d = session.scalars(select(Discrepancy)).one()
    assert (d.type, d.field, d.old_value, d.new_value) == (
        DiscrepancyType.USE_DIFFERS,
        "use",
        "self_occupied",
        "group_rental",
    )


def test_count_differs(session, home):
    c, h, a, b = home
    visit(session, observed_count=5, residents=both_seen(a, b))
    d = session.scalars(select(Discrepancy)).one()
    assert (d.type, d.old_value, d.new_value) == (DiscrepancyType.COUNT_DIFFERS, "2", "5")


def test_seen_person_registered_elsewhere(session, factory, home):
    c, h, a, b = home
    c2 = factory.community(community_id="C2")
    factory.house(c2, house_id="H2")
    factory.person(c2, person_id="PX", name="李四", id_number=make_id("19900202"), house_id="H2")
    visit(
        session,
        observed_count=3,
        residents=[*both_seen(a, b), Observed("李四", id_number=make_id("19900202"))],
    )
    assert types_of(session) == ["count_differs", "not_registered_here"]
    d = session.scalars(
        select(Discrepancy).where(Discrepancy.type == DiscrepancyType.NOT_REGISTERED_HERE)
    ).one()
    assert (d.target_id, d.old_value, d.new_value, d.confidence) == ("PX", "H2", "H1", 1.0)


def test_unregistered_floating_resident(session, home):
    c, h, a, b = home
    visit(
        session,
        observed_count=3,
        residents=[*both_seen(a, b), Observed("赵六", phone="13700001111")],
    )
    d = session.scalars(
        select(Discrepancy).where(Discrepancy.type == DiscrepancyType.UNREGISTERED)
    ).one()
    record = json.loads(d.new_value)
    assert record["name"] == "赵六" and record["residence_type"] == "floating"
    assert record["house_id"] == "H1" and d.target_id is None


def test_registered_person_not_seen(session, home):
    c, h, a, b = home
    visit(session, observed_count=1, residents=[Observed(a.name, id_number=a.id_number)])
    assert types_of(session) == ["count_differs", "not_seen"]
    d = session.scalars(
        select(Discrepancy).where(Discrepancy.type == DiscrepancyType.NOT_SEEN)
    ).one()
    assert (d.target_id, d.old_value, d.new_value) == ("PB", "H1", None)


def test_key_person_not_seen(session, factory, home):
    c, h, a, b = home
    b.key_person_type = KeyPersonType.DRUGS
    session.flush()
    visit(
        session,
        observed_count=2,
        residents=[Observed(a.name, id_number=a.id_number), Observed("孙七", phone="13600002222")],
    )
    assert types_of(session) == ["key_person_not_seen", "unregistered"]


def test_nobody_home_is_no_evidence(session, home):
    visit(session, notes="无人在家")
    assert types_of(session) == []


def test_defaults_create_no_discrepancy_nobody_observed(session, home):
    """A count left at 0 is "not recorded", a use alone is no roll call and the people listed
    are not a head count: none of them creates a discrepancy the officer did not observe."""
    c, h, a, b = home
    v, _ = visit(session, observed_use="self_occupied", observed_count=0)
    assert v.observed_count is None  # stored as not recorded
    assert types_of(session) == []
    # One of the two residents met, no head count: the other is not seen, the count is not
    # compared (1 person listed is not "1 person lives here").
    visit(session, residents=[Observed(a.name, id_number=a.id_number)], observed_count=0)
    assert types_of(session) == ["not_seen"]


def test_vacant_house_with_zero_count_is_an_observation(session, home):
    v, _ = visit(session, observed_use="vacant", observed_count=0)
    assert v.observed_count == 0
    assert types_of(session) == ["count_differs", "not_seen", "not_seen", "use_differs"]
    d = session.scalars(
        select(Discrepancy).where(Discrepancy.type == DiscrepancyType.COUNT_DIFFERS)
    ).one()
    assert (d.old_value, d.new_value) == ("2", "0")


def test_same_person_registered_in_two_houses(session, factory, home):
    c, h, a, b = home
    factory.house(c, house_id="H3")
    factory.person(
        c, person_id="PA2", name="陈小华", id_number=a.id_number, house_id="H3", source="housing"
    )
    visit(session, residents=both_seen(a, b))
    d = session.scalars(select(Discrepancy)).one()
    assert d.type is DiscrepancyType.DUPLICATE_REGISTRATION
    # Seen here: the record at the other house is the one to correct.
    assert (d.target_id, d.old_value, d.new_value) == ("PA2", "H3", None)
    # A visit to the other house does not queue the same pair again.
    record_visit(
        session,
        D,
        house_id="H3",
        visited_at=WHEN,
        recorded_by="o",
        residents=[Observed("某人", phone="13500000000")],
        observed_count=1,
    )
    assert types_of(session).count("duplicate_registration") == 1


def test_same_id_number_under_another_name_is_not_a_duplicate(session, factory, home):
    c, h, a, b = home
    factory.house(c, house_id="H3")
    # Another person's record carrying the same ID number (an ID conflict, not one person).
    factory.person(c, person_id="PZ", name="刘建国", id_number=a.id_number, house_id="H3")
    visit(session, residents=both_seen(a, b))
    assert types_of(session) == []


def test_reconcile_again_does_not_duplicate(session, home):
    c, h, a, b = home
    visit(session, observed_use="rental", residents=both_seen(a, b))
    again = reconcile(session, D)
    session.commit()
    assert again.visits == 1 and again.created == 0
    assert types_of(session) == ["use_differs"]


def test_bad_visit_input_changes_nothing(session, home):
    c, h, a, b = home
    session.commit()
    bad = [
        dict(house_id="NOPE"),
        dict(residents=[Observed("王五", id_number="330302199001011230")]),  # bad check digit
        dict(residents=[Observed("王五")]),  # nothing to match on
        dict(residents=[Observed("", phone="13800000000")]),
        dict(observed_use="palace"),
        dict(observed_count=1, residents=both_seen(a, b)),
        dict(visited_at=datetime(2099, 1, 1)),
    ]
    for kw in bad:
        kw.setdefault("house_id", "H1")
        kw.setdefault("visited_at", WHEN)
        with pytest.raises(ValueError):
            record_visit(session, D, recorded_by="o", **kw)
        session.rollback()
    assert session.scalar(select(func.count()).select_from(Discrepancy)) == 0
    with pytest.raises(ScopeError):
        record_visit(session, Scope.of(["C9"]), house_id="H1", visited_at=WHEN, recorded_by="o")


# --------------------------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------------------------
def _snapshot(session):
    session.expire_all()
    houses = [
        (h.house_id, h.use.value, h.registered_residents) for h in session.scalars(select(House))
    ]
    people = [(p.person_id, p.house_id, p.community_id) for p in session.scalars(select(Person))]
    return sorted(houses), sorted(people)


def test_confirm_applies_exactly_the_change_and_keeps_old_value(session, factory, home):
    c, h, a, b = home
    c2 = factory.community(community_id="C2")
    factory.house(c2, house_id="H2")
    factory.person(c2, person_id="PX", name="李四", id_number=make_id("19900202"), house_id="H2")
    visit(
        session,
        observed_use="rental",
        observed_count=3,
        residents=[
            Observed(a.name, id_number=a.id_number),
            Observed("李四", id_number=make_id("19900202")),
            Observed("赵六", phone="13700001111", birth_date=date(1999, 9, 9)),
        ],
    )
    by_type = {d.type: d.id for d in session.scalars(select(Discrepancy))}
    assert set(by_type) == {
        DiscrepancyType.USE_DIFFERS,
        DiscrepancyType.COUNT_DIFFERS,
        DiscrepancyType.NOT_REGISTERED_HERE,
        DiscrepancyType.UNREGISTERED,
        DiscrepancyType.NOT_SEEN,
    }
    before_houses, before_people = _snapshot(session)

    aggregates.rebuild(session)
    changes = confirm(session, D, by_type[DiscrepancyType.USE_DIFFERS], actor="chief")
    session.commit()
    houses, people = _snapshot(session)
    assert houses == [("H1", "rental", 2), ("H2", "self_occupied", 0)]
    # The dashboards' aggregates follow the correction at once: H1 is now a rental factor.
    assert session.execute(
        select(AggFactor.kind, AggFactor.n).where(AggFactor.community_id == "C1")
    ).all() == [(FactorKind.RENTAL_HOUSE, 1)]
    assert people == before_people
    assert [(x.field, x.old_value, x.new_value) for x in changes] == [
        ("use", "self_occupied", "rental")
    ]

    confirm(session, D, by_type[DiscrepancyType.NOT_REGISTERED_HERE], actor="chief")
    session.commit()
    _, people = _snapshot(session)
    assert ("PX", "H1", "C1") in people  # moved with its community
    expected = [p for p in before_people if p[0] != "PX"]
    assert [p for p in people if p[0] != "PX"] == expected
    rows = session.scalars(
        select(RegistryChange).where(RegistryChange.record_id == "PX").order_by(RegistryChange.id)
    ).all()
    assert [(r.field, r.old_value, r.new_value, r.actor) for r in rows] == [
        ("house_id", "H2", "H1", "chief"),
        ("community_id", "C2", "C1", "chief"),
    ]

    confirm(session, D, by_type[DiscrepancyType.UNREGISTERED], actor="chief")
    confirm(session, D, by_type[DiscrepancyType.COUNT_DIFFERS], actor="chief")
    confirm(session, D, by_type[DiscrepancyType.NOT_SEEN], actor="chief")
    session.commit()
    new = session.scalars(select(Person).where(Person.source == "visits")).one()
    assert (new.name, new.house_id, new.residence_type.value, new.birth_date) == (
        "赵六",
        "H1",
        "floating",
        date(1999, 9, 9),
    )
    assert session.get(House, "H1").registered_residents == 3
    assert session.get(Person, "PB").house_id is None
    d = session.get(Discrepancy, by_type[DiscrepancyType.NOT_SEEN])
    assert d.status is DiscrepancyStatus.CONFIRMED and d.decided_by == "chief" and d.decided_at
    audits = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "registry.correct")
    ).all()
    assert len(audits) == 5
    with pytest.raises(ValueError, match="already confirmed"):
        confirm(session, D, d.id, actor="chief")


def test_confirm_refuses_when_registry_changed(session, home):
    c, h, a, b = home
    visit(session, observed_use="rental", residents=both_seen(a, b))
    d = session.scalars(select(Discrepancy)).one()
    h.use = HouseUse.VACANT  # a re-import changed it meanwhile
    session.commit()
    with pytest.raises(StaleDiscrepancy):
        confirm(session, D, d.id, actor="chief")
    session.rollback()
    assert session.get(House, "H1").use is HouseUse.VACANT
    assert session.get(Discrepancy, d.id).status is DiscrepancyStatus.OPEN


def test_dismiss_changes_nothing(session, home):
    c, h, a, b = home
    visit(
        session,
        observed_use="rental",
        observed_count=1,
        residents=[Observed(a.name, id_number=a.id_number)],
    )
    before = _snapshot(session)
    ids = [d.id for d in session.scalars(select(Discrepancy))]
    with pytest.raises(ValueError, match="reason"):
        dismiss(session, D, ids[0], actor="chief", reason=" ")
    for i in ids:
        dismiss(session, D, i, actor="chief", reason="租客临时外出")
    session.commit()
    assert _snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(RegistryChange)) == 0
    assert {d.status for d in session.scalars(select(Discrepancy))} == {DiscrepancyStatus.DISMISSED}
    with pytest.raises(ScopeError):
        dismiss(session, Scope.of(["C9"]), ids[0], actor="x", reason="y")


def test_queue_is_masked_and_scoped(session, home):
    c, h, a, b = home
    visit(
        session,
        observed_count=3,
        residents=[*both_seen(a, b), Observed("赵小六", id_number=make_id("19990909"))],
    )
    df = discrepancy_queue(session, D)
    assert set(df["type"]) == {"count_differs", "unregistered"}
    new = df[df["type"] == "unregistered"].iloc[0]
    assert new["name"] == "赵*六" and make_id("19990909") not in new["new_value"]
    assert "测试路" in df.iloc[0]["address"] and not any(
        ch.isdigit() for ch in df.iloc[0]["address"]
    )
    assert discrepancy_queue(session, Scope.of(["C9"])).empty


# --------------------------------------------------------------------------------------------
# Measures, by hand
# --------------------------------------------------------------------------------------------
def test_visit_measures_by_hand(session, factory):
    c1 = factory.community(community_id="C1")
    c2 = factory.community(community_id="C2")
    for i in range(4):
        factory.house(c1, house_id=f"A{i}", registered_residents=0)
    factory.house(c2, house_id="B0", registered_residents=0)
    session.commit()
    as_of = date(2026, 10, 31)
    # A0: 10 days ago, agrees (0 residents, none seen, use matches) -> verified
    record_visit(
        session,
        D,
        house_id="A0",
        visited_at=datetime(2026, 10, 21, 9),
        recorded_by="o",
        observed_use="self_occupied",
        observed_count=0,
    )
    # A1: 200 days ago, use differs -> open discrepancy, not verified
    record_visit(
        session,
        D,
        house_id="A1",
        visited_at=datetime(2026, 4, 14, 9),
        recorded_by="o",
        observed_use="rental",
    )
    # A2: 400 days ago: outside both windows
    record_visit(
        session,
        D,
        house_id="A2",
        visited_at=datetime(2025, 9, 26, 9),
        recorded_by="o",
        observed_use="self_occupied",
    )
    # B0: 30 days ago, count differs, but the discrepancy is dismissed -> verified
    record_visit(
        session,
        D,
        house_id="B0",
        visited_at=datetime(2026, 10, 1, 9),
        recorded_by="o",
        observed_count=2,
    )
    session.commit()
    created = {d.house_id: d for d in session.scalars(select(Discrepancy))}
    assert set(created) == {"A1", "B0"}
    # Pin creation times so the age of the oldest open one is known.
    created["A1"].created_at = datetime(2026, 4, 14, 12)
    created["B0"].created_at = datetime(2026, 10, 1, 12)
    dismiss(
        session, D, created["B0"].id, actor="chief", reason="核实无误", now=datetime(2026, 10, 2, 9)
    )
    session.commit()

    m = visit_measures(session, D, as_of).set_index("community_id")
    a = m.loc["C1"]
    assert (a.houses, a.visited_90, a.visited_365, a.verified) == (4, 1, 2, 1)
    assert (a.share_90, a.share_365, a.verified_share) == (0.25, 0.5, 0.25)
    assert (a.open_total, a.open_use_differs, a.oldest_open_days) == (1, 1, 200)
    b = m.loc["C2"]
    assert (b.houses, b.visited_90, b.verified, b.open_total, b.oldest_open_days) == (
        1,
        1,
        1,
        0,
        None,
    )
    # As of the day before the dismissal, B0's discrepancy was still open.
    earlier = visit_measures(session, D, date(2026, 10, 1)).set_index("community_id").loc["C2"]
    assert (earlier.open_count_differs, earlier.verified, earlier.oldest_open_days) == (1, 0, 0)

    district = visit_measures(session, D, as_of, level="district").iloc[0]
    assert (district.houses, district.visited_365, district.verified) == (5, 3, 2)
    assert district.verified_share == pytest.approx(0.4)
    assert district.oldest_open_days == 200
    subs = visit_measures(session, D, as_of, level="sub_district")
    assert subs["houses"].sum() == 5
    only_c2 = visit_measures(session, Scope.of(["C2"]), as_of)
    assert list(only_c2["community_id"]) == ["C2"]
    with pytest.raises(ValueError):
        visit_measures(session, D, as_of, level="planet")


# --------------------------------------------------------------------------------------------
# visits.csv
# --------------------------------------------------------------------------------------------
HEADER_ZH = "走访编号,房屋编号,走访时间,民警编号,实际用途,实际居住人数,备注,姓名,身份证号,联系电话,出生日期\n"


def test_import_visits_csv(session, home, tmp_path):
    from fangcang.models import ImportLog, ImportStatus, Visit
    from fangcang.visits import import_visits

    c, h, a, b = home
    session.commit()
    path = tmp_path / "visits.csv"
    path.write_text(
        HEADER_ZH
        + f"V1,H1,2026-10-20 10:00,O1,群租,3,,陈小华,{a.id_number},,\n"
        + "V1,H1,2026-10-20 10:00,O1,群租,3,,王丽,,13933334444,\n"
        + "V2,H1,2026-10-25 09:00,O1,,,无人在家,,,,\n",
        encoding="gb18030",
    )
    report = import_visits(session, path, actor="admin", scope=D)
    session.commit()
    assert report.ok, report.summary()
    assert (report.visits, report.residents) == (2, 2)
    assert types_of(session) == ["count_differs", "use_differs"]
    assert session.scalar(select(func.count()).select_from(Visit)) == 2
    log = session.scalars(select(ImportLog)).one()
    assert log.status is ImportStatus.OK and log.bundle == "visits.csv"


def test_import_visits_csv_with_errors_changes_nothing(session, home, tmp_path):
    from fangcang.models import ImportLog, ImportStatus, Visit
    from fangcang.visits import import_visits

    session.commit()
    path = tmp_path / "visits.csv"
    path.write_text(
        HEADER_ZH
        + "V1,H1,2026-10-20 10:00,O1,宫殿,1,,张三,,13800000000,\n"  # unknown use
        + "V2,NOPE,2026-10-20 10:00,O1,,,,,,,\n"  # unknown house
        + "V3,H1,2026-10-20 10:00,O1,,,,李四,,,\n"  # nothing to match on
        + "V4,H1,2026-13-01 10:00,O1,,,,,,,\n",  # bad date
        encoding="utf-8",
    )
    report = import_visits(session, path, actor="admin", scope=D)
    session.commit()
    assert not report.ok
    found = {(e.row, e.column) for e in report.errors}
    assert {(2, "observed_use"), (3, "house_id"), (4, "resident_name"), (5, "visited_at")} <= found
    assert all(e.file == "visits.csv" for e in report.errors)
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(Discrepancy)) == 0
    assert session.scalars(select(ImportLog)).one().status is ImportStatus.FAILED


def test_data_contract_documents_visits_csv():
    from pathlib import Path

    from fangcang.importer.contract import file_table
    from fangcang.visits.csvimport import SPEC

    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-contract.md").read_text(
        encoding="utf-8"
    )
    assert "## visits.csv" in doc
    assert file_table(SPEC) in doc, "docs/data-contract.md is out of date for visits.csv"


# --------------------------------------------------------------------------------------------
# Finding the house at the door
# --------------------------------------------------------------------------------------------
def test_search_houses_on_the_real_address_returns_masked_rows(session, factory):
    from fangcang.visits.views import search_houses

    c1 = factory.community(community_id="C1")
    c2 = factory.community(community_id="C2")
    factory.house(c1, house_id="H1", address="沿江路12号3室")
    factory.house(c1, house_id="H2", address="沿江路12号")
    factory.house(c1, house_id="H3", address="沿江路120号")
    factory.house(c2, house_id="H9", address="沿江路12号5室")  # another jurisdiction
    for i in range(5):
        factory.house(c1, house_id=f"HX{i}", address=f"望江路{i}号")
    df, total = search_houses(session, Scope.of(["C1"]), " 沿江路 12号")
    assert total == 2 and list(df["house_id"]) == ["H2", "H1"]  # exact match first
    assert not df["address"].str.contains("12").any()  # masked: 沿江路**号
    assert search_houses(session, Scope.of(["C1"]), "沿江路12")[1] == 3
    df, total = search_houses(session, Scope.of(["C1"]), "望江路", limit=2)
    assert (len(df), total) == (2, 5)  # a cut list says how many there are
    assert search_houses(session, Scope.of(["C1"]), "100%")[1] == 0  # LIKE wildcards escaped
    with pytest.raises(ValueError, match="two characters"):
        search_houses(session, D, "沿")


def test_nearest_houses_to_the_phone(session, factory):
    from fangcang.visits.views import nearest_houses

    c1 = factory.community(community_id="C1")
    c2 = factory.community(community_id="C2")
    factory.house(c1, house_id="FAR", lon=120.6050, lat=28.0050 + 0.0040)  # ~445 m north
    factory.house(c1, house_id="B", lon=120.6050 + 0.0010, lat=28.0050)  # ~98 m east
    factory.house(c1, house_id="A", lon=120.6050, lat=28.0050 + 0.0002)  # ~22 m north
    factory.house(c2, house_id="OTHER", lon=120.6050, lat=28.0050)  # 0 m, not in scope
    factory.house(c1, house_id="NOPOS")  # no coordinates
    df = nearest_houses(session, Scope.of(["C1"]), 120.6050, 28.0050)
    assert list(df["house_id"]) == ["A", "B"]
    assert list(df["distance_m"]) == [22, 98]
    assert "*" in df["address"].iloc[0]
    with pytest.raises(ValueError):
        nearest_houses(session, D, 500, 28)


def test_visit_to_a_rental_house_is_a_check_in_the_history(session, factory, home):
    """A visit to a rental house adds one check event for that day (so the house counts as in
    control that day in fangcang.checks); a visit to a self-occupied house adds none."""
    c, h, a, b = home
    factory.house(c, house_id="H2", use=HouseUse.RENTAL, check_interval_days=30)
    session.commit()
    visit(session)  # H1: self-occupied, not a factor
    assert session.query(FactorCheck).count() == 0
    visit(session, house_id="H2")
    rows = session.query(FactorCheck).all()
    assert [(r.kind, r.record_id, r.checked_on, r.interval_days, r.source) for r in rows] == [
        (FactorKind.RENTAL_HOUSE, "H2", WHEN.date(), 30, "visit")
    ]
    visit(session, house_id="H2")  # a second visit on the same day adds nothing
    assert session.query(FactorCheck).count() == 1
    assert checks.has_history(session)


def test_one_pass_birth_candidates_report_the_real_error_and_recover(session, monkeypatch):
    """A database error inside the one-pass candidate search surfaces as itself (on
    PostgreSQL a clean-up DROP in the aborted transaction used to replace it with "current
    transaction is aborted"), and the next search on the same session works."""
    from datetime import date

    from sqlalchemy.exc import StatementError

    from fangcang.visits import matching

    monkeypatch.setattr(matching, "SCAN_PAIRS", 1)
    with pytest.raises(StatementError) as err:
        matching.people_by_birth_initial(session, {("not a date", "张")})
    assert "aborted" not in str(err.value).lower()
    assert "birth_date" in str(err.value) or "date" in str(err.value).lower()
    session.rollback()
    pair = (date(1990, 1, 1), "张")
    assert matching.people_by_birth_initial(session, {pair}) == {pair: []}
