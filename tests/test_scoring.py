"""The warning model (version 2) computed by hand on a tiny district (docs/scoring.md, worked
example).

Assessment month 2026-01: rate window W = 2025-02 .. 2026-01 (12 months); incident data starts
2025-02-01, so the trend's year-before window (2024-11 .. 2025-01) is incomplete: trend "na".

community  residents floating  crime in W  factors (out at 2026-01-31)
A          1000      200       30          10 key persons, interval 30 (6 out)
B          1000        0       10          10 rental houses, no interval -> 90 d (1 out)
C          2000      500       20          none

District crime rate 60 / 4000. Expected E = 15, 15, 30; raw ratios r = 2, 2/3, 2/3.
Marshall (1991): s2 = sum E (r - 1)^2 / sum E = (15 + 15/9 + 30/9) / 60 = 1/3; mean E = 20;
v = 1/3 - 1/20 = 17/60. Credibility w = v / (v + 1/E): A, B 0.809524 (E 15), C 0.894737 (E 30).
EB ratios: A 1 + 0.809524 = 1.809524, B 1 - 0.809524/3 = 0.730159, C 1 - 0.894737/3 = 0.701754.
All incidents are crimes, so the incident ratio is the same.

Points (anchors of scoring.toml): A crime 55 + 45 x 0.309524/0.5 = 82.857, incidents
60 + 40 x 0.619048 = 84.762, control gap 0.6 / (7/20) = 1.714 -> 35.714, floating 0.2 / 0.175 =
1.142857 -> 14.286. Score A = .45 x 82.857 + .15 x 84.762 + .15 x 35.714 + .10 x 14.286 =
56.786 -> 56.8: yellow (30 <= s < 60), and A's excess is significant (P(X >= 30 | 60, 1/4) < .01).
C: floating 0.25 / 0.175 = 1.428571 -> 42.857: score 4.3, green. B: 0, green.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from incident_rows import months_from_days
from scipy.stats import binom, norm
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang import checks, scoring, stats
from fangcang.access import Scope, ScopeError
from fangcang.models import (
    AggFactor,
    AggIncidentDay,
    AggPopulation,
    AuditEntry,
    FactorCheck,
    FactorKind,
    HouseUse,
    ImportLog,
    ImportStatus,
    IncidentCategory,
    ResidenceType,
    WarningLevel,
    WarningResult,
    WarningRun,
)
from fangcang.scoring import explain, store
from fangcang.scoring.config import ScoringConfig, load_config
from fangcang.scoring.inputs import Inputs, read_inputs, read_inputs_for
from fangcang.scoring.model import derive, eb_ratio, excess_p, gate, persist, points
from fangcang.timeutil import Month, now_local

JAN = Month(2026, 1)
CR = IncidentCategory.CRIMINAL
G, B_, Y, R = WarningLevel.GREEN, WarningLevel.BLUE, WarningLevel.YELLOW, WarningLevel.RED

INCIDENTS = [  # (community, day, category, n): all inside W (2025-02-01 .. 2026-01-31)
    ("A", date(2025, 2, 1), CR, 10),  # the window's first day
    ("A", date(2025, 6, 15), CR, 20),
    ("B", date(2025, 6, 15), CR, 10),
    ("C", date(2025, 6, 15), CR, 19),
    ("C", date(2026, 1, 31), CR, 1),  # the window's last day
    ("A", date(2026, 2, 1), CR, 50),  # after M: not counted
]
POPULATION = {
    "A": {ResidenceType.REGISTERED: 800, ResidenceType.FLOATING: 150, ResidenceType.OVERSEAS: 50},
    "B": {ResidenceType.REGISTERED: 1000},
    "C": {ResidenceType.REGISTERED: 1500, ResidenceType.FLOATING: 500},
}
# Registry today (agg_factor): totals per community and kind.
FACTORS = [("A", FactorKind.KEY_PERSON, 30, 10), ("B", FactorKind.RENTAL_HOUSE, 0, 10)]
# Check history: (kind, record, community, day, interval)
CHECKS = [
    *[(FactorKind.KEY_PERSON, f"PA{i}", "A", date(2026, 1, 2), 30) for i in range(4)],  # in
    *[(FactorKind.KEY_PERSON, f"PA{i}", "A", date(2025, 11, 1), 30) for i in range(4, 7)],
    *[(FactorKind.KEY_PERSON, f"PA{i}", "A", date(2026, 1, 1), 30) for i in range(7, 9)],
    # PA9 never checked
    *[(FactorKind.RENTAL_HOUSE, f"HB{i}", "B", date(2025, 11, 3), 0) for i in range(9)],  # in
    (FactorKind.RENTAL_HOUSE, "HB9", "B", date(2025, 11, 2), 0),  # 91 days before: out
]

EB_A, EB_B, EB_C = 1 + 17 / 21, 1 - (17 / 21) / 3, 1 - (17 / 19) / 3  # w = 17/21, 17/19


def fill(session, incidents=INCIDENTS, population=POPULATION, factors=FACTORS, history=CHECKS):
    counts = defaultdict(int)
    for cid, day, cat, n in incidents:
        counts[(cid, day, cat)] += n
    for (cid, day, cat), n in counts.items():
        session.add(
            AggIncidentDay(
                community_id=cid, day=day, category=cat, subtype="", n=n, n_alcohol=0, loss_yuan=0
            )
        )
    for cid, by_type in population.items():
        for rtype, n in by_type.items():
            session.add(AggPopulation(community_id=cid, residence_type=rtype, n=n))
    for cid, kind, interval, n in factors:
        session.add(
            AggFactor(community_id=cid, kind=kind, checked_on=None, interval_days=interval, n=n)
        )
    for kind, rid, cid, day, interval in history:
        session.add(
            FactorCheck(
                kind=kind,
                record_id=rid,
                community_id=cid,
                checked_on=day,
                interval_days=interval,
                source="test",
            )
        )
    months_from_days(session)


@pytest.fixture
def district(session, factory):
    sd = factory.sub_district(name="仰义街道")
    st = factory.station(name="仰义派出所")
    comms = {
        cid: factory.community(community_id=cid, name=f"{cid}社区", sub_district=sd, station=st)
        for cid in "ABC"
    }
    fill(session)
    session.commit()
    return comms


def by_id(df):
    return df.set_index("community_id")


# ---------------------------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------------------------
def test_eb_shrinkage_by_hand():
    s = eb_ratio(np.array([30, 10, 20]), np.array([1000, 1000, 2000]))
    assert s.district_rate == pytest.approx(60 / 4000)
    assert s.expected.tolist() == pytest.approx([15, 15, 30])
    assert s.prior_var == pytest.approx(17 / 60)
    assert s.weight.tolist() == pytest.approx([17 / 21, 17 / 21, 17 / 19])
    assert s.ratio.tolist() == pytest.approx([EB_A, EB_B, EB_C])
    # A small community keeps less of the same raw ratio than a large one.
    assert s.weight[0] < s.weight[2]


def test_eb_all_alike_and_no_residents():
    # Spread no larger than chance: every community gets the district rate (ratio 1).
    s = eb_ratio(np.array([10, 11, 9]), np.array([1000, 1000, 1000]))
    assert s.prior_var == 0.0 and s.ratio.tolist() == [1.0, 1.0, 1.0]
    s = eb_ratio(np.array([10, 5]), np.array([1000, 0]))
    assert s.ratio[1] == 1.0 and s.weight[1] == 0.0 and np.isnan(s.raw_ratio[1])


def test_alike_district_is_all_green(session, factory):
    """Ratios of 1.0 give 0 points: communities that are alike are all green, never ranked."""
    for cid in "PQRS":
        factory.community(community_id=cid)
    fill(
        session,
        incidents=[(c, date(2025, 6, 1), CR, 25) for c in "PQRS"],
        population={c: {ResidenceType.REGISTERED: 1000} for c in "PQRS"},
        factors=[],
        history=[],
    )
    df = scoring.compute(session, JAN)
    assert set(df["level"]) == {"green"} and set(df["score"]) == {0.0}


def test_points_through_fixed_anchors():
    cfg = load_config()
    assert points("crime_ratio", np.array([0.5, 1.0, 1.25, 1.75, 3.0]), cfg).tolist() == (
        pytest.approx([0, 0, 25, 77.5, 100])
    )
    assert points("trend", np.array([0.25, 0.6, 1.0, 1.25]), cfg).tolist() == pytest.approx(
        [-100, -76, 0, 20]
    )


def test_significance_gate_at_its_boundary():
    # Two communities of equal size, 20 crimes: P(X >= 16 | 20, 1/2) = 6196 / 2^20 = 0.0059
    # (< 0.01: significant); P(X >= 15) = 21700 / 2^20 = 0.0207 (not).
    p = excess_p(np.array([16, 4]), np.array([1000, 1000]))
    assert p[0] == pytest.approx(6196 / 2**20)
    assert excess_p(np.array([15, 5]), np.array([1000, 1000]))[0] == pytest.approx(21700 / 2**20)
    alpha = load_config().alpha
    assert p[0] < alpha <= excess_p(np.array([15, 5]), np.array([1000, 1000]))[0]
    # A score at red or yellow without significance stays blue; green and blue are untouched.
    ranks = gate(np.array([3, 2, 3, 1, 0]), np.array([True, False, False, False, False]))
    assert ranks.tolist() == [3, 1, 1, 1, 0]


def test_hysteresis_sequence():
    cfg = load_config()
    # blue in force; yellow seen once -> stays blue, pending upgrade
    assert persist(Y, 40.0, B_, B_, cfg) == (B_, "upgrade")
    # then blue again -> blue, nothing pending
    assert persist(B_, 20.0, B_, Y, cfg) == (B_, None)
    # yellow twice -> yellow
    assert persist(Y, 40.0, B_, Y, cfg) == (Y, None)
    # red after yellow (both above blue): the level held both months (yellow), red pending
    assert persist(R, 70.0, B_, Y, cfg) == (Y, "upgrade")
    # an extreme jump to red (score >= immediate_red) takes effect at once
    assert persist(R, 85.0, G, G, cfg) == (R, None)
    # a fall seen once: pending downgrade
    assert persist(G, 5.0, Y, Y, cfg) == (Y, "downgrade")
    # opposite moves do not add up
    assert persist(G, 5.0, B_, Y, cfg) == (B_, "downgrade")
    # no history: the raw level is in force
    assert persist(Y, 40.0, None, None, cfg) == (Y, None)
    one = cfg.with_changes(persistence_months=1)
    assert persist(Y, 40.0, B_, B_, one) == (Y, None)


def _inputs(now, before, available=True):
    n = len(now)
    one = np.ones(n, dtype=np.int64) * 1000
    zero = np.zeros(n, dtype=np.int64)
    return Inputs(
        community_ids=[f"X{i}" for i in range(n)],
        residents=one,
        floating=zero,
        incidents=np.array(now) * 4,
        crime=np.array(now) * 4,
        crime_recent=np.array(now),
        crime_year_before=np.array(before),
        factors=zero,
        factors_out=zero,
        trend_available=available,
        months_covered=12,
    )


def test_trend_marks_rise_and_fall_with_the_exact_test():
    # District 100 vs 100 (rho 1): X0 40 vs 10 rises, X1 10 vs 40 falls, X2 50 vs 50 is steady.
    d = derive(_inputs([40, 10, 50], [10, 40, 50]), load_config())
    assert d.trend_mark.tolist() == ["up", "down", "flat"]
    p_up = 2 * binom.sf(39, 50, 0.5)  # two-sided exact: P(X >= 40) doubled (symmetric)
    assert d.trend_p[0] == pytest.approx(p_up)
    assert d.trend_z[0] == pytest.approx(norm.isf(p_up / 2))
    assert d.trend_z[1] == pytest.approx(-d.trend_z[0])
    assert d.trend_ratio[0] == pytest.approx((40.5 / 10.5) / 1.0)
    # Against a district that doubled, 20 vs 10 is no rise at all.
    d2 = derive(_inputs([20, 180], [10, 90]), load_config())
    assert d2.trend_mark.tolist() == ["flat", "flat"]


def test_incomplete_year_before_window_has_no_trend():
    d = derive(_inputs([40, 10], [10, 40], available=False), load_config())
    assert d.trend_mark.tolist() == ["na", "na"]
    assert d.trend_p.tolist() == [1.0, 1.0]


def test_stats_z_and_verdict_never_disagree():
    for now in range(0, 60, 3):
        for before in range(0, 60, 4):
            c = stats.compare_counts(now, before)
            assert (abs(c.z) >= stats.Z_SIGNIFICANT) == c.significant == (c.p_value < stats.ALPHA)
            assert np.sign(c.z) == np.sign(now - before) or c.z == 0
    c = stats.compare_counts(30, 20)
    assert c.p_value == pytest.approx(2 * binom.sf(29, 50, 0.5))
    assert c.z == pytest.approx(norm.isf(c.p_value / 2))
    with pytest.raises(ValueError, match="non-negative"):
        stats.compare_counts(-1, 2)


# ---------------------------------------------------------------------------------------------
# Check history
# ---------------------------------------------------------------------------------------------
def test_check_history_answers_a_past_day(session, district):
    intervals = load_config().factor_intervals
    total, out = checks.control_at(session, ["A", "B", "C"], date(2026, 1, 31), intervals)
    assert total.tolist() == [10, 10, 0]
    assert out.tolist() == [6, 1, 0]  # A: 4 in (2026-01-02); B: 9 in (2025-11-03, default 90 d)
    # On 2025-11-20 A's checks of 2025-11-01 were in control (3), those of 2026-01 not yet made.
    total, out = checks.control_at(session, ["A", "B"], date(2025, 11, 20), intervals)
    assert out.tolist() == [7, 0]
    # On 2025-10-31 nothing had been checked yet.
    assert checks.control_at(session, ["A"], date(2025, 10, 31), intervals)[1].tolist() == [10]


def _control_by_definition(events, ids, day, intervals, total):
    """Factors not in control at ``day``, straight from the definition (docs/scoring.md)."""
    covered = {
        (cid, kind, rid)
        for kind, rid, cid, on, interval in events
        if on <= day <= on + timedelta(days=(interval or intervals[FactorKind(kind)]) - 1)
    }
    n_in = [sum(1 for c, _, _ in covered if c == cid) for cid in ids]
    return [t - min(n, t) for t, n in zip(total, n_in, strict=True)]


def test_control_at_days_follows_the_definition(session, factory):
    """Many days in one read give what the definition gives day by day: a factor counted once
    however many of its checks cover the day, its own interval or its kind's default, an older
    check with a longer interval still covering, a record in two communities counted in each,
    a community outside ``ids`` ignored, in-control counts capped at the registry's."""
    intervals = load_config().factor_intervals
    rng = np.random.default_rng(3)
    kinds = [FactorKind.KEY_PERSON, FactorKind.RENTAL_HOUSE, FactorKind.VENUE]
    events = set()
    for _ in range(600):
        kind = kinds[int(rng.integers(0, 3))]
        rid = f"R{int(rng.integers(0, 60))}"
        cid = "ABCDX"[int(rng.integers(0, 5))]
        on = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 500)))
        interval = [0, 0, 30, 45, 200][int(rng.integers(0, 5))]
        events.add((kind.value, rid, cid, on, interval))
    events = list({(k, r, on): (k, r, c, on, i) for k, r, c, on, i in events}.values())
    session.add_all(
        FactorCheck(kind=k, record_id=r, community_id=c, checked_on=on, interval_days=i, source="t")
        for k, r, c, on, i in events
    )
    registry = {"A": 200, "B": 200, "C": 200, "D": 3}  # D: capped
    session.add_all(
        AggFactor(community_id=c, kind=FactorKind.VENUE, checked_on=None, interval_days=0, n=n)
        for c, n in registry.items()
    )
    session.flush()
    ids = ["A", "B", "C", "D", "E"]
    total = [registry.get(c, 0) for c in ids]
    days = [date(2026, 3, 31), date(2025, 6, 30), date(2025, 1, 1), date(2025, 6, 30)]
    days += [date(2025, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 560, 20)]
    got_total, got = checks.control_at_days(session, ids, days, intervals, chunk=97)
    assert got_total.tolist() == total
    assert got.shape == (len(days), len(ids))
    for i, day in enumerate(days):
        want = _control_by_definition(events, ids, day, intervals, total)
        assert got[i].tolist() == want, day
        assert checks.control_at(session, ids, day, intervals)[1].tolist() == want
    assert checks.control_at_days(session, ids, [], intervals)[1].shape == (0, 5)


def test_control_at_days_names_a_kind_without_default_interval(session):
    """An event with no interval of its own (0) whose kind has no default: the error names
    the kind, not the record or its community."""
    session.add(
        FactorCheck(
            kind=FactorKind.VENUE,
            record_id="PL1",
            community_id="A",
            checked_on=date(2026, 1, 5),
            interval_days=0,
            source="t",
        )
    )
    session.flush()
    intervals = {FactorKind.KEY_PERSON: 30}
    with pytest.raises(ValueError, match=r"no default check interval .*\['venue'\]"):
        checks.control_at_days(session, ["A"], [date(2026, 1, 31)], intervals)


def test_inputs_of_several_months_equal_month_by_month(session, district):
    config = load_config()
    months = [Month(2025, 3), Month(2026, 2), JAN, Month(2025, 12)]
    together = read_inputs_for(session, months, config)
    assert list(together) == months
    for m in months:
        alone = read_inputs(session, m, config)
        for name, value in vars(alone).items():
            other = getattr(together[m], name)
            if isinstance(value, np.ndarray):
                assert other.tolist() == value.tolist(), (m, name)
            else:
                assert other == value, (m, name)
    # Passed on to the model, they give the same frame as reading month by month.
    a = scoring.compute(session, JAN, inputs=together)
    b = scoring.compute(session, JAN)
    pd.testing.assert_frame_equal(a, b)


def test_record_last_checks_is_idempotent(session, factory):
    c = factory.community(community_id="K")
    factory.person(c, person_id="P1", key_person_type="drugs", last_visit=date(2026, 1, 5))
    factory.person(c, person_id="P2", last_visit=date(2026, 1, 5))  # not a key person
    factory.house(c, house_id="H1", use=HouseUse.RENTAL, last_checked=date(2025, 12, 1))
    factory.house(c, house_id="H2", use=HouseUse.RENTAL)  # never checked
    assert checks.record_last_checks(session) == 2
    assert checks.record_last_checks(session) == 0  # the same dates again: nothing added
    assert checks.add_check(session, FactorKind.KEY_PERSON, "P1", "K", date(2026, 2, 3))
    assert not checks.add_check(session, FactorKind.KEY_PERSON, "P1", "K", date(2026, 2, 3))
    kinds = dict(
        session.execute(
            select(FactorCheck.record_id, func.count()).group_by(FactorCheck.record_id)
        ).all()
    )
    assert kinds == {"P1": 2, "H1": 1}
    # Generated history goes in through the driver's bulk path and answers past days.
    rows = [("rental_house", "H1", "K", date(2025, 9, 1), 0, "demo")]
    assert checks.add_checks(session, rows) == 1
    total, out = checks.control_at(
        session, ["K"], date(2025, 10, 1), load_config().factor_intervals
    )
    assert out.tolist() == [0] or total.tolist() == [0]  # registry counts come from agg_factor
    on = session.scalar(select(FactorCheck.checked_on).where(FactorCheck.source == "demo"))
    assert on == date(2025, 9, 1)
    with pytest.raises(ValueError, match="record id"):
        checks.add_check(session, FactorKind.VENUE, "", "K", date(2026, 1, 1))


# ---------------------------------------------------------------------------------------------
# The model on the tiny district
# ---------------------------------------------------------------------------------------------
def test_model_by_hand(session, district):
    df = by_id(scoring.compute(session, JAN, persistence=False))
    a, b, c = df.loc["A"], df.loc["B"], df.loc["C"]
    assert (a["crime_incidents"], b["crime_incidents"], c["crime_incidents"]) == (30, 10, 20)
    assert [a["crime_ratio"], b["crime_ratio"], c["crime_ratio"]] == pytest.approx(
        [EB_A, EB_B, EB_C]
    )
    assert a["incident_ratio"] == pytest.approx(EB_A)
    assert a["control_gap"] == pytest.approx(0.6) and b["control_gap"] == pytest.approx(0.1)
    assert a["control_ratio"] == pytest.approx(0.6 / 0.35)
    assert a["floating_ratio"] == pytest.approx(0.2 / 0.175)
    assert c["floating_ratio"] == pytest.approx(0.25 / 0.175)
    assert a["pt_crime_ratio"] == pytest.approx(55 + 45 * (EB_A - 1.5) / 0.5)
    assert a["pt_incident_ratio"] == pytest.approx(60 + 40 * (EB_A - 1.5) / 0.5)
    assert a["pt_control_ratio"] == pytest.approx(50 * (0.6 / 0.35 - 1))
    assert a["pt_floating_ratio"] == pytest.approx(100 * (0.2 / 0.175 - 1))
    assert set(df["trend_mark"]) == {"na"} and set(df["pt_trend"]) == {0.0}
    assert (a["score"], b["score"], c["score"]) == (56.8, 0.0, 4.3)
    assert a["excess_p"] == pytest.approx(binom.sf(29, 60, 0.25)) and a["significant"]
    assert not b["significant"] and not c["significant"]
    assert (a["level"], b["level"], c["level"]) == ("yellow", "green", "green")
    assert a["raw_level"] == "yellow" and a["pending"] is None
    # With persistence: December (computed, no stored run) measured A red (all 10 key persons
    # out of control on 2025-12-31), so yellow is only pending in January.
    dec = by_id(scoring.compute(session, JAN.shift(-1), persistence=False)).loc["A"]
    assert dec["control_gap"] == 1.0 and dec["raw_level"] == "red"
    a2 = by_id(scoring.compute(session, JAN)).loc["A"]
    assert (a2["level"], a2["raw_level"], a2["pending"]) == ("red", "yellow", "downgrade")
    assert df.attrs["district_crime_rate"] == pytest.approx(15.0)  # per 1,000 over W
    # The scope filters rows only: rates stay the district's.
    one = scoring.compute(session, JAN, scope=Scope.of(["C"]), persistence=False)
    assert one["community_id"].tolist() == ["C"] and one.iloc[0]["score"] == 4.3


def test_gate_keeps_an_insignificant_high_score_blue(session, factory):
    # Three large communities with a real spread (40, 300, 100 crimes per 10,000) and D, 400
    # residents with 12 crimes: its EB ratio (1.78) scores in the yellow band, but 12 against
    # about 6 expected is not significant at 0.01 (p = 0.018): D stays blue.
    pops = {"F": 10000, "G": 10000, "H": 10000, "D": 400}
    crimes = {"F": 40, "G": 300, "H": 100, "D": 12}
    for cid in pops:
        factory.community(community_id=cid)
    fill(
        session,
        incidents=[(c, date(2025, 6, 1), CR, n) for c, n in crimes.items()],
        population={c: {ResidenceType.REGISTERED: n} for c, n in pops.items()},
        factors=[],
        history=[],
    )
    df = scoring.compute(session, JAN, persistence=False)
    d = by_id(df).loc["D"]
    assert 30 <= d["score"] < 60 and d["excess_p"] == pytest.approx(0.0182, abs=1e-4)
    assert d["raw_level"] == "blue" and not d["significant"]
    assert by_id(df).loc["G", "level"] == "red"
    e = explain.build(df, load_config())["D"]
    assert e["gated"] is True
    assert "得分已达黄色，但超出不显著，等级最高为蓝色。" in explain.sentences(e, "zh")


def test_what_if_and_config_validation(session, district):
    cfg = load_config().with_changes(weights={"floating_ratio": 0.9})
    assert sum(cfg.weights.values()) == pytest.approx(1.0)
    df = by_id(scoring.compute(session, JAN, cfg, with_stability=False))
    assert df.loc["C", "score"] > 4.3
    with pytest.raises(ValueError, match="strictly descending"):
        load_config().with_changes(levels={"yellow": 70})
    with pytest.raises(ValueError, match="weight crime_ratio must not be negative"):
        load_config().with_changes(weights={"crime_ratio": -1})
    data = load_config().to_dict()
    data["anchors"]["crime_ratio"] = [[1.5, 0], [1.0, 10]]
    with pytest.raises(ValueError, match="strictly increasing"):
        ScoringConfig.from_dict(data, source="x.toml")
    data = load_config().to_dict()
    data["model_version"] = 1
    with pytest.raises(ValueError, match="model_version"):
        ScoringConfig.from_dict(data, source="x.toml")
    assert ScoringConfig.from_json(load_config().to_json()).hash == load_config().hash


def test_shipped_configuration():
    cfg = load_config()
    assert cfg.window_months == 12 and cfg.trend_months == 3
    assert cfg.alpha == 0.01 and cfg.persistence_months == 2
    assert {k: v for k, v in cfg.thresholds.items()} == {R: 60.0, Y: 30.0, B_: 12.0}
    for key in scoring.INDICATOR_KEYS:  # ratio 1.0 is neutral everywhere
        assert points(key, np.array([1.0]), cfg)[0] == 0.0


# ---------------------------------------------------------------------------------------------
# Stored runs
# ---------------------------------------------------------------------------------------------
def test_stored_run_persistence_and_readers(session, district):
    feb = JAN.shift(1)
    r1 = scoring.run(session, JAN, actor="tester")
    session.commit()
    assert r1.model_version == 2 and r1.version == 1
    assert scoring.run(session, JAN) is r1  # stored months never change by themselves
    res = by_id(store.results(session, JAN, lang="zh"))
    # A: red in force (December measured red), yellow measured once: pending downgrade.
    assert res.loc["A", "model_version"] == 2
    assert (res.loc["A", "level"], res.loc["A", "raw_level"]) == ("red", "yellow")
    assert res.loc["A", "pending"] == "downgrade"
    assert res.loc["A", "ratio_crime_ratio"] == pytest.approx(EB_A, abs=1e-6)
    assert "刑事治安警情率为全区的1.81倍" in res.loc["A", "reason"]
    assert store.levels_for_month(session, JAN) == {"A": "red", "B": "green", "C": "green"}

    # February: B's crimes jump (60 more on 2026-02-10): raw yellow/red once -> pending upgrade.
    session.add(
        AggIncidentDay(
            community_id="B",
            day=date(2026, 2, 10),
            category=CR,
            subtype="",
            n=60,
            n_alcohol=0,
            loss_yuan=0,
        )
    )
    months_from_days(session)
    scoring.run(session, feb)
    session.commit()
    b = by_id(store.results(session, feb)).loc["B"]
    assert b["raw_level"] in ("yellow", "red") and b["level"] == "green"
    assert b["pending"] == "upgrade"
    pend = store.pending_changes(session, feb)
    assert "B" in pend["community_id"].tolist()
    hist = store.level_history(session, "B")
    assert hist["period"].tolist() == ["2026-01", "2026-02"]
    assert hist["pending"].isna().tolist() == [True, False]
    assert hist["pending"].iloc[1] == "upgrade"
    with pytest.raises(ScopeError):
        store.level_history(session, "B", Scope.of(["A"]))
    counts = store.level_counts(session)
    assert counts["period"].tolist() == ["2026-01", "2026-02"]
    assert store.count_levels(store.results(session, JAN)) == {
        "green": 2,
        "blue": 0,
        "yellow": 0,
        "red": 1,
    }
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("warning.run") == 2


def test_old_model_runs_stay_readable(session, district):
    """A run stored by model 1 (before migration 0007) reads through the same functions."""
    run = WarningRun(
        period="2025-12",
        version=1,
        created_at=datetime(2026, 1, 1),
        created_by="old",
        config="{}",
        config_hash="0" * 64,
        data_version=1,
        window_first="2025-10",
        n_communities=1,
    )
    session.add(run)
    session.flush()
    old_expl = {
        "score": 73.8,
        "level": "yellow",
        "residents": 1000,
        "zero_residents": False,
        "window_months": 3,
        "significant": True,
        "stability": 0.9,
        "window_stable": True,
        "borderline": False,
        "spread": 0.2,
        "draws": 1000,
        "indicators": [
            {
                "key": "crime_rate",
                "raw": 12.0,
                "percentile": 75.0,
                "weight": 0.3,
                "contribution": 22.5,
                "median": 6.0,
                "ratio": 2.0,
            },
        ],
        "top": ["crime_rate"],
    }
    session.add(
        WarningResult(
            run_id=run.id,
            community_id="A",
            incident_rate=30,
            crime_rate=12,
            incident_trend=2.0,
            control_gap=0.6,
            floating_share=0.2,
            p_incident_rate=100,
            p_crime_rate=75,
            p_incident_trend=75,
            p_control_gap=50,
            p_floating_share=50,
            residents=1000,
            incidents=30,
            crime_incidents=12,
            incidents_year_before=20,
            factors=10,
            factors_out=6,
            score=73.8,
            level="yellow",
            stability=0.9,
            window_stable=True,
            borderline=False,
            significant=True,
            explanation=json.dumps(old_expl),
        )
    )
    session.commit()
    assert session.get(WarningRun, run.id).model_version == 1
    old = store.results(session, Month(2025, 12), lang="en").iloc[0]
    assert old["model_version"] == 1 and old["level"] == "yellow"
    assert old["p_crime_rate"] == 75 and pd.isna(old["pt_crime_ratio"])
    assert "Crime rate 2.0x the district median" in old["reason"]
    # Model 2 does not carry a model-1 level on: January is computed afresh.
    assert store.persistence_state(session, Month(2025, 12)) is None


def test_explanation_in_both_languages(session, district):
    df = scoring.compute(session, JAN, persistence=False)
    e = explain.build(df, load_config())["A"]
    zh = explain.sentences(e, "zh")
    en = explain.sentences(e, "en")
    assert zh[0] == "综合得分56.8分，黄色预警。"
    assert any("差异显著" in s for s in zh)
    assert any("趋势不可用" in s for s in zh)
    assert any("10个治安要素中6个未按期检查（60.0%，全区35.0%）" in s for s in zh)
    assert en[0] == "Score 56.8: yellow warning."
    held = explain.build(scoring.compute(session, JAN), load_config())["A"]
    assert explain.sentences(held, "zh")[:2] == [
        "综合得分56.8分，红色预警。",
        "本月测得黄色预警，待降级：连续两个月才生效。",
    ]
    assert any("Trend not available" in s for s in en)
    # The hook for other analyses (emerging hot spots): one extra sentence.
    hook = explain.register_sentence(lambda e, lang: "HOTSPOT" if e["level"] == "yellow" else None)
    try:
        assert "HOTSPOT" in explain.sentences(e, "zh")
    finally:
        explain.EXTRA_SENTENCES.remove(hook)


def test_cli_score_json_and_rerun_history(engine, district, monkeypatch, capsys):
    from fangcang import cli

    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    assert cli.main(["score", "--period", "2025-12", "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["score", "--period", "2026-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_version"] == 2 and out["version"] == 1
    first = out["communities"][0]
    assert (first["community_id"], first["score"]) == ("A", 56.8)
    assert (first["level"], first["raw_level"], first["pending"]) == ("red", "yellow", "downgrade")
    assert set(first["indicators"]) == set(scoring.INDICATOR_KEYS)
    assert first["points"]["trend"] == 0.0 and first["trend_mark"] == "na"
    assert out["already_stored"] is False and out["note"] is None
    # The same month again: the stored run, saying so (and whether newer data came in since).
    assert cli.main(["score", "--period", "2026-01", "--json"]) == 0
    again = capsys.readouterr()
    stored = json.loads(again.out)
    assert stored["run_id"] == out["run_id"] and stored["already_stored"] is True
    assert stored["newer_data"] is False and "use --rerun" in stored["note"]
    with Session(engine) as s:  # an import after the run
        s.add(
            ImportLog(
                started_at=now_local(),
                finished_at=now_local(),
                actor="feed:test",
                bundle="b",
                channel="feed:test",
                files="{}",
                counts="{}",
                rejected=0,
                status=ImportStatus.OK,
                message="",
                duration_s=0.0,
            )
        )
        s.commit()
    assert cli.main(["score", "--period", "2026-01", "--json"]) == 0
    again = capsys.readouterr()
    stored = json.loads(again.out)
    assert stored["newer_data"] is True
    assert "1 import loaded data since: use --rerun" in stored["note"]
    assert "use --rerun" in again.err
    assert cli.main(["score", "--period", "2026-01"]) == 0
    assert "1 import loaded data since: use --rerun" in capsys.readouterr().out
    # --rerun re-scores every stored month up to the period, oldest first.
    assert cli.main(["score", "--period", "2026-01", "--rerun"]) == 0
    text = capsys.readouterr().out
    assert "warning 2025-12: re-scored" in text and "version 2" in text
    assert cli.main(["score", "--period", "2026-13"]) == 2
