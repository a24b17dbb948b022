"""Review-meeting periods: window arithmetic (no database) and counts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from fangcang import aggregates, periods
from fangcang.access import Scope
from fangcang.models import IncidentCategory
from fangcang.periods import PeriodChoice, PeriodKind, Window, resolve
from fangcang.stats import compare_counts
from fangcang.timeutil import Month

TODAY = date(2026, 11, 30)


def _w(a: str, b: str) -> Window:
    return Window(date.fromisoformat(a), date.fromisoformat(b))


def _resolve(choice, as_of="2026-11-28", data_first="2020-01-01", today=TODAY):
    return resolve(
        choice,
        date.fromisoformat(as_of),
        date.fromisoformat(data_first) if data_first else None,
        today=today,
    )


# --------------------------------------------------------------------------- choices and URLs
@pytest.mark.parametrize(
    "text,kind",
    [
        ("2026-10", PeriodKind.MONTH),
        ("7d", PeriodKind.DAYS_7),
        ("28d", PeriodKind.DAYS_28),
        ("ytd", PeriodKind.YTD),
        ("2026-Q3", PeriodKind.QUARTER),
        ("2026-09-01..2026-10-15", PeriodKind.CUSTOM),
    ],
)
def test_choice_round_trips_through_its_url_value(text, kind):
    choice = PeriodChoice.parse(text)
    assert choice.kind is kind
    assert choice.param() == text
    assert PeriodChoice.parse(choice.param()) == choice


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "14d", "2026-10-05..2026-10-01", "x"])
def test_bad_url_values_are_value_errors(text):
    with pytest.raises(ValueError):
        PeriodChoice.parse(text)


def test_a_reversed_custom_range_names_the_field():
    with pytest.raises(ValueError, match=r"^first: .*2026-10-05.*after.*2026-10-01"):
        PeriodChoice.of_range(date(2026, 10, 5), date(2026, 10, 1))


def test_choice_needs_its_parts():
    with pytest.raises(ValueError, match="month"):
        PeriodChoice(PeriodKind.MONTH)
    with pytest.raises(ValueError, match="quarter"):
        PeriodChoice(PeriodKind.QUARTER, year=2026)
    with pytest.raises(ValueError, match="last"):
        PeriodChoice(PeriodKind.CUSTOM, first=date(2026, 1, 1))


# --------------------------------------------------------------------------- windows
def test_last_7_and_28_days_end_on_the_data_as_of_day_not_today():
    p = _resolve(PeriodChoice(PeriodKind.DAYS_7))
    assert p.current == _w("2026-11-22", "2026-11-28")
    assert p.basis("year_before").window == _w("2025-11-22", "2025-11-28")
    assert p.basis("previous").window == _w("2026-11-15", "2026-11-21")
    p = _resolve(PeriodChoice(PeriodKind.DAYS_28))
    assert p.current == _w("2026-11-01", "2026-11-28")
    assert p.current.days == 28
    assert p.basis("previous").window == _w("2026-10-04", "2026-10-31")
    assert all(b.exposure_ratio == 1.0 for b in p.bases)


def test_a_whole_month_is_compared_with_whole_months():
    p = _resolve(PeriodChoice.of_month(Month(2026, 10)))
    assert p.complete
    assert p.current == _w("2026-10-01", "2026-10-31")
    assert p.basis("year_before").window == _w("2025-10-01", "2025-10-31")
    assert p.basis("previous").window == _w("2026-09-01", "2026-09-30")
    assert p.basis("previous").exposure_ratio == pytest.approx(31 / 30)
    assert p.warning_month == Month(2026, 10)


def test_a_running_month_is_cut_at_the_data_and_compared_over_the_same_days():
    p = _resolve(PeriodChoice.of_month(Month(2026, 11)))
    assert not p.complete
    assert p.current == _w("2026-11-01", "2026-11-28")
    assert p.basis("year_before").window == _w("2025-11-01", "2025-11-28")
    assert p.basis("previous").window == _w("2026-10-01", "2026-10-28")
    # 30 days of March against February's 28 (all of it): compared as daily rates
    p = _resolve(PeriodChoice.of_month(Month(2026, 3)), as_of="2026-03-30")
    assert p.basis("previous").window == _w("2026-02-01", "2026-02-28")
    assert p.basis("previous").exposure_ratio == pytest.approx(30 / 28)


def test_a_month_after_the_data_is_refused():
    with pytest.raises(ValueError, match=r"^month: 2026-12 starts after .*2026-11-28"):
        _resolve(PeriodChoice.of_month(Month(2026, 12)))


def test_leap_february_against_a_common_one_and_back():
    p = _resolve(PeriodChoice.of_month(Month(2028, 2)), as_of="2028-03-10", today=date(2028, 3, 11))
    assert p.current.days == 29
    assert p.basis("year_before").window == _w("2027-02-01", "2027-02-28")
    assert p.basis("year_before").exposure_ratio == pytest.approx(29 / 28)
    p = _resolve(PeriodChoice.of_month(Month(2029, 2)), as_of="2029-03-10", today=date(2029, 3, 11))
    assert p.basis("year_before").window == _w("2028-02-01", "2028-02-29")  # whole month
    assert p.basis("year_before").exposure_ratio == pytest.approx(28 / 29)


def test_a_week_over_29_february_maps_it_to_the_28th():
    p = _resolve(PeriodChoice(PeriodKind.DAYS_7), as_of="2028-03-02", today=date(2028, 3, 3))
    assert p.current == _w("2028-02-25", "2028-03-02")
    yb = p.basis("year_before")
    assert yb.window == _w("2027-02-25", "2027-03-02")
    assert yb.exposure_ratio == pytest.approx(7 / 6)
    assert periods.year_earlier(date(2028, 2, 29)) == date(2027, 2, 28)
    assert periods.year_earlier(date(2027, 3, 1)) == date(2026, 3, 1)


def test_year_to_date_and_its_comparisons():
    p = _resolve(PeriodChoice(PeriodKind.YTD))
    assert p.current == _w("2026-01-01", "2026-11-28")
    assert p.basis("year_before").window == _w("2025-01-01", "2025-11-28")
    # CompStat: the year to date has no previous period (the days just before it are other
    # seasons and overlap the year-earlier window); it is compared with the prior year's only
    prev = p.basis("previous")
    assert not prev.available and prev.window is None and prev.reason == "not_compared"
    assert p.basis("year_before").available
    p = _resolve(PeriodChoice(PeriodKind.YTD), as_of="2028-02-29", today=date(2028, 3, 1))
    assert p.basis("year_before").window == _w("2027-01-01", "2027-02-28")
    assert p.basis("year_before").exposure_ratio == pytest.approx(60 / 59)


def test_quarters_and_their_boundaries():
    assert periods.quarter_of(date(2026, 3, 31)) == (2026, 1)
    assert periods.quarter_of(date(2026, 4, 1)) == (2026, 2)
    assert periods.quarter_of(date(2026, 12, 31)) == (2026, 4)
    p = _resolve(PeriodChoice.of_quarter(2026, 1))
    assert p.complete and p.current == _w("2026-01-01", "2026-03-31")
    assert p.basis("previous").window == _w("2025-10-01", "2025-12-31")
    assert p.basis("year_before").window == _w("2025-01-01", "2025-03-31")
    # the running quarter: quarter to date against the previous quarter's same elapsed days
    p = _resolve(PeriodChoice.of_quarter(2026, 4))
    assert not p.complete and p.current == _w("2026-10-01", "2026-11-28")
    assert p.basis("previous").window == _w("2026-07-01", "2026-08-28")
    assert p.basis("year_before").window == _w("2025-10-01", "2025-11-28")
    with pytest.raises(ValueError, match="^quarter: "):
        _resolve(PeriodChoice.of_quarter(2027, 1))
    assert periods.quarters(date(2025, 11, 15), date(2026, 4, 1)) == [
        (2026, 2),
        (2026, 1),
        (2025, 4),
    ]


def test_custom_range_in_the_future_or_after_the_data_names_the_field():
    with pytest.raises(ValueError, match=r"^last: 2026-12-05 is in the future"):
        _resolve(PeriodChoice.of_range(date(2026, 11, 1), date(2026, 12, 5)))
    with pytest.raises(ValueError, match=r"^first: 2026-12-01 is in the future"):
        _resolve(PeriodChoice.of_range(date(2026, 12, 1), date(2026, 12, 5)))
    with pytest.raises(ValueError, match=r"^last: 2026-11-29 is after the last day with data"):
        _resolve(PeriodChoice.of_range(date(2026, 11, 1), date(2026, 11, 29)))
    with pytest.raises(ValueError, match=r"^last: 2019-02-01 is before the first day with data"):
        _resolve(PeriodChoice.of_range(date(2019, 1, 1), date(2019, 2, 1)), data_first="2024-11-01")
    p = _resolve(PeriodChoice.of_range(date(2026, 9, 1), date(2026, 10, 15)))
    assert p.current.days == 45
    assert p.basis("previous").window == _w("2026-07-18", "2026-08-31")


def test_a_comparison_before_the_data_is_unavailable_not_zero():
    p = _resolve(PeriodChoice(PeriodKind.DAYS_28), data_first="2026-01-01")
    assert not p.basis("year_before").available
    assert p.basis("year_before").reason == "before_data"
    assert p.basis("previous").available and p.basis("previous").reason is None
    assert p.covered
    p = _resolve(
        PeriodChoice.of_range(date(2025, 12, 1), date(2026, 1, 31)), data_first="2026-01-01"
    )
    assert not p.covered


# --------------------------------------------------------------------------- counts
@pytest.fixture
def district(session, factory):
    """Two communities; incidents on days around month and year edges."""
    a, b = factory.community(), factory.community()
    days = {
        # community a: criminal incidents
        date(2025, 11, 20): 2,
        date(2025, 11, 28): 1,
        date(2026, 10, 31): 3,  # previous 28 days start on 10-04
        date(2026, 11, 1): 4,
        date(2026, 11, 15): 5,
        date(2026, 11, 28): 6,
    }
    for day, n in days.items():
        factory.incidents(a, n, day)
    factory.incidents(b, 7, date(2026, 11, 20), category=IncidentCategory.DISPUTE)
    factory.incident(b, datetime(2026, 9, 3, 8), subtype="assault")
    aggregates.rebuild(session)
    session.flush()
    return a, b


def test_data_span(session, district):
    assert periods.data_span(session) == (date(2025, 11, 20), date(2026, 11, 28))


@pytest.mark.parametrize(
    "first,last,expected",
    [
        ("2026-11-01", "2026-11-28", 4 + 5 + 6 + 7),  # one month cut
        ("2026-10-31", "2026-11-01", 3 + 4),  # across a month edge: days only
        ("2025-11-01", "2026-11-28", 2 + 1 + 1 + 3 + 4 + 5 + 6 + 7),  # whole months + edges
        ("2025-11-21", "2026-11-27", 1 + 1 + 3 + 4 + 5 + 7),
        ("2026-01-01", "2026-08-31", 0),
    ],
)
def test_range_counts_add_whole_months_and_edge_days(session, district, first, last, expected):
    got = periods.range_counts(session, Scope.district(), _w(first, last))
    assert int(got["n"].sum()) == expected


def test_comparison_counts_both_bases_and_tests_them(session, district):
    p = resolve(PeriodChoice(PeriodKind.DAYS_28), date(2026, 11, 28), date(2025, 11, 20), TODAY)
    df = periods.comparison(session, Scope.district(), p).set_index("metric")
    total = df.loc["total"]
    assert total["n"] == 4 + 5 + 6 + 7
    # the year-before window (2025-11-01..28) starts before the data: no comparison, not 0
    assert pd.isna(total["n_year_before"])
    assert total["verdict_year_before"] == "unavailable"
    assert total["n_previous"] == 3
    c = compare_counts(22, 3)
    assert total["z_previous"] == pytest.approx(c.z)
    assert total["verdict_previous"] == ("up" if c.significant else "noise")
    assert total["change_previous"] == 19
    assert total["pct_previous"] == pytest.approx(100 * (22 - 3) / 3)
    assert df.loc["crime", "n"] == 15
    assert df.loc["assault", "n"] == 0
    # without a known data start the same window is compared (2 + 1 in 2025-11-01..28)
    p = resolve(PeriodChoice(PeriodKind.DAYS_28), date(2026, 11, 28), None, TODAY)
    total = periods.comparison(session, Scope.district(), p).set_index("metric").loc["total"]
    assert total["n_year_before"] == 3
    assert total["verdict_year_before"] == "up"
    assert compare_counts(22, 3).significant


def test_unequal_windows_compare_daily_rates(session, district):
    # October (31 days: 3 incidents) against September (30 days: 1 assault)
    p = resolve(PeriodChoice.of_month(Month(2026, 10)), date(2026, 11, 28), date(2025, 11, 20))
    df = periods.comparison(session, Scope.district(), p).set_index("metric")
    row = df.loc["total"]
    assert row["n"] == 3 and row["n_previous"] == 1
    rate = 1 * 31 / 30
    assert row["pct_previous"] == pytest.approx(100 * (3 - rate) / rate)
    assert row["z_previous"] == pytest.approx(compare_counts(3, 1, 31 / 30).z)
    assert df.loc["assault", "n_previous"] == 1
    assert row["n_year_before"] == 0 or pd.isna(row["n_year_before"])


def test_by_unit_and_scope(session, district):
    a, b = district
    p = resolve(PeriodChoice(PeriodKind.DAYS_28), date(2026, 11, 28), date(2025, 11, 20), TODAY)
    units = pd.DataFrame({"community_id": [a.community_id, b.community_id], "name": ["A", "B"]})
    df = periods.by_unit(session, Scope.district(), p, units, "community_id")
    assert list(df["name"]) == ["A", "B"]  # most incidents first
    assert list(df["n"]) == [15, 7]
    assert list(df["n_previous"]) == [3, 0]
    assert list(df["verdict_year_before"]) == ["unavailable", "unavailable"]
    cats = pd.DataFrame({"category": [c.value for c in IncidentCategory], "name": "x"})
    by_cat = periods.by_unit(session, Scope.district(), p, cats, "category").set_index("category")
    assert by_cat.loc[IncidentCategory.CRIMINAL.value, "n"] == 15
    assert by_cat.loc[IncidentCategory.DISPUTE.value, "n"] == 7
    only_b = Scope.of([b.community_id])
    total = periods.comparison(session, only_b, p, metrics=("total",)).iloc[0]
    assert total["n"] == 7 and total["n_previous"] == 0


def test_year_to_date_is_compared_with_the_year_before_only(session, district):
    p = resolve(PeriodChoice(PeriodKind.YTD), date(2026, 11, 28), None, TODAY)
    total = periods.comparison(session, Scope.district(), p).set_index("metric").loc["total"]
    assert total["verdict_previous"] == "unavailable"
    assert pd.isna(total["n_previous"]) and pd.isna(total["pct_previous"])
    assert total["verdict_year_before"] != "unavailable"
    units = pd.DataFrame({"community_id": [c.community_id for c in district], "name": ["A", "B"]})
    df = periods.by_unit(session, Scope.district(), p, units, "community_id")
    assert set(df["verdict_previous"]) == {"unavailable"}


def test_by_units_equals_by_unit_per_table(session, district, factory):
    """by_units reads each window's per-community counts once and runs every table's exact
    tests in one vectorised call: each table equals its own by_unit, value for value (also
    for a community without a unit, left out, and names that tie)."""
    a, b = district
    c = factory.community()  # no incidents, no station below
    units = pd.DataFrame(
        {
            "community_id": [a.community_id, b.community_id, c.community_id],
            "name": ["A", "B", "C"],
            "station_id": ["S1", "S1", None],
            "station": ["站", "站", None],
        }
    )
    tables = {
        "community_id": units[["community_id", "name"]],
        "station_id": units[["community_id", "station_id", "station"]].rename(
            columns={"station": "name"}
        ),
        "category": pd.DataFrame(
            {"category": [c.value for c in IncidentCategory], "name": "same name"}
        ),
    }
    for choice in (PeriodChoice(PeriodKind.DAYS_28), PeriodChoice(PeriodKind.YTD)):
        p = resolve(choice, date(2026, 11, 28), date(2025, 11, 20), TODAY)
        for metric, category in (("total", None), ("assault", None), ("total", "dispute")):
            got = periods.by_units(
                session, Scope.district(), p, tables, metric=metric, category=category
            )
            assert list(got) == list(tables)
            for key, table in tables.items():
                one = periods.by_unit(
                    session, Scope.district(), p, table, key, metric=metric, category=category
                )
                pd.testing.assert_frame_equal(got[key], one, check_exact=True)
            # the station sums its communities (C, without a station, counts towards none)
            s1 = got["station_id"].set_index("station_id").loc["S1", "n"]
            assert s1 == got["community_id"]["n"].sum()
    # names that tie keep the categories' order among equal counts (a stable sort)
    cat = got["category"]
    zeros = cat[cat["n"] == 0]["category"].tolist()
    order = [c.value for c in IncidentCategory]
    assert zeros == sorted(zeros, key=order.index)


def test_compared_all_equals_each_group_alone():
    p = resolve(PeriodChoice(PeriodKind.DAYS_28), date(2026, 11, 28), date(2025, 11, 20), TODAY)
    q = resolve(PeriodChoice(PeriodKind.YTD), date(2026, 11, 28), date(2020, 1, 1), TODAY)
    groups = [
        ([15, 7, 0, 300], [3, 0, 0, 250], p.basis("previous")),
        ([15, 7, 0, 300], [0, 0, 0, 0], p.basis("year_before")),  # unavailable
        ([1, 2000], [40, 1900], q.basis("year_before")),
        ([], [], q.basis("year_before")),
        ([5], [0], q.basis("previous")),  # the year to date has none
    ]
    together = periods._compared_all(groups)
    assert together == [periods._compared(*g) for g in groups]
    for (ns, befores, basis), rows in zip(groups, together, strict=True):
        if not basis.available:
            continue
        for n, before, row in zip(ns, befores, rows, strict=True):
            c = compare_counts(n, before, basis.exposure_ratio)
            assert row[f"z_{basis.key}"] == c.z
            assert row[f"significant_{basis.key}"] == c.significant
