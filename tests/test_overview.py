"""Overview figures (fangcang.views) on the tiny district of tests/dashboard_data.py (numbers by construction)."""

from __future__ import annotations

from datetime import date, datetime

import dashboard_data as dd
import pytest

from fangcang import summary
from fangcang.access import Scope
from fangcang.scoring import store
from fangcang.timeutil import Month
from fangcang.views import overview, shared


@pytest.fixture
def district(session, factory):
    return dd.build(session, factory, n=8)


def test_headline_month_and_ytd(session, district):
    h = overview.headline(session, Scope.district(), dd.PERIOD).set_index(["span", "metric"])
    # per community and month: 2026 = 2 criminal + 1 assault + 3 telecom fraud (1 alcohol); 2025 = 1+1+3
    assert (h.loc[("month", "total"), "n"], h.loc[("month", "total"), "n_before"]) == (
        48,
        40,
    )
    assert (h.loc[("month", "crime"), "n"], h.loc[("month", "crime"), "n_before"]) == (24, 16)
    assert (h.loc[("month", "assault"), "n"], h.loc[("month", "assault"), "n_before"]) == (8, 8)
    assert (
        h.loc[("month", "telecom_fraud"), "n"],
        h.loc[("month", "telecom_fraud"), "n_before"],
    ) == (24, 24)
    assert (h.loc[("month", "alcohol"), "n"], h.loc[("month", "alcohol"), "n_before"]) == (8, 8)
    assert h.loc[("month", "total"), "pct"] == pytest.approx(20.0)
    assert (h.loc[("ytd", "total"), "n"], h.loc[("ytd", "total"), "n_before"]) == (480, 400)
    # 480 vs 400: exact p = 0.0077 -> significant; 48 vs 40 (p = 0.46) is not
    assert bool(h.loc[("ytd", "total"), "significant"])
    assert not bool(h.loc[("month", "total"), "significant"])


def test_levels_changes_top(session, district):
    o = overview.overview(session, Scope.district(), dd.PERIOD)
    assert o.levels == {"green": 2, "blue": 2, "yellow": 2, "red": 2}
    assert o.levels_before == {"green": 8, "blue": 0, "yellow": 0, "red": 0}
    assert o.changes["change"].value_counts().to_dict() == {"new_red": 2, "upgraded": 4}
    assert list(o.top["level"]) == ["red", "red", "yellow", "yellow"]
    assert all(o.top["reason"].str.len() > 0)
    assert o.top.iloc[0]["name"] == "沿江社区"
    assert o.tasks is None  # the fixture dispatches no task item


def test_monthly_this_vs_last(session, district):
    m = overview.monthly_this_vs_last(session, Scope.district(), dd.PERIOD)
    assert list(m["this_year"][:10]) == [48] * 10
    assert m["this_year"][10:].isna().all()
    assert list(m["last_year"]) == [40] * 12


def test_district_headline_and_freshness(session, district):
    d = overview.district_headline(session, Scope.district())
    assert d["communities"] == 8
    assert {k: n for k, n in d["records"].items() if n} == {"houses": 320, "people": 1200}
    assert set(d["records"]) == set(summary.KINDS)  # every kind, 0 when none
    assert d["through"] == date(2026, 10, 5)
    assert (d["incidents_ytd"], d["incidents_ly"]) == (480, 400)
    fr = overview.freshness(session, Scope.district()).set_index("source")
    assert fr.loc["公安户政", "n"] == 1200
    assert fr.loc["公安户政", "last_updated"] == datetime(2026, 10, 30, 8)


def test_scope_restricts(session, district):
    one = Scope.of(["C001"])
    h = overview.headline(session, one, dd.PERIOD).set_index(["span", "metric"])
    assert h.loc[("month", "total"), "n"] == 6
    assert store.count_levels(shared.warning_frame(session, one, dd.PERIOD))["red"] == 1


def test_no_warning_run(session, factory):
    dd.build(session, factory, n=4, with_runs=False)
    o = overview.overview(session, Scope.district(), dd.PERIOD)
    assert not o.has_warning and o.top.empty and o.changes.empty
    assert shared.default_period(session) == Month(2026, 10)


def test_latest_run_version_wins(session, district):
    ids = district["ids"]
    dd.add_run(session, dd.PERIOD, {cid: "blue" for cid in ids}, version=2)
    session.commit()
    assert (
        store.count_levels(shared.warning_frame(session, Scope.district(), dd.PERIOD))["blue"] == 8
    )
    assert shared.default_period(session) == dd.PERIOD


def test_level_scores_are_the_results_levels_and_scores(session, district):
    for scope in (Scope.district(), Scope.of(["C001", "C004", "C007"])):
        for period in (dd.PERIOD, dd.PERIOD.shift(-1)):
            full = store.results(session, period, scope)
            lean = store.level_scores(session, period, scope)
            assert list(lean.columns) == ["community_id", "level", "score"]
            assert lean.values.tolist() == full[["community_id", "level", "score"]].values.tolist()
        # level changes against last month's lean frame equal those of the full results
        now = store.results(session, dd.PERIOD, scope)
        lean = store.level_scores(session, dd.PERIOD.shift(-1), scope)
        got = store.level_changes(session, dd.PERIOD, scope, now=now, before=lean)
        assert not got.empty and got.equals(store.level_changes(session, dd.PERIOD, scope))
    assert store.level_scores(session, Month(2020, 1)).empty
