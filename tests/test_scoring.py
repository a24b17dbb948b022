"""The default warning model computed by hand on a five-community district.

Assessment month 2026-01: window W = 2025-11 .. 2026-01, year before = 2024-11 .. 2025-01,
factors judged at 2026-01-31. Hand figures (weights .25 .30 .15 .20 .10):

community  residents floating  W all  W crime  year before  factors out/total
A          1000      200       30     12       20           6/10
B          2000        0       30     30       30           1/6   (default interval 90 d)
C           500      500        0      0        5           none
D             0        0       10     10        0           2/2   (no residents)
E          1000      500       15      6       15           3/4

incident_rate  A30 B15 C0 D0 E15      -> p  A100  B62.5 C12.5 D12.5 E62.5
crime_rate     A12 B15 C0 D0 E6       -> p  A75   B100  C12.5 D12.5 E50
incident_trend A2.010 B0 C-4.472 D6.325 E0 -> p A75 B37.5 C0 D100 E37.5
control_gap    A.6 B.1667 C0 D1 E.75  -> p  A50   B25   C0    D100  E75
floating_share A.2 B0 C1 D0 E.5       -> p  A50   B12.5 C100  D12.5 E75
score  A 73.75->73.8 yellow, B 57.5 blue, C 16.875->16.9 green, D 43.125->43.1 green,
       E 58.75->58.8 blue
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from fangcang import scoring
from fangcang.access import Scope, ScopeError
from fangcang.models import (
    AggFactor,
    AggIncidentDay,
    AggPopulation,
    AuditEntry,
    FactorKind,
    IncidentCategory,
    ResidenceType,
    WarningLevel,
    WarningResult,
    WarningRun,
)
from fangcang.scoring import explain
from fangcang.scoring.config import ScoringConfig, load_config
from fangcang.scoring.inputs import Windows
from fangcang.scoring.model import percentiles, round_score
from fangcang.timeutil import Month

JAN = Month(2026, 1)
CR, PO, DI = IncidentCategory.CRIMINAL, IncidentCategory.PUBLIC_ORDER, IncidentCategory.DISPUTE

# (community, day, category, n)
INCIDENTS = [
    # A: W = 5 + 7 + 18 = 30 (crime 12) on the window's first and last days; outside W: 10-31, 02-01
    ("A", date(2025, 11, 1), CR, 5),
    ("A", date(2026, 1, 31), PO, 7),
    ("A", date(2025, 12, 15), DI, 18),
    ("A", date(2025, 10, 31), DI, 3),
    ("A", date(2026, 2, 1), CR, 4),
    ("A", date(2026, 3, 10), DI, 36),
    # A year before: 10 + 10 = 20 on the year-before window's first and last days
    ("A", date(2024, 11, 1), DI, 10),
    ("A", date(2025, 1, 31), CR, 10),
    ("A", date(2024, 10, 31), DI, 2),
    ("A", date(2025, 2, 1), DI, 2),
    # B
    ("B", date(2025, 12, 1), PO, 30),
    ("B", date(2024, 12, 1), PO, 30),
    ("B", date(2026, 4, 30), DI, 10),
    # C
    ("C", date(2025, 1, 15), DI, 5),
    # D
    ("D", date(2026, 1, 10), CR, 10),
    ("D", date(2026, 2, 28), IncidentCategory.TRAFFIC, 5),
    # E
    ("E", date(2025, 11, 20), CR, 6),
    ("E", date(2025, 11, 21), IncidentCategory.OTHER, 9),
    ("E", date(2024, 11, 20), IncidentCategory.TRAFFIC, 15),
    ("E", date(2026, 3, 1), IncidentCategory.ASSISTANCE, 20),
]
POPULATION = {
    "A": {ResidenceType.REGISTERED: 800, ResidenceType.FLOATING: 150, ResidenceType.OVERSEAS: 50},
    "B": {ResidenceType.REGISTERED: 2000},
    "C": {ResidenceType.FLOATING: 500},
    "E": {ResidenceType.REGISTERED: 500, ResidenceType.FLOATING: 500},
}
# (community, kind, checked_on, interval_days, n)
FACTORS = [
    ("A", FactorKind.KEY_PERSON, date(2026, 1, 2), 30, 4),  # first day of the interval: in
    ("A", FactorKind.KEY_PERSON, date(2026, 1, 1), 30, 3),  # the day before: not
    ("A", FactorKind.KEY_PERSON, None, 30, 2),  # never checked
    ("A", FactorKind.KEY_PERSON, date(2026, 2, 5), 30, 1),  # after the control day
    ("B", FactorKind.RENTAL_HOUSE, date(2025, 11, 3), 0, 5),  # default 90 d: first day, in
    ("B", FactorKind.RENTAL_HOUSE, date(2025, 11, 2), 0, 1),  # default 90 d: day before
    ("D", FactorKind.VENUE, None, 30, 2),
    ("E", FactorKind.GROUP_RENTAL_HOUSE, date(2026, 1, 31), 30, 1),
    ("E", FactorKind.GROUP_RENTAL_HOUSE, date(2025, 12, 1), 30, 3),
]

EXPECTED = {
    "A": dict(
        incident_rate=30.0,
        crime_rate=12.0,
        incident_trend=2 * (math.sqrt(30) - math.sqrt(20)),
        control_gap=0.6,
        floating_share=0.2,
        p=(100, 75, 75, 50, 50),
        score=73.8,
        level=WarningLevel.YELLOW,
        significant=True,
    ),
    "B": dict(
        incident_rate=15.0,
        crime_rate=15.0,
        incident_trend=0.0,
        control_gap=1 / 6,
        floating_share=0.0,
        p=(62.5, 100, 37.5, 25, 12.5),
        score=57.5,
        level=WarningLevel.BLUE,
        significant=False,
    ),
    "C": dict(
        incident_rate=0.0,
        crime_rate=0.0,
        incident_trend=-2 * math.sqrt(5),
        control_gap=0.0,
        floating_share=1.0,
        p=(12.5, 12.5, 0, 0, 100),
        score=16.9,
        level=WarningLevel.GREEN,
        significant=True,
    ),
    "D": dict(
        incident_rate=0.0,
        crime_rate=0.0,
        incident_trend=2 * math.sqrt(10),
        control_gap=1.0,
        floating_share=0.0,
        p=(12.5, 12.5, 100, 100, 12.5),
        score=43.1,
        level=WarningLevel.GREEN,
        significant=True,
    ),
    "E": dict(
        incident_rate=15.0,
        crime_rate=6.0,
        incident_trend=0.0,
        control_gap=0.75,
        floating_share=0.5,
        p=(62.5, 50, 37.5, 75, 75),
        score=58.8,
        level=WarningLevel.BLUE,
        significant=False,
    ),
}


def fill_aggregates(session, incidents=INCIDENTS, population=POPULATION, factors=FACTORS):
    """Write the pre-aggregated rows the importer would (summing duplicate keys)."""
    counts = defaultdict(int)
    for cid, day, cat, n in incidents:
        counts[(cid, day, cat)] += n
    for (cid, day, cat), n in counts.items():
        session.add(
            AggIncidentDay(
                community_id=cid, day=day, category=cat, subtype="", n=n, n_alcohol=0, loss_yuan=0.0
            )
        )
    for cid, by_type in population.items():
        for rtype, n in by_type.items():
            session.add(AggPopulation(community_id=cid, residence_type=rtype, n=n))
    for cid, kind, checked_on, interval, n in factors:
        session.add(
            AggFactor(
                community_id=cid, kind=kind, checked_on=checked_on, interval_days=interval, n=n
            )
        )
    session.flush()


@pytest.fixture
def district(session, factory):
    """Five communities with equal squares (equal areas), one sub-district and station."""
    sd = factory.sub_district(name="仰义街道")
    st = factory.station(name="仰义派出所")
    comms = {
        cid: factory.community(community_id=cid, name=f"{cid}社区", sub_district=sd, station=st)
        for cid in "ABCDE"
    }
    fill_aggregates(session)
    session.commit()
    return comms


def by_id(df):
    return {r["community_id"]: r for r in df.to_dict("records")}


# ---------------------------------------------------------------------------------------------
def test_shipped_configuration_is_the_issue_default():
    cfg = load_config()
    assert dict(cfg.weights) == pytest.approx(
        {
            "incident_rate": 0.25,
            "crime_rate": 0.30,
            "incident_trend": 0.15,
            "control_gap": 0.20,
            "floating_share": 0.10,
        }
    )
    assert {lv.value: v for lv, v in cfg.thresholds.items()} == {
        "red": 80,
        "yellow": 65,
        "blue": 50,
    }
    assert cfg.window_months == 3
    assert cfg.factor_intervals[FactorKind.RENTAL_HOUSE] == 90


def test_windows_cross_the_year_boundary():
    w = Windows.of(JAN, 3)
    assert (w.first, w.last) == (Month(2025, 11), Month(2026, 1))
    assert w.year_before == (Month(2024, 11), Month(2025, 1))
    assert w.control_day == date(2026, 1, 31)


def test_percentiles_average_ties_and_single_community():
    assert percentiles(np.array([7.0])).tolist() == [50.0]
    assert percentiles(np.array([3.0, 1.0, 3.0, 2.0, 0.0])).tolist() == [
        87.5,
        25.0,
        87.5,
        50.0,
        0.0,
    ]
    assert percentiles(np.array([5.0, 5.0, 5.0])).tolist() == [50.0, 50.0, 50.0]
    assert percentiles(np.array([])).tolist() == []


def test_round_score_half_up():
    assert round_score([73.75, 16.875, 43.125, 62.2499999999, 62.24, 0.04]).tolist() == [
        73.8,
        16.9,
        43.1,
        62.3,
        62.2,
        0.0,
    ]


def test_default_model_by_hand(session, district):
    df = scoring.compute(session, JAN)
    assert len(df) == 5
    rows = by_id(df)
    for cid, exp in EXPECTED.items():
        r = rows[cid]
        for key in scoring.INDICATOR_KEYS:
            assert r[key] == pytest.approx(exp[key], abs=1e-12), (cid, key)
        assert tuple(r[f"p_{k}"] for k in scoring.INDICATOR_KEYS) == pytest.approx(exp["p"]), cid
        assert r["score"] == exp["score"], cid
        assert r["level"] == exp["level"], cid
        assert bool(r["significant"]) is exp["significant"], cid
    # counts behind the indicators
    assert (
        rows["A"]["incidents"],
        rows["A"]["crime_incidents"],
        rows["A"]["incidents_year_before"],
    ) == (30, 12, 20)
    assert (rows["A"]["factors"], rows["A"]["factors_out"]) == (10, 6)
    assert (rows["B"]["factors"], rows["B"]["factors_out"]) == (6, 1)
    assert (rows["C"]["factors"], rows["C"]["factors_out"]) == (0, 0)
    assert rows["D"]["residents"] == 0
    # sorted by score, highest first
    assert df["community_id"].tolist() == ["A", "E", "B", "D", "C"]


def test_scope_filters_rows_but_ranks_district_wide(session, district):
    df = scoring.compute(session, JAN, scope=Scope.of(["B", "C"]))
    assert sorted(df["community_id"]) == ["B", "C"]
    assert by_id(df)["B"]["score"] == 57.5  # percentiles still among all five
    assert scoring.compute(session, JAN, scope=Scope.of([])).empty


def test_empty_district_and_single_community(session, factory):
    assert scoring.compute(session, JAN).empty
    c = factory.community(community_id="X")
    session.commit()
    df = scoring.compute(session, JAN)
    r = by_id(df)["X"]
    assert all(r[f"p_{k}"] == 50 for k in scoring.INDICATOR_KEYS)
    assert r["score"] == 50.0 and r["level"] == WarningLevel.BLUE
    assert r["stability"] == pytest.approx(1.0)
    del c


def test_what_if_and_normalised_weights(session, district):
    cfg = load_config()
    doubled = cfg.with_changes(weights={k: 2 * v for k, v in cfg.weights.items()})
    assert doubled.hash == cfg.hash  # normalised to the same model
    assert (
        scoring.compute(session, JAN, doubled)["score"].tolist()
        == scoring.compute(session, JAN)["score"].tolist()
    )
    only_floating = cfg.with_changes(
        weights={
            "incident_rate": 0,
            "crime_rate": 0,
            "incident_trend": 0,
            "control_gap": 0,
            "floating_share": 5,
        }
    )
    rows = by_id(scoring.compute(session, JAN, only_floating))
    assert rows["C"]["score"] == 100.0 and rows["C"]["level"] == WarningLevel.RED
    lower = cfg.with_changes(levels={"red": 70, "yellow": 60})
    assert by_id(scoring.compute(session, JAN, lower))["A"]["level"] == WarningLevel.RED
    # nothing saved by a what-if
    assert session.scalar(select(WarningRun.id)) is None


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(weights={"crime_rate": -0.1}), "must not be negative"),
        (dict(weights={"crime_rate": float("nan")}), "must be a number"),
        (dict(weights={k: 0 for k in scoring.INDICATOR_KEYS}), "must not all be zero"),
        (dict(weights={"burglary_rate": 0.1}), "unknown: burglary_rate"),
        (dict(levels={"red": 60, "yellow": 65}), "strictly descending"),
        (dict(levels={"yellow": 50}), "strictly descending"),
        (dict(levels={"red": 120}), "within 0..100"),
        (dict(window_months=0), "window_months must be 1..12"),
    ],
)
def test_config_validation_errors(change, message):
    with pytest.raises(ValueError, match=message):
        load_config().with_changes(**change)


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text("window_months = 3\n[weights\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"s\.toml: not valid TOML"):
        load_config(bad)
    data = load_config().to_dict()
    del data["weights"]["control_gap"]
    with pytest.raises(
        ValueError, match=r"stored configuration: weights must name exactly.*missing: control_gap"
    ):
        ScoringConfig.from_json(json.dumps(data))
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    assert ScoringConfig.from_json(load_config().to_json()) == load_config()


def test_stability_bounds_and_borderline(session, district):
    df = scoring.compute(session, JAN)
    assert df["stability"].between(0, 1).all()
    rows = by_id(df)
    assert rows["C"]["stability"] == 1.0  # 16.9 cannot reach 50 with weights within +/-20%
    cfg = load_config()
    # B scores exactly 57.5: with blue starting there, about half the draws drop it to green.
    edge = by_id(scoring.compute(session, JAN, cfg.with_changes(levels={"blue": 57.5})))["B"]
    assert edge["level"] == WarningLevel.BLUE
    assert 0.2 < edge["stability"] < 0.8 and edge["borderline"]
    still = scoring.compute(session, JAN, cfg.with_changes(spread=0.0))
    assert (still["stability"] == 1.0).all()


def test_window_stability_detects_a_one_month_spike(session, factory):
    for cid in "QXYZ":
        factory.community(community_id=cid)
    inc = [
        ("X", date(2026, 1, 5), CR, 50),
        ("Y", date(2025, 12, 5), CR, 10),
        ("Z", date(2025, 12, 5), CR, 9),
        ("Y", date(2025, 10, 5), CR, 10),
        ("Z", date(2025, 10, 5), CR, 9),
    ]
    pop = {c: {ResidenceType.REGISTERED: 1000} for c in "QXYZ"}
    fill_aggregates(session, inc, pop, [])
    rows = by_id(scoring.compute(session, JAN))
    # X leads only because of January; with the window ending in December it has nothing.
    assert rows["X"]["level"] == WarningLevel.RED
    assert not rows["X"]["window_stable"] and rows["X"]["borderline"]
    assert (
        rows["Q"]["level"] == WarningLevel.GREEN and rows["Q"]["window_stable"]
    )  # none either way


def test_explanation_in_both_languages(session, district):
    df = scoring.compute(session, JAN)
    ex = explain.build(df, load_config())
    a = ex["A"]
    items = {i["key"]: i for i in a["indicators"]}
    assert items["crime_rate"]["median"] == 6.0 and items["crime_rate"]["ratio"] == 2.0
    assert sum(i["contribution"] for i in a["indicators"]) == pytest.approx(73.75)
    zh = explain.sentences(a, "zh")
    en = explain.sentences(a, "en")
    assert zh[0] == "综合得分73.8分，黄色预警。"
    assert (
        "刑事治安警情率为全区中位数的2.0倍（每千人12.0起）（百分位75.0，权重30%，贡献22.5分）" in zh
    )
    assert "10个治安要素中6个未按期检查（百分位50.0，权重20%，贡献10.0分）" in zh
    assert any("6 of 10 public-order factors not checked in time" in s for s in en)
    assert any(
        "30 incidents in the last 3 months against 20 a year earlier: a significant rise" in s
        for s in en
    )
    assert en[1].startswith("Incident rate 2.0x the district median")  # largest contribution first
    assert not a["zero_residents"]
    d = explain.sentences(ex["D"], "zh")
    assert ex["D"]["zero_residents"] and any("无登记人口" in s for s in d)
    assert "无治安要素" in explain.reason_line(ex["C"], "zh", n=5)
    assert "within normal variation" in explain.reason_line(ex["B"], "en", n=5)


def test_stored_run_keeps_its_colours(session, district):
    run = scoring.run(session, JAN, actor="tester")
    session.commit()
    assert run.version == 1 and run.created_by == "tester"
    assert json.loads(run.config)["weights"]["crime_rate"] == pytest.approx(0.3)
    assert run.config_hash == load_config().hash
    stored = scoring.results(session, JAN)
    assert stored["score"].tolist() == [73.8, 58.8, 57.5, 43.1, 16.9]
    assert stored.iloc[0]["name"] == "A社区" and stored.iloc[0]["sub_district"] == "仰义街道"
    assert stored.iloc[0]["station"] == "仰义派出所"
    assert stored.iloc[0]["explanation"]["level"] == "yellow"
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.target == "2026-01"))
        == "warning.run"
    )

    # New data arrives: C gets a crime wave in January.
    fill_aggregates(session, [("C", date(2026, 1, 20), CR, 200)], {}, [])
    session.commit()
    assert by_id(scoring.compute(session, JAN))["C"]["level"] != WarningLevel.GREEN
    again = scoring.run(session, JAN)  # not a rerun: the stored month stands
    assert again.id == run.id
    assert by_id(scoring.results(session, JAN))["C"]["level"] == WarningLevel.GREEN

    rerun = scoring.run(session, JAN, rerun=True)
    session.commit()
    assert rerun.version == 2 and rerun.id != run.id
    assert by_id(scoring.results(session, JAN))["C"]["level"] != WarningLevel.GREEN
    # version 1 is still on record
    v1 = session.scalar(
        select(WarningResult.level).where(
            WarningResult.run_id == run.id, WarningResult.community_id == "C"
        )
    )
    assert v1 == WarningLevel.GREEN
    assert scoring.results(session, Month(2025, 6)).empty
    with pytest.raises(ValueError, match=r"no incidents in the window 2027-04..2027-06"):
        scoring.run(session, Month(2027, 6))
    assert scoring.results(session, JAN, Scope.of(["A", "D"]))["community_id"].tolist() == [
        "A",
        "D",
    ]


def test_window_length_from_config(session, district):
    one = by_id(scoring.compute(session, JAN, load_config().with_changes(window_months=1)))
    # January 2026 only, against January 2025
    assert (
        one["A"]["incidents"],
        one["A"]["crime_incidents"],
        one["A"]["incidents_year_before"],
    ) == (7, 7, 10)
    assert (one["C"]["incidents"], one["C"]["incidents_year_before"]) == (0, 5)
    assert (one["D"]["incidents"], one["E"]["incidents"]) == (10, 0)


def test_level_changes_and_history(session, district):
    cfg = load_config()
    quiet = cfg.with_changes(levels={"red": 100, "yellow": 99.9, "blue": 99.8})
    scoring.run(session, Month(2025, 12), quiet)
    scoring.run(session, JAN, cfg.with_changes(levels={"red": 70, "yellow": 60, "blue": 50}))
    scoring.run(session, Month(2026, 2), quiet)
    session.commit()
    assert set(scoring.results(session, Month(2025, 12))["level"]) == {WarningLevel.GREEN}
    assert set(scoring.results(session, Month(2026, 2))["level"]) == {WarningLevel.GREEN}

    ch = scoring.level_changes(session, JAN)
    assert [(r.community_id, r.change) for r in ch.itertuples()] == [
        ("A", "new_red"),
        ("E", "upgraded"),
        ("B", "upgraded"),
    ]
    assert (
        ch.iloc[0]["level_before"] == WarningLevel.GREEN and ch.iloc[0]["level"] == WarningLevel.RED
    )
    down = scoring.level_changes(session, Month(2026, 2))
    assert set(down["change"]) == {"downgraded"} and sorted(down["community_id"]) == ["A", "B", "E"]
    assert scoring.level_changes(session, Month(2025, 12)).empty  # no November run
    assert scoring.level_changes(session, JAN, Scope.of(["B"]))["community_id"].tolist() == ["B"]

    hist = scoring.level_history(session, "A")
    assert hist["period"].tolist() == ["2025-12", "2026-01", "2026-02"]
    assert [WarningLevel(v) for v in hist["level"]] == [
        WarningLevel.GREEN,
        WarningLevel.RED,
        WarningLevel.GREEN,
    ]
    with pytest.raises(ScopeError):
        scoring.level_history(session, "A", Scope.of(["B"]))
    counts = scoring.level_counts(session)
    assert counts.set_index("period").loc["2026-01"].to_dict() == {
        "green": 2,
        "blue": 2,
        "yellow": 0,
        "red": 1,
    }


def test_cli_json_shape(engine, district, monkeypatch, capsys):
    from fangcang import cli

    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    assert cli.main(["score", "--period", "2026-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == "2026-01" and out["version"] == 1
    first = out["communities"][0]
    assert set(first) >= {
        "community_id",
        "name",
        "indicators",
        "percentiles",
        "score",
        "level",
        "stability",
        "significant",
    }
    assert first["community_id"] == "A" and first["level"] == "yellow" and first["score"] == 73.8
    assert set(first["indicators"]) == set(scoring.INDICATOR_KEYS)
    assert first["percentiles"]["incident_rate"] == 100.0
    assert isinstance(first["significant"], bool)
    assert cli.main(["score", "--period", "2026-01"]) == 0
    assert "already stored" in capsys.readouterr().out
    assert cli.main(["score", "--period", "2026-13"]) == 2
    assert "month must be 1..12" in capsys.readouterr().err


def test_from_raw_records_through_the_real_aggregates(session, factory):
    """The importer's aggregate rebuild feeds the model: local-day and factor rules end to end."""
    from datetime import datetime

    from fangcang.aggregates import rebuild
    from fangcang.models import HouseUse, KeyPersonType, PlaceKind, PlaceSubtype

    p, q, r = (factory.community(community_id=c) for c in "PQR")
    for _ in range(3):
        factory.person(p)
    factory.person(
        p,
        residence_type=ResidenceType.FLOATING,
        key_person_type=KeyPersonType.DRUGS,
        last_visit=date(2026, 1, 2),
        visit_interval_days=30,
    )  # first day: in control
    factory.person(
        p, key_person_type=KeyPersonType.MENTAL, last_visit=date(2026, 1, 1), visit_interval_days=30
    )  # the day before: out
    factory.house(p, use=HouseUse.RENTAL, last_checked=date(2025, 11, 3))  # default 90 d: in
    factory.house(p, use=HouseUse.GROUP_RENTAL)  # never checked: out
    factory.house(p, use=HouseUse.SELF_OCCUPIED)  # not a factor
    factory.place(
        p,
        kind=PlaceKind.VENUE,
        subtype=PlaceSubtype.KTV,
        last_inspected=date(2026, 1, 31),
        inspection_interval_days=30,
    )  # checked on the control day: in
    factory.place(p, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.DANGEROUS_GOODS)  # out
    factory.place(p, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.FACTORY)  # not a factor
    factory.incident(p, datetime(2025, 11, 1, 0, 0), CR)
    factory.incident(p, datetime(2026, 1, 31, 23, 59), PO)
    factory.incident(p, datetime(2025, 12, 10, 9, 0), DI)
    factory.incident(p, datetime(2025, 10, 31, 23, 59), CR)  # before W
    factory.incident(p, datetime(2026, 2, 1, 0, 0), CR)  # after W
    factory.incident(p, datetime(2024, 11, 1, 0, 0), DI)  # year before
    factory.incidents(q, 2, date(2026, 1, 15))  # no residents
    for _ in range(10):
        factory.person(r)
    rebuild(session)
    session.commit()

    rows = by_id(scoring.compute(session, JAN))
    assert (rows["P"]["residents"], rows["P"]["incidents"], rows["P"]["crime_incidents"]) == (
        5,
        3,
        2,
    )
    assert (rows["P"]["factors"], rows["P"]["factors_out"]) == (6, 3)
    assert rows["P"]["incident_rate"] == pytest.approx(600.0)
    assert rows["P"]["crime_rate"] == pytest.approx(400.0)
    assert rows["P"]["incident_trend"] == pytest.approx(2 * (math.sqrt(3) - 1))
    assert rows["P"]["control_gap"] == 0.5 and rows["P"]["floating_share"] == pytest.approx(0.2)
    assert rows["Q"]["incident_rate"] == 0 and rows["Q"]["incident_trend"] == pytest.approx(
        2 * math.sqrt(2)
    )
    # P: 25 + 30 + 0.15*50 + 20 + 10; Q: 6.25 + 7.5 + 15 + 5 + 2.5; R: 6.25 + 7.5 + 0 + 5 + 2.5
    assert [rows[c]["score"] for c in "PQR"] == [92.5, 36.3, 21.3]
    assert [rows[c]["level"] for c in "PQR"] == ["red", "green", "green"]
