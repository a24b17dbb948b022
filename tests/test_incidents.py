"""fangcang.incidents: metric keys, date-range counts (month table + edge days), months,
year-on-year and the span of the data, checked against counts of the records themselves."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from fangcang import aggregates, incidents
from fangcang.access import Scope
from fangcang.models import IncidentCategory, IncidentSubtype
from fangcang.timeutil import Month

CATS = [
    IncidentCategory.CRIMINAL,
    IncidentCategory.PUBLIC_ORDER,
    IncidentCategory.TRAFFIC,
    IncidentCategory.DISPUTE,
]


@pytest.fixture
def records(session, factory):
    """Two communities, 160 incidents over 500 days from 2025-01-01 with known kinds; returns
    the list of (community_id, day, category, subtype, alcohol)."""
    a, b = factory.community("CA"), factory.community("CB")
    rng = np.random.default_rng(5)
    out = []
    for _ in range(160):
        c = a if rng.random() < 0.6 else b
        at = datetime(2025, 1, 1) + timedelta(hours=int(rng.integers(0, 24 * 500)))
        cat = CATS[int(rng.integers(0, len(CATS)))]
        sub = ""
        if cat is IncidentCategory.CRIMINAL:
            sub = [
                "",
                IncidentSubtype.ASSAULT.value,
                IncidentSubtype.TELECOM_FRAUD.value,
            ][int(rng.integers(0, 3))]
        alcohol = bool(rng.random() < 0.2)
        factory.incident(c, at, category=cat, subtype=sub, alcohol_related=alcohol)
        out.append((c.community_id, at.date(), cat, sub, alcohol))
    aggregates.rebuild(session)
    session.commit()
    return out


def _by_hand(rows, first: date, last: date, community: str | None = None) -> dict[str, int]:
    picked = [r for r in rows if first <= r[1] <= last and (community in (None, r[0]))]
    crime = {IncidentCategory.CRIMINAL, IncidentCategory.PUBLIC_ORDER}
    return {
        "total": len(picked),
        "crime": sum(r[2] in crime for r in picked),
        "assault": sum(r[3] == "assault" for r in picked),
        "telecom_fraud": sum(r[3] == "telecom_fraud" for r in picked),
        "alcohol": sum(r[4] for r in picked),
        "category.dispute": sum(r[2] is IncidentCategory.DISPUTE for r in picked),
    }


KEYS = [*incidents.METRICS, "category.dispute"]


def test_counts_whole_months_and_partial_edges_equal_a_count_of_records(session, records):
    rng = np.random.default_rng(7)
    for _ in range(30):
        a = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 480)))
        b = a + timedelta(days=int(rng.integers(-3, 200)))
        got = incidents.counts(session, Scope.district(), KEYS, a, b)
        assert got == _by_hand(records, a, b), (a, b)


def test_counts_by_community_and_scope(session, records):
    a, b = date(2025, 3, 17), date(2025, 11, 2)
    df = incidents.counts(session, Scope.district(), KEYS, a, b, by_community=True)
    assert list(df.index) == ["CA", "CB"]
    for cid in ("CA", "CB"):
        assert df.loc[cid].to_dict() == _by_hand(records, a, b, cid)
    only = incidents.counts(session, Scope.of(["CB"]), ["total"], a, b)
    assert only == {"total": _by_hand(records, a, b, "CB")["total"]}
    # a community without incidents is listed with zeros; an empty range counts nothing
    empty = incidents.counts(session, Scope.district(), ["total"], b, a, by_community=True)
    assert empty["total"].tolist() == [0, 0]


def test_unknown_metric_and_bad_dates_raise(session):
    with pytest.raises(ValueError, match="unknown metric"):
        incidents.counts(
            session, Scope.district(), ["total_110"], date(2025, 1, 1), date(2025, 2, 1)
        )
    with pytest.raises(ValueError, match="must be dates"):
        incidents.counts(session, Scope.district(), ["total"], "2025-01-01", date(2025, 2, 1))


def test_by_month_district_yoy_and_span(session, records):
    first, last = Month(2025, 1), Month(2026, 5)
    df = incidents.by_month(session, Scope.district(), first, last, KEYS)
    assert len(df) == 17  # every month, zeros included
    for row in df.to_dict(orient="records"):
        m = Month.parse(row["month"])
        assert {k: row[k] for k in KEYS} == _by_hand(records, m.first_day, m.last_day)
    per = incidents.by_month(session, Scope.district(), first, last, ["total"], by_community=True)
    assert per["total"].sum() == df["total"].sum() and set(per["community_id"]) == {"CA", "CB"}

    rows = {r.key: r for r in incidents.district_yoy(session, Month(2026, 1), Month(2026, 3))}
    now = _by_hand(records, date(2026, 1, 1), date(2026, 3, 31))
    before = _by_hand(records, date(2025, 1, 1), date(2025, 3, 31))
    assert (rows["crime"].now, rows["crime"].last_year) == (now["crime"], before["crime"])
    assert rows["category.dispute"].label("en") and rows["total"].label("zh") == "110警情总量"

    newest = max(r[1] for r in records)
    assert incidents.latest_data_day(session) == newest
    assert incidents.latest_data_month(session) == Month.of(newest)
    assert incidents.first_data_day(session) == min(r[1] for r in records)


def test_year_to_date(session, records):
    ytd = incidents.year_to_date(session, Scope.district(), date(2026, 2, 14))
    assert ytd.this_year == (date(2026, 1, 1), date(2026, 2, 14))
    assert ytd.last_year == (date(2025, 1, 1), date(2025, 2, 14))
    assert ytd.change.now == _by_hand(records, *ytd.this_year)["total"]
    assert ytd.change.before == _by_hand(records, *ytd.last_year)["total"]
    assert incidents.same_day_last_year(date(2028, 2, 29)) == date(2027, 2, 28)


def test_no_data(session):
    assert incidents.latest_data_month(session) is None
    assert incidents.data_span(session) is None
    ytd = incidents.year_to_date(session, Scope.district())
    assert ytd.as_of is None and ytd.change.now == 0


def test_the_district_table_answers_as_the_community_table_does(session, records):
    """District-wide sums read agg_incident_district_month; the same question asked for every
    community by name reads agg_incident_month: the answers are equal (and equal the records)."""
    every = Scope.of(["CA", "CB"])
    assert incidents.month_table(Scope.district()).__tablename__ == "agg_incident_district_month"
    assert incidents.month_table(every).__tablename__ == "agg_incident_month"
    assert incidents.month_table(Scope.district(), by_community=True).__tablename__ == (
        "agg_incident_month"
    )
    a, b = date(2025, 2, 11), date(2026, 4, 30)
    assert incidents.counts(session, Scope.district(), KEYS, a, b) == incidents.counts(
        session, every, KEYS, a, b
    )
    first, last = Month(2025, 1), Month(2026, 5)
    district = incidents.by_month(session, Scope.district(), first, last, KEYS)
    assert district.equals(incidents.by_month(session, every, first, last, KEYS))

    def counted(scope, ids=None):
        df = incidents.monthly_counts(session, scope, first, last, ids)
        return df.sort_values(["month", "category", "subtype"], ignore_index=True)

    assert counted(Scope.district()).equals(counted(every))
    assert counted(Scope.district()).equals(counted(Scope.district(), ["CA", "CB"]))
    in_months = _by_hand(records, first.first_day, last.last_day)["total"]
    assert counted(Scope.district())["n"].sum() == in_months


def test_the_metric_tables_answer_as_the_category_tables_do(session, records):
    """Headline metrics per community (or in a narrower scope) read the per-metric tables; with
    a category key among them the category x subtype tables answer: the same numbers."""
    metrics = list(incidents.METRICS)
    assert incidents.tables_for(Scope.district(), metrics, by_community=True)[0].__tablename__ == (
        "agg_incident_metric_month"
    )
    assert incidents.tables_for(Scope.district(), KEYS, by_community=True)[0].__tablename__ == (
        "agg_incident_month"
    )
    rng = np.random.default_rng(8)
    for _ in range(12):
        a = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 480)))
        b = a + timedelta(days=int(rng.integers(0, 200)))
        wide = incidents.counts(session, Scope.district(), metrics, a, b, by_community=True)
        mixed = incidents.counts(session, Scope.district(), KEYS, a, b, by_community=True)
        assert wide.equals(mixed[metrics]), (a, b)
        assert incidents.counts(session, Scope.of(["CB"]), metrics, a, b) == {
            k: int(mixed.loc["CB", k]) for k in metrics
        }
    first, last = Month(2025, 1), Month(2026, 5)
    wide = incidents.by_month(session, Scope.district(), first, last, metrics, by_community=True)
    mixed = incidents.by_month(session, Scope.district(), first, last, KEYS, by_community=True)
    assert wide.equals(mixed[wide.columns.tolist()])
    with pytest.raises(ValueError, match="only the headline metrics"):
        incidents.sum_column(incidents.AggIncidentMetricDay, "category.dispute")


def test_district_monthly_and_yoy_spans_equal_by_month_and_compare_counts(session, records):
    from fangcang.stats import compare_counts

    first, last = Month(2025, 1), Month(2026, 5)
    for scope in (Scope.district(), Scope.of(["CA"])):
        monthly = incidents.district_monthly(session, first, last, scope)
        df = incidents.by_month(session, scope, first, last, incidents.ALL_KEYS)
        assert monthly == {
            row["month"]: {k: int(row[k]) for k in incidents.ALL_KEYS}
            for row in df.to_dict(orient="records")
        }  # every month (zeros included), every key
        spans = [(Month(2026, 5), Month(2026, 5)), (Month(2026, 1), Month(2026, 5))]
        both = incidents.yoy_spans(monthly, spans)
        for (start, end), rows in zip(spans, both, strict=True):
            assert rows == incidents.yoy_from_monthly(monthly, start, end)
            for r in rows:
                c = compare_counts(r.now, r.last_year)
                assert (r.pct, r.z, r.p_value, r.significant) == (
                    c.pct,
                    c.z,
                    c.p_value,
                    c.significant,
                )
                assert r.zero_last_year == (r.last_year == 0)
    with pytest.raises(ValueError, match="before it starts"):
        incidents.yoy_spans(monthly, [(Month(2026, 5), Month(2026, 1))])
