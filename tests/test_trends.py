"""Trends on the tiny district of tests/dashboard_data.py (numbers by construction)."""

from __future__ import annotations

import dashboard_data as dd
import pytest

from fangcang import trends
from fangcang.access import Scope


@pytest.fixture
def district(session, factory):
    return dd.build(session, factory, n=8)


def test_district_view(session, district):
    v = trends.trend_view(session, Scope.district(), dd.PERIOD)
    # window 2025-11..2026-10: 2 months x 5 + 10 months x 6 per community; before: 2025-01..10 x 5
    assert v.total["n"] == 8 * (2 * 5 + 10 * 6) == 560
    assert v.total["n_before"] == 8 * 10 * 5 == 400
    assert list(v.monthly_total["n"]) == [40, 40] + [48] * 10
    assert list(v.monthly_total["n_before"]) == [0, 0] + [40] * 10
    sub = v.by_sub_district.set_index("sub_district_code")
    assert (sub.loc["SDA", "n"], sub.loc["SDA", "n_before"]) == (280, 200)
    assert sub.loc["SDA", "name"] == "仰义街道"
    assert set(v.by_station["station_id"]) == {"ST1", "ST2"}
    cats = v.by_category.set_index("category")
    assert cats.loc["criminal", "n"] == 8 * (2 * 1 + 10 * 2)
    # day-of-week x hour: hour 12 has the criminal counts, hour 21 the "other" ones
    assert v.dow_hour[12].sum() == 8 * (2 * 1 + 10 * 2)
    assert v.dow_hour[21].sum() == 8 * 12 * 4
    assert v.dow_hour.shape == (7, 24)


def test_drill_down(session, district):
    v = trends.trend_view(session, Scope.district(), dd.PERIOD, sub_district="SDA")
    assert v.level == "sub_district" and v.title == "仰义街道"
    assert len(v.by_community) == 4 and set(v.by_community["n"]) == {70}
    assert v.by_sub_district.empty
    c = trends.trend_view(session, Scope.district(), dd.PERIOD, community_id="C002")
    assert c.level == "community" and c.total["n"] == 70
    with pytest.raises(ValueError, match="outside your jurisdiction"):
        trends.trend_view(session, Scope.of(["C001"]), dd.PERIOD, community_id="C002")


def test_metric_and_category(session, district):
    crime = trends.trend_view(session, Scope.district(), dd.PERIOD, metric="crime")
    assert crime.total["n"] == 8 * (2 * 2 + 10 * 3)
    alcohol = trends.trend_view(session, Scope.district(), dd.PERIOD, metric="alcohol")
    assert alcohol.total["n"] == 8 * 12
    cat = trends.trend_view(session, Scope.district(), dd.PERIOD, category="other")
    assert cat.total["n"] == 8 * 12 * 3
    assert cat.dow_hour[12].sum() == 0
    with pytest.raises(ValueError, match="metric"):
        trends.trend_view(session, Scope.district(), dd.PERIOD, metric="nope")


def test_yoy_table_significance():
    import pandas as pd

    now = pd.DataFrame({"k": ["a", "b"], "n": [100, 10]})
    before = pd.DataFrame({"k": ["a", "b"], "n": [50, 9]})
    names = pd.DataFrame({"k": ["a", "b"], "name": ["A", "B"]})
    out = trends.yoy_table(now, before, "k", names).set_index("k")
    assert out.loc["a", "pct"] == pytest.approx(100.0) and bool(out.loc["a", "significant"])
    assert not bool(out.loc["b", "significant"])


def test_short_window_compares_same_months(session, district):
    v = trends.trend_view(session, Scope.district(), dd.PERIOD, months=3)
    # 2026-08..10 (6 each) against 2025-08..10 (5 each), per community
    assert (v.total["n"], v.total["n_before"]) == (8 * 3 * 6, 8 * 3 * 5)
    assert list(v.monthly_total["n_before"]) == [40, 40, 40]
    with pytest.raises(ValueError, match="months"):
        trends.trend_view(session, Scope.district(), dd.PERIOD, months=13)


def test_without_unit_tables_the_figures_are_the_same(session, district):
    """The trends page asks for no per-unit yoy tables (it shows periods.by_unit): the total,
    the monthly series and the day-of-week grid are those of the full view."""
    for kw in (
        {},
        {"months": 3},
        {"metric": "crime"},
        {"category": "other"},
        {"sub_district": "SDA"},
    ):
        full = trends.trend_view(session, Scope.district(), dd.PERIOD, **kw)
        lean = trends.trend_view(session, Scope.district(), dd.PERIOD, units=False, **kw)
        assert lean.total == full.total, kw
        assert lean.monthly_total.equals(full.monthly_total) and lean.monthly.equals(full.monthly)
        assert lean.dow_hour.equals(full.dow_hour)
        assert lean.by_station.empty and lean.by_category.empty and not full.by_station.empty


def test_unit_tables_are_by_units_of_the_drill(session, district):
    """unit_tables builds the units of each kind from the communities of the drill-down (as
    the trends page did) and equals periods.by_units on them."""
    import pandas as pd

    from fangcang import periods
    from fangcang.i18n import enum_label
    from fangcang.models import IncidentCategory
    from fangcang.periods import PeriodChoice

    first, as_of = periods.data_span(session)
    span = periods.resolve(PeriodChoice.of_month(dd.PERIOD), as_of, first)
    meta = trends.community_meta(session, Scope.district())
    for drill, kinds, metric, category in (
        ({}, ("sub_district", "station", "category"), "total", None),
        ({"sub_district": "SDA"}, ("community", "station", "category"), "crime", None),
        ({"community_id": "C002"}, ("station", "category"), "total", "other"),
    ):
        got = trends.unit_tables(
            session,
            Scope.district(),
            span,
            kinds,
            lang="en",
            metric=metric,
            category=category,
            **drill,
        )
        m = meta
        if "community_id" in drill:
            m = m[m["community_id"] == drill["community_id"]]
        elif "sub_district" in drill:
            m = m[m["sub_district_code"] == drill["sub_district"]]
        units = {
            "sub_district": m[["community_id", "sub_district_code", "sub_district"]].rename(
                columns={"sub_district": "name"}
            ),
            "community": m[["community_id", "name"]],
            "station": m[["community_id", "station_id", "station"]].rename(
                columns={"station": "name"}
            ),
            "category": pd.DataFrame(
                {
                    "category": [c.value for c in IncidentCategory],
                    "name": [enum_label(c, "en") for c in IncidentCategory],
                }
            ),
        }
        want = periods.by_units(
            session,
            Scope.district(),
            span,
            {trends.UNIT_KEYS[k]: units[k] for k in kinds},
            metric=metric,
            category=category,
        )
        assert list(got) == [trends.UNIT_KEYS[k] for k in kinds]
        for key in got:
            pd.testing.assert_frame_equal(got[key], want[key], check_exact=True)
    assert set(got["station_id"]["name"]) <= set(meta["station"])
    with pytest.raises(ValueError, match="unknown unit kind"):
        trends.unit_tables(session, Scope.district(), span, ("street",))


def test_view_names_the_communities_it_counts(session, district):
    assert trends.trend_view(session, Scope.district(), dd.PERIOD).community_ids is None
    v = trends.trend_view(session, Scope.district(), dd.PERIOD, sub_district="SDA")
    assert v.community_ids == sorted(v.community_ids) and len(v.community_ids) == 4
    c = trends.trend_view(session, Scope.district(), dd.PERIOD, community_id="C002")
    assert c.community_ids == ["C002"]
