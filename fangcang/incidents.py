"""Incident counts: the one place for the metric keys, their SQL, and every count of incidents
by community, month, category and date range, year-on-year, the span of the data and the
year-to-date headline.

Metrics
-------
``METRICS`` are the headline metrics shown everywhere (overview, trends, effect, bulletins):
``total``, ``crime``, ``assault``, ``telecom_fraud``, ``alcohol``; ``category.<value>`` counts
one ``IncidentCategory``. Each key is defined once (``fangcang.metrics``) and turned into SQL
here (``sum_column``) or into a filter on a counted frame (``metric_mask``).

Which table answers
-------------------
Everything reads the pre-aggregated tables (never the incident records), the smallest that
answers (``tables_for``); whole months from a month table, only the days of a partly covered
month at either end of a date range from a day table (``counts``):

- summed over the whole district: ``agg_incident_district_month`` (month x category x subtype,
  ~30 rows a month at full size);
- per community or in a narrower scope, headline metrics only: ``agg_incident_metric_month``
  / ``_day`` (community x month / day, one column per metric, ~120 rows a month / day);
- otherwise (a category per community): ``agg_incident_month`` (community x month x category
  x subtype, ~2,800 rows a month) and ``agg_incident_day``.

The span of the data (``latest_data_day``, ``data_span``) reads ``agg_incident_day`` (a
min/max on its day index). The scope is applied in SQL.

Size: 571 lines, over the house limit of ~500 on purpose: this is the one place every count of
incidents is made; split, a metric's SQL and its frame filter or a count and its year-earlier
comparison would live apart again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import String, case, func, select, true, type_coerce
from sqlalchemy.orm import Session

from .access import Scope
from .i18n import enum_label, t
from .metrics import METRIC_COLUMNS, METRICS, SPECS
from .models import (
    AggIncidentDay,
    AggIncidentDistrictMonth,
    AggIncidentMetricDay,
    AggIncidentMetricMonth,
    AggIncidentMonth,
    Community,
    IncidentCategory,
)
from .stats import Change, compare_counts, compare_many
from .timeutil import Month, month_range, now_local

#: One key per incident category.
CATEGORY_KEYS: tuple[str, ...] = tuple(f"category.{c.value}" for c in IncidentCategory)
#: Every countable key: the headline metrics, then each category.
ALL_KEYS: tuple[str, ...] = (*METRICS, *CATEGORY_KEYS)
#: Metric key -> i18n key of its label.
METRIC_KEYS: dict[str, str] = {m: f"metric.{m}" for m in METRICS}

_SPECS = SPECS  # the one definition of every key (fangcang.metrics)
_METRIC_TABLES = (AggIncidentMetricDay, AggIncidentMetricMonth)


def check_keys(keys: Sequence[str]) -> tuple[str, ...]:
    """``keys`` as a tuple; ``ValueError`` naming any key that is not in ``ALL_KEYS``."""
    if isinstance(keys, str):
        keys = (keys,)
    keys = tuple(keys)
    unknown = [k for k in keys if k not in _SPECS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {list(ALL_KEYS)}")
    if not keys:
        raise ValueError("at least one metric is needed")
    return keys


def label(key: str, lang: str = "zh") -> str:
    """The display label of a metric or ``category.<value>`` key in ``lang``."""
    check_keys([key])
    if key.startswith("category."):
        return enum_label(IncidentCategory(key.split(".", 1)[1]), lang)
    return t(METRIC_KEYS[key], lang)


def tables_for(
    scope: Scope, keys: Sequence[str] = (), *, by_community: bool = False, community_ids=None
) -> tuple[type, type]:
    """(month table, day table) that answer ``keys`` in ``scope`` (see the module docstring):
    the district table for sums over the whole district, the per-metric tables for headline
    metrics per community or in a narrower scope, else the category x subtype tables."""
    district = scope.is_district and not by_community and community_ids is None
    if keys and all(k in METRIC_COLUMNS for k in keys):
        return (AggIncidentDistrictMonth if district else AggIncidentMetricMonth), (
            AggIncidentMetricDay
        )
    return (AggIncidentDistrictMonth if district else AggIncidentMonth), AggIncidentDay


def month_table(scope: Scope, *, by_community: bool = False, community_ids=None):
    """The category x subtype month table that answers (``AggIncidentDistrictMonth`` for sums
    over the whole district, else ``AggIncidentMonth``)."""
    return tables_for(scope, by_community=by_community, community_ids=community_ids)[0]


def in_scope(model, scope: Scope):
    """``scope``'s WHERE clause on ``model`` (the district table holds only the whole district)."""
    if model is AggIncidentDistrictMonth:
        if not scope.is_district:
            raise ValueError("the district table answers only for the whole district")
        return true()
    return scope.clause(model.community_id)


def sum_column(model, key: str):
    """SQL ``sum`` of metric ``key`` over rows of ``model`` (an incident aggregate: a category
    x subtype table, or for a headline metric a per-metric table); NULL over no rows."""
    key = check_keys([key])[0]
    if model in _METRIC_TABLES:
        if key not in METRIC_COLUMNS:
            raise ValueError(f"{model.__tablename__} holds only the headline metrics, not {key}")
        return func.sum(getattr(model, METRIC_COLUMNS[key]))
    spec = _SPECS[key]
    value = getattr(model, spec.column)
    conditions = []
    if spec.categories is not None:
        cats = [IncidentCategory(c) for c in sorted(spec.categories)]
        conditions.append(model.category.in_(cats))
    if spec.subtype is not None:
        conditions.append(model.subtype == spec.subtype)
    if not conditions:
        return func.sum(value)
    cond = conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]
    return func.sum(case((cond, value), else_=0))


def metric_mask(frame: pd.DataFrame, key: str) -> pd.Series:
    """Rows of a counted frame (columns category, subtype, n, n_alcohol, as from
    ``monthly_counts``) that count towards ``key``."""
    spec = _SPECS[check_keys([key])[0]]
    mask = pd.Series(True, index=frame.index)
    if spec.categories is not None:
        mask &= frame["category"].isin(spec.categories)
    if spec.subtype is not None:
        mask &= frame["subtype"] == spec.subtype
    return mask


def metric_values(frame: pd.DataFrame, key: str) -> pd.Series:
    """The count column of a counted frame that ``key`` sums (``n`` or ``n_alcohol``)."""
    return frame[_SPECS[check_keys([key])[0]].column]


def metric_counts(frame: pd.DataFrame, keys: Sequence[str] = METRICS) -> dict[str, int]:
    """Each metric of ``keys`` summed over a counted frame (any subset of rows)."""
    return {k: int(metric_values(frame, k)[metric_mask(frame, k)].sum()) for k in check_keys(keys)}


def month_key(session: Session, column):
    """SQL expression giving ``YYYY-MM`` of a date column on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


# ---------------------------------------------------------------------------------------------
# The span of the data
# ---------------------------------------------------------------------------------------------
def latest_data_day(session: Session, scope: Scope | None = None) -> date | None:
    """The newest day with incidents in the aggregates (in ``scope`` when given; None when
    there are none)."""
    stmt = select(func.max(AggIncidentDay.day))
    if scope is not None:
        stmt = stmt.where(scope.clause(AggIncidentDay.community_id))
    return session.scalar(stmt)


def first_data_day(session: Session) -> date | None:
    """The oldest day with incidents in the aggregates (None when there are none)."""
    return session.scalar(select(func.min(AggIncidentDay.day)))


def latest_data_month(session: Session) -> Month | None:
    """The month of the newest day with incidents (None when there is no data)."""
    newest = latest_data_day(session)
    return Month.of(newest) if newest else None


def data_days(session: Session) -> tuple[date, date] | None:
    """The first and last day with incident data in the aggregates; None when there is none."""
    # two scalar subqueries: each is one step along the day index (min and max in one SELECT
    # make SQLite scan the whole table)
    first, last = session.execute(
        select(
            select(func.min(AggIncidentDay.day)).scalar_subquery(),
            select(func.max(AggIncidentDay.day)).scalar_subquery(),
        )
    ).one()
    return None if last is None else (first, last)


def data_span(session: Session) -> tuple[Month, Month] | None:
    """The first and last *complete* months of incident data, or None without any.

    A month is complete when the data reaches its first day (for the first month) and its last
    day (for the last month): data from 2024-01-15 to 2026-10-20 spans 2024-02 .. 2026-09. The
    newest day on file marks the end even when it has no crime incident.
    """
    days = data_days(session)
    if days is None:
        return None
    first_day, last_day = days
    first = Month.of(first_day)
    if first_day != first.first_day:
        first = first.shift(1)
    last = Month.of(last_day)
    if last_day + timedelta(days=1) != last.shift(1).first_day:
        last = last.shift(-1)
    return (first, last) if first <= last else None


# ---------------------------------------------------------------------------------------------
# Date ranges
# ---------------------------------------------------------------------------------------------
def range_parts(
    start: date, end: date, month_model=AggIncidentMonth, day_model=AggIncidentDay
) -> list[tuple[type, object, date, date]]:
    """(model, date column, from, to exclusive) covering ``start .. end``: whole months from
    ``month_model``, the partial months at either end from ``day_model`` (``tables_for``)."""
    stop = end + timedelta(days=1)
    whole_first = (
        Month.of(start).first_day if start.day == 1 else Month.of(start).shift(1).first_day
    )
    whole_stop = Month.of(stop).first_day
    if whole_first >= whole_stop:
        return [(day_model, day_model.day, start, stop)]
    out = [(month_model, month_model.month, whole_first, whole_stop)]
    if start < whole_first:
        out.append((day_model, day_model.day, start, whole_first))
    if whole_stop < stop:
        out.append((day_model, day_model.day, whole_stop, stop))
    return out


def counts(
    session: Session,
    scope: Scope,
    metrics: Sequence[str],
    start: date,
    end: date,
    *,
    by_community: bool = False,
) -> dict[str, int] | pd.DataFrame:
    """Incidents on the days ``start .. end`` (both inclusive), for each metric.

    Whole months are summed from the month tables (``month_table``: the district table for a
    district-wide sum) and only the partly covered months at either end from
    ``agg_incident_day`` (a year to date reads ~12 month rows per category instead of ~330 day
    rows per community).

    Parameters
    ----------
    scope : Scope
        The communities counted (applied in SQL).
    metrics : sequence of str
        Keys of ``ALL_KEYS`` (``METRICS`` or ``category.<value>``).
    start, end : date
        The first and last day counted; ``end`` before ``start`` counts nothing.
    by_community : bool
        Per community instead of summed over the scope.

    Returns
    -------
    dict or DataFrame
        ``{metric: n}``; with ``by_community`` a DataFrame indexed by ``community_id`` (every
        community of the scope on file, sorted, zeros included) with one int64 column per
        metric. Aggregates of communities no longer on file are left out of the per-community
        frame (but counted in the sum, as the district's incidents).

    Raises
    ------
    ValueError
        An unknown metric, or ``start`` / ``end`` not dates.
    """
    keys = check_keys(metrics)
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValueError(f"start and end must be dates, got {start!r} and {end!r}")
    total = dict.fromkeys(keys, 0)
    per: dict[str, list[int]] = {}
    if end >= start:
        months, days = tables_for(scope, keys, by_community=by_community)
        for model, column, lo, hi in range_parts(start, end, months, days):
            group = [model.community_id] if by_community else []
            stmt = (
                select(*group, *[sum_column(model, k) for k in keys])
                .where(column >= lo, column < hi, in_scope(model, scope))
                .group_by(*group)
            )
            for row in session.execute(stmt):
                if by_community:
                    cid, *values = row
                    acc = per.setdefault(cid, [0] * len(keys))
                else:
                    values, acc = row, None
                for i, v in enumerate(values):
                    if acc is None:
                        total[keys[i]] += int(v or 0)
                    else:
                        acc[i] += int(v or 0)
    if not by_community:
        return total
    ids = list(
        session.scalars(
            select(Community.community_id)
            .where(scope.clause(Community.community_id))
            .order_by(Community.community_id)
        )
    )
    frame = pd.DataFrame(
        [per.get(cid, [0] * len(keys)) for cid in ids],
        index=pd.Index(ids, name="community_id"),
        columns=list(keys),
        dtype="int64",
    )
    return frame


def same_day_last_year(day: date) -> date:
    """The same calendar day a year earlier (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class YearToDate:
    """Incidents (all) from 1 January to ``as_of`` against the same calendar span a year
    earlier (``this_year``, ``last_year``: first and last day; None without data)."""

    as_of: date | None
    this_year: tuple[date, date] | None
    last_year: tuple[date, date] | None
    change: Change


def year_to_date(session: Session, scope: Scope, as_of: date | None = None) -> YearToDate:
    """All incidents this year to ``as_of`` against the same days last year.

    ``as_of`` defaults to the newest day with incident data in ``scope``, but not after today
    (data usually ends with the last complete month; comparing a full month last year with an
    empty one this year would be unfair).
    """
    if as_of is None:
        latest = latest_data_day(session, scope)
        as_of = min(latest, now_local().date()) if latest else None
    if as_of is None:
        return YearToDate(None, None, None, compare_counts(0, 0))
    this_span = (date(as_of.year, 1, 1), as_of)
    last_span = (date(as_of.year - 1, 1, 1), same_day_last_year(as_of))
    now = counts(session, scope, ["total"], *this_span)["total"]
    before = counts(session, scope, ["total"], *last_span)["total"]
    return YearToDate(as_of, this_span, last_span, compare_counts(now, before))


# ---------------------------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------------------------
def by_month(
    session: Session,
    scope: Scope,
    first: Month,
    last: Month,
    keys: Sequence[str] = METRICS,
    *,
    by_community: bool = False,
) -> pd.DataFrame:
    """Each metric of ``keys`` per month (and community) for ``first .. last``.

    Returns
    -------
    DataFrame
        month (``YYYY-MM``), [community_id,] one int64 column per key. Summed over the scope:
        every month, zeros included, oldest first. Per community: only the (community, month)
        pairs with incidents, sorted.
    """
    keys = check_keys(keys)
    rows = _by_month_rows(session, scope, first, last, keys, by_community)
    lead = ["month", "community_id"] if by_community else ["month"]
    df = pd.DataFrame([tuple(r) for r in rows], columns=[*lead, *keys])
    df["month"] = [str(Month.of(d)) for d in df["month"]]
    df[list(keys)] = df[list(keys)].fillna(0).astype("int64")
    if by_community:
        return df[["month", "community_id", *keys]].sort_values(
            ["community_id", "month"], ignore_index=True
        )
    every = pd.DataFrame({"month": [str(x) for x in month_range(first, last)]})
    out = every.merge(df, on="month", how="left")
    out[list(keys)] = out[list(keys)].fillna(0).astype("int64")
    return out


def _by_month_rows(
    session: Session,
    scope: Scope,
    first: Month,
    last: Month,
    keys: tuple[str, ...],
    by_community: bool = False,
) -> list:
    """The rows of ``by_month``: (month's first day, [community_id,] one sum per key)."""
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    m = tables_for(scope, keys, by_community=by_community)[0]
    # month first: the order of the covering index, no sort for the grouping
    group = [m.month, m.community_id] if by_community else [m.month]
    return session.execute(
        select(*group, *[sum_column(m, k) for k in keys])
        .where(m.month >= first.first_day, m.month <= last.first_day, in_scope(m, scope))
        .group_by(*group)
    ).all()


def district_monthly(
    session: Session, first: Month, last: Month, scope: Scope | None = None
) -> dict[str, dict[str, int]]:
    """Counts per month for ``first .. last`` summed over ``scope`` (default: the district):
    ``{YYYY-MM: {key: n}}`` for every key of ``ALL_KEYS``, zeros included (``by_month``'s
    figures, read into dicts without a frame). Callers that need several windows (a bulletin:
    month, year to date, trend) slice this instead of querying again."""
    rows = _by_month_rows(session, scope or Scope.district(), first, last, ALL_KEYS)
    out = {str(m): dict.fromkeys(ALL_KEYS, 0) for m in month_range(first, last)}
    for day, *values in rows:
        out[str(Month.of(day))] = {k: int(v or 0) for k, v in zip(ALL_KEYS, values, strict=True)}
    return out


def _counts_query(
    session: Session, m, scope: Scope, first: Month, last: Month, keys: list, community_ids
):
    """Sums of month table ``m`` grouped by ``keys`` (expressions on ``m``), category, subtype."""
    # Category read as plain text: converting tens of thousands of values to the enum costs
    # more than the query.
    category = type_coerce(m.category, String).label("category")
    stmt = (
        select(*keys, category, m.subtype, func.sum(m.n), func.sum(m.n_alcohol))
        .where(m.month >= first.first_day, m.month <= last.first_day, in_scope(m, scope))
        .group_by(*keys, category, m.subtype)
    )
    if community_ids is not None:
        stmt = stmt.where(m.community_id.in_(sorted(community_ids)))
    return session.execute(stmt).all()


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    df[["n", "n_alcohol"]] = df[["n", "n_alcohol"]].astype("int64")
    return df


def monthly_counts(
    session: Session,
    scope: Scope,
    first: Month,
    last: Month,
    community_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Incidents by month x category x subtype in ``first..last`` (summed over the communities
    of ``scope``, optionally only ``community_ids``): the counted frame ``metric_mask`` and
    ``metric_counts`` read.

    Returns
    -------
    DataFrame
        month (``YYYY-MM``), category, subtype, n, n_alcohol.
    """
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    m = month_table(scope, community_ids=community_ids)
    month = month_key(session, m.month).label("month")
    rows = _counts_query(session, m, scope, first, last, [month], community_ids)
    return _frame(rows, ["month", "category", "subtype", "n", "n_alcohol"])


def window_counts(
    session: Session,
    scope: Scope,
    first: Month,
    last: Month,
    community_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Incidents by community x category x subtype in the window ``first..last`` and in the same
    months a year earlier.

    Returns
    -------
    DataFrame
        community_id, window (``now`` or ``before``), category, subtype, n, n_alcohol.
    """
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    window = case((AggIncidentMonth.month >= first.first_day, "now"), else_="before").label(
        "window"
    )
    rows = _counts_query(
        session,
        AggIncidentMonth,
        scope,
        first.shift(-12),
        last,
        [AggIncidentMonth.community_id, window],
        community_ids,
    )
    df = _frame(rows, ["community_id", "window", "category", "subtype", "n", "n_alcohol"])
    # months between the two windows (when the window is shorter than a year) are not "before"
    if last.shift(-12) < first.shift(-1):
        gap = _counts_query(
            session,
            AggIncidentMonth,
            scope,
            last.shift(-11),
            first.shift(-1),
            [AggIncidentMonth.community_id],
            community_ids,
        )
        g = _frame(gap, ["community_id", "category", "subtype", "n", "n_alcohol"]).assign(
            window="before"
        )
        df = pd.concat([df, g.assign(n=-g["n"], n_alcohol=-g["n_alcohol"])], ignore_index=True)
        df = df.groupby(["community_id", "window", "category", "subtype"], as_index=False)[
            ["n", "n_alcohol"]
        ].sum()
    return df


# ---------------------------------------------------------------------------------------------
# Year-on-year
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YoYRow:
    """One key's count in a period against the same months a year earlier."""

    key: str  # a key of ALL_KEYS
    now: int
    last_year: int
    pct: float | None  # None when last year was 0
    z: float
    p_value: float
    significant: bool
    zero_last_year: bool

    def label(self, lang: str = "zh") -> str:
        return label(self.key, lang)


def yoy_from_monthly(
    monthly: dict[str, dict[str, int]],
    period_start: Month,
    period_end: Month,
    keys: Sequence[str] = ALL_KEYS,
) -> list[YoYRow]:
    """Year-on-year rows (exact Poisson test, ``stats.compare_counts``) from
    ``district_monthly`` output that covers ``period_start - 12 .. period_end`` (a ``KeyError``
    names a missing month)."""
    return yoy_spans(monthly, [(period_start, period_end)], keys)[0]


def yoy_spans(
    monthly: dict[str, dict[str, int]],
    spans: Sequence[tuple[Month, Month]],
    keys: Sequence[str] = ALL_KEYS,
) -> list[list[YoYRow]]:
    """``yoy_from_monthly`` of several spans ``(start, end)`` at once: every exact test in one
    vectorised call (``stats.compare_many``, equal to ``compare_counts`` pair by pair)."""
    keys = check_keys(keys)
    for start, end in spans:
        if end < start:
            raise ValueError(f"period ends ({end}) before it starts ({start})")

    def total(months: list[Month], key: str, shift: int) -> int:
        return sum(monthly[str(m.shift(shift))][key] for m in months)

    ranges = [month_range(start, end) for start, end in spans]
    changes = compare_many(
        [total(months, k, 0) for months in ranges for k in keys],
        [total(months, k, -12) for months in ranges for k in keys],
    )
    rows = [
        YoYRow(
            key=key,
            now=ch.now,
            last_year=ch.before,
            pct=ch.pct,
            z=ch.z,
            p_value=ch.p_value,
            significant=ch.significant,
            zero_last_year=ch.before == 0,
        )
        for key, ch in zip(keys * len(ranges), changes, strict=True)
    ]
    return [rows[i * len(keys) : (i + 1) * len(keys)] for i in range(len(ranges))]


def district_yoy(
    session: Session,
    period_start: Month,
    period_end: Month,
    scope: Scope | None = None,
) -> list[YoYRow]:
    """Year-on-year figures for the months ``period_start`` .. ``period_end`` against the same
    months a year earlier: first the headline metrics (``METRICS``), then every incident
    category.

    A row with zero last year has ``pct = None`` and ``zero_last_year = True`` (the percentage is
    undefined; the Poisson test still applies).
    """
    if period_end < period_start:
        raise ValueError(f"period ends ({period_end}) before it starts ({period_start})")
    monthly = district_monthly(session, period_start.shift(-12), period_end, scope)
    return yoy_from_monthly(monthly, period_start, period_end)
