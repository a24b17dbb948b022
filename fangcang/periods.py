"""Periods as a review meeting uses them (CompStat): a month, the last 7 or 28 days, a quarter,
the year to date or a custom date range, each compared with the same days a year earlier and
with the previous period.

Every relative period ends on the *data-as-of* day: the last day with incident data, not today
(a feed that is two days late must not turn the last 7 days into 5 days of data and 2 empty ones).

Comparison rules (one place; the UI states them in words):

- **Year before**: the same calendar days a year earlier. A 29 February maps to 28 February, so
  a window holding 29 February is one day longer than its year-earlier window; a whole calendar
  month or quarter is compared with the whole month or quarter a year earlier. Unequal lengths
  are compared as rates (the exposure ratio of the exact test, ``fangcang.stats``).
- **Previous period**: for a month or quarter, the previous calendar month or quarter (over the
  same number of elapsed days when the current one is still running); for the last 7/28 days and
  a custom range, the same number of days immediately before. The **year to date has no previous
  period**: the days just before it are the previous year's later months (other seasons, and they
  overlap the year-earlier window), so CompStat compares the year to date with the previous
  year's same days only.
- A comparison window that reaches before the first day with data is *unavailable* (and says
  so) instead of being compared with zeros.

Counts come from the pre-aggregated tables: whole months from ``agg_incident_month`` and the
partial months at either end from ``agg_incident_day``.

Size: 514 lines because it holds the comparison rules of a period (year before, previous period,
unavailable windows) and the counts compared under them; split, a window and the rule that compares
it would live apart.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from . import incidents
from .access import Scope
from .stats import ALPHA, Change, exact_tests
from .timeutil import Month, now_local

BASES: tuple[str, ...] = ("year_before", "previous")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class PeriodKind(enum.StrEnum):
    """The kinds of period a user can choose."""

    MONTH = "month"
    DAYS_7 = "7d"
    DAYS_28 = "28d"
    QUARTER = "quarter"
    YTD = "ytd"
    CUSTOM = "custom"


def year_earlier(day: date) -> date:
    """The same calendar day a year earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter 1..4) of ``day``."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_months(year: int, quarter: int) -> tuple[Month, Month]:
    """First and last month of a calendar quarter."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1..4, got {quarter}")
    first = Month(year, 3 * quarter - 2)
    return first, first.shift(2)


@dataclass(frozen=True, order=True)
class Window:
    """Days ``first..last``, both inclusive (local calendar days)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"window ends ({self.last}) before it starts ({self.first})")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    def before(self) -> Window:
        """The window of the same length immediately before this one."""
        return Window(self.first - timedelta(days=self.days), self.first - timedelta(days=1))


@dataclass(frozen=True)
class PeriodChoice:
    """What the user chose (hashable: a cache key and a URL value, see :meth:`param`).

    ``month`` for MONTH; ``year`` and ``quarter`` for QUARTER; ``first`` and ``last`` for CUSTOM;
    nothing for the relative kinds (they end on the data-as-of day).
    """

    kind: PeriodKind
    month: Month | None = None
    year: int | None = None
    quarter: int | None = None
    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        kind = PeriodKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if (kind is PeriodKind.MONTH) != (self.month is not None):
            raise ValueError("month: a month period needs a month (and only it has one)")
        if kind is PeriodKind.QUARTER:
            if self.year is None or self.quarter is None:
                raise ValueError("quarter: a quarter period needs a year and a quarter")
            quarter_months(self.year, self.quarter)  # validates 1..4
        if kind is PeriodKind.CUSTOM:
            if self.first is None:
                raise ValueError("first: a custom range needs a first day")
            if self.last is None:
                raise ValueError("last: a custom range needs a last day")
            if self.last < self.first:
                raise ValueError(
                    f"first: the custom range starts ({self.first}) after it ends ({self.last})"
                )

    @classmethod
    def of_month(cls, month: Month) -> PeriodChoice:
        return cls(PeriodKind.MONTH, month=month)

    @classmethod
    def of_quarter(cls, year: int, quarter: int) -> PeriodChoice:
        return cls(PeriodKind.QUARTER, year=year, quarter=quarter)

    @classmethod
    def of_range(cls, first: date, last: date) -> PeriodChoice:
        return cls(PeriodKind.CUSTOM, first=first, last=last)

    def param(self) -> str:
        """The URL value: ``2026-10``, ``7d``, ``28d``, ``ytd``, ``2026-Q3`` or
        ``2026-09-01..2026-10-15``."""
        if self.kind is PeriodKind.MONTH:
            return str(self.month)
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.quarter}"
        if self.kind is PeriodKind.CUSTOM:
            return f"{self.first.isoformat()}..{self.last.isoformat()}"
        return self.kind.value

    @classmethod
    def parse(cls, text: str) -> PeriodChoice:
        """Read a URL value written by :meth:`param`; ``ValueError`` naming the text otherwise."""
        raw = str(text).strip()
        if raw in (PeriodKind.DAYS_7, PeriodKind.DAYS_28, PeriodKind.YTD):
            return cls(PeriodKind(raw))
        if _MONTH.match(raw):
            return cls.of_month(Month.parse(raw))
        if m := _QUARTER.match(raw):
            return cls.of_quarter(int(m.group(1)), int(m.group(2)))
        if m := _RANGE.match(raw):
            return cls.of_range(date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2)))
        raise ValueError(
            f"period must be YYYY-MM, 7d, 28d, ytd, YYYY-Qn or YYYY-MM-DD..YYYY-MM-DD, got {text!r}"
        )


@dataclass(frozen=True)
class Basis:
    """One comparison window: ``key`` is ``year_before`` or ``previous``.

    ``reason`` says why a basis is unavailable: ``before_data`` (its window reaches before the
    first day with data) or ``not_compared`` (the period has no such comparison: the year to
    date has no previous period; ``window`` is then None).
    """

    key: str
    window: Window | None
    available: bool  # False: no comparison (see ``reason``)
    exposure_ratio: float | None  # current days / these days (the exact test's exposure ratio)
    reason: str | None = None


@dataclass(frozen=True)
class Periods:
    """A resolved choice: the current window, its two comparisons and the data-as-of day."""

    choice: PeriodChoice
    current: Window
    as_of: date
    data_first: date | None
    bases: tuple[Basis, ...]
    complete: bool  # False: the chosen month/quarter is still running (cut at ``as_of``)

    @property
    def covered(self) -> bool:
        """Whether the current window lies wholly within the data."""
        return self.data_first is None or self.current.first >= self.data_first

    def basis(self, key: str) -> Basis:
        for b in self.bases:
            if b.key == key:
                return b
        raise KeyError(key)

    @property
    def warning_month(self) -> Month:
        """The month whose warning levels apply: levels are monthly decisions, so a non-month
        period uses the month its last day falls in."""
        return self.choice.month if self.choice.month else Month.of(self.current.last)


def _basis(key: str, current: Window, window: Window | None, data_first: date | None) -> Basis:
    if window is None:
        return Basis(key, None, available=False, exposure_ratio=None, reason="not_compared")
    available = data_first is None or window.first >= data_first
    return Basis(
        key=key,
        window=window,
        available=available,
        exposure_ratio=current.days / window.days,
        reason=None if available else "before_data",
    )


def _calendar_unit(first: Month, last: Month, as_of: date, what: str) -> tuple[Window, bool]:
    if first.first_day > as_of:
        raise ValueError(
            f"{what}: {first if first == last else f'{first}..{last}'} starts after the last "
            f"day with data ({as_of})"
        )
    end = min(last.last_day, as_of)
    return Window(first.first_day, end), end == last.last_day


def _unit_comparisons(
    current: Window, complete: bool, first: Month, span: int
) -> tuple[Window, Window]:
    """Year-before and previous windows of a month (``span`` 1) or quarter (``span`` 3)."""
    if complete:  # the whole unit a year earlier / the whole previous unit
        yb = Window(first.shift(-12).first_day, first.shift(-12 + span - 1).last_day)
        prev = Window(first.shift(-span).first_day, first.shift(-1).last_day)
        return yb, prev
    yb = Window(year_earlier(current.first), year_earlier(current.last))
    p_first = first.shift(-span).first_day
    p_last = min(p_first + timedelta(days=current.days - 1), first.shift(-1).last_day)
    return yb, Window(p_first, p_last)


def resolve(
    choice: PeriodChoice,
    as_of: date,
    data_first: date | None = None,
    today: date | None = None,
) -> Periods:
    """The windows of ``choice`` given the data-as-of day.

    Parameters
    ----------
    choice : PeriodChoice
        What the user chose.
    as_of : date
        The last day with data (``data_span``): relative periods end here, and no window may
        lie after it.
    data_first : date, optional
        The first day with data: comparison windows that reach before it are unavailable.
    today : date, optional
        Today's local date (default: now); a custom range may not lie in the future.

    Returns
    -------
    Periods

    Raises
    ------
    ValueError
        A custom range in the future, after the data, wholly before the data or reversed
        (naming ``first`` or ``last``), a month or quarter that starts after the data.
    """
    today = today or now_local().date()
    kind = choice.kind
    complete = True
    if kind is PeriodKind.MONTH:
        current, complete = _calendar_unit(choice.month, choice.month, as_of, "month")
        yb, prev = _unit_comparisons(current, complete, choice.month, 1)
    elif kind is PeriodKind.QUARTER:
        q_first, q_last = quarter_months(choice.year, choice.quarter)
        current, complete = _calendar_unit(q_first, q_last, as_of, "quarter")
        yb, prev = _unit_comparisons(current, complete, q_first, 3)
    elif kind in (PeriodKind.DAYS_7, PeriodKind.DAYS_28):
        n = 7 if kind is PeriodKind.DAYS_7 else 28
        current = Window(as_of - timedelta(days=n - 1), as_of)
        yb = Window(year_earlier(current.first), year_earlier(current.last))
        prev = current.before()
    elif kind is PeriodKind.YTD:
        current = Window(date(as_of.year, 1, 1), as_of)
        yb = Window(date(as_of.year - 1, 1, 1), year_earlier(as_of))
        prev = None  # CompStat: the year to date is compared with the prior year's only
    else:  # CUSTOM (first <= last checked by PeriodChoice)
        for name in ("first", "last"):
            day = getattr(choice, name)
            if day > today:
                raise ValueError(f"{name}: {day} is in the future (today is {today})")
            if day > as_of:
                raise ValueError(f"{name}: {day} is after the last day with data ({as_of})")
        if data_first is not None and choice.last < data_first:
            raise ValueError(
                f"last: {choice.last} is before the first day with data ({data_first})"
            )
        current = Window(choice.first, choice.last)
        yb = Window(year_earlier(current.first), year_earlier(current.last))
        prev = current.before()
    return Periods(
        choice=choice,
        current=current,
        as_of=as_of,
        data_first=data_first,
        bases=(
            _basis("year_before", current, yb, data_first),
            _basis("previous", current, prev, data_first),
        ),
        complete=complete,
    )


def quarters(data_first: date, as_of: date) -> list[tuple[int, int]]:
    """Quarters with data, newest first: (year, quarter)."""
    if as_of < data_first:
        raise ValueError(f"as_of ({as_of}) is before the first day with data ({data_first})")
    out, (y, q) = [], quarter_of(as_of)
    first = quarter_of(data_first)
    while (y, q) >= first:
        out.append((y, q))
        y, q = (y, q - 1) if q > 1 else (y - 1, 4)
    return out


# ---------------------------------------------------------------------------------------------
# Data span and counts
# ---------------------------------------------------------------------------------------------
def data_span(session: Session) -> tuple[date, date] | None:
    """(first, last) day with incident data in the aggregates; None when there is none."""
    return incidents.data_days(session)


def range_counts(
    session: Session,
    scope: Scope,
    window: Window,
    community_ids: list[str] | None = None,
    *,
    by_community: bool = True,
) -> pd.DataFrame:
    """Incidents on the days of ``window`` by [community x] category x subtype.

    Whole months are summed from the month tables, the partial months at either end from
    ``agg_incident_day`` (``incidents.tables_for``: summed over the whole district, the
    district table).

    Returns
    -------
    DataFrame
        [community_id,] category, subtype, n, n_alcohol.
    """
    months, days = incidents.tables_for(
        scope, by_community=by_community, community_ids=community_ids
    )
    parts = incidents.range_parts(window.first, window.last, months, days)
    rows = []
    for model, column, lo, hi in parts:
        if hi <= lo:
            continue
        category = type_coerce(model.category, String).label("category")
        group = [model.community_id] if by_community else []
        stmt = (
            select(
                *group,
                category,
                model.subtype,
                func.sum(model.n),
                func.sum(model.n_alcohol),
            )
            .where(column >= lo, column < hi, incidents.in_scope(model, scope))
            .group_by(*group, category, model.subtype)
        )
        if community_ids is not None:
            stmt = stmt.where(model.community_id.in_(sorted(community_ids)))
        rows += session.execute(stmt).all()
    cols = ["community_id"] if by_community else []
    cols += ["category", "subtype", "n", "n_alcohol"]
    # the parts' sums added per group key (a dict: a pandas groupby of a few hundred rows
    # costs more than the query), keys in sorted order as a groupby gives them
    sums: dict[tuple, list[int]] = {}
    for *group_key, n, n_alcohol in rows:
        acc = sums.setdefault(tuple(group_key), [0, 0])
        acc[0] += int(n or 0)
        acc[1] += int(n_alcohol or 0)
    df = pd.DataFrame([(*k, *v) for k, v in sorted(sums.items())], columns=cols)
    df[["n", "n_alcohol"]] = df[["n", "n_alcohol"]].astype("int64")
    return df


def _narrowed(scope: Scope, community_ids: list[str] | None) -> Scope:
    """``scope`` limited to ``community_ids`` (None: the scope itself)."""
    if community_ids is None:
        return scope
    return Scope.of([c for c in community_ids if scope.allows(c)], scope.label)


def _metric_frame(counts: pd.DataFrame, metric: str, category: str | None) -> pd.Series:
    rows = counts[incidents.metric_mask(counts, metric)]
    if category:
        rows = rows[rows["category"] == category]
    return incidents.metric_values(rows, metric)


def verdict(change) -> str:
    """``up`` / ``down`` (beyond noise by the exact test) or ``noise``."""
    if not change.significant or change.direction == 0:
        return "noise"
    return "up" if change.direction > 0 else "down"


def _compared(ns: list[int], befores: list[int], basis: Basis) -> list[dict]:
    """The per-basis columns of each pair (``ns[i]`` against ``befores[i]``): the exact tests
    of all pairs in one vectorised call (``stats.exact_tests``, equal to ``compare_counts``
    value for value)."""
    return _compared_all([(ns, befores, basis)])[0]


def _compared_all(groups: list[tuple[list[int], list[int], Basis]]) -> list[list[dict]]:
    """``_compared`` of several groups of pairs (each with its own basis), the exact tests of
    every pair in ONE vectorised call (scipy's per-call overhead, not the pairs, is most of the
    cost of a few hundred pairs; each p and z is computed element by element, so equal to the
    group's own call)."""
    live = [(ns, befores, basis) for ns, befores, basis in groups if basis.available and ns]
    if live:
        now = [int(n) for ns, _, _ in live for n in ns]
        before = [int(v) for _, befores, _ in live for v in befores]
        ratio = [basis.exposure_ratio for ns, _, basis in live for _ in ns]
        p_all, z_all = exact_tests(now, before, np.asarray(ratio, dtype=float))
        p_all, z_all = p_all.tolist(), z_all.tolist()
    out, at = [], 0
    for ns, befores, basis in groups:
        if not basis.available:
            out.append(
                [
                    {
                        f"n_{basis.key}": None,
                        f"change_{basis.key}": None,
                        f"pct_{basis.key}": None,
                        f"z_{basis.key}": None,
                        f"significant_{basis.key}": False,
                        f"verdict_{basis.key}": "unavailable",
                    }
                    for _ in ns
                ]
            )
            continue
        rows = []
        for n, before in zip(ns, befores, strict=True):
            n, before = int(n), int(before)
            p_i, z_i = p_all[at], z_all[at]
            at += 1
            c = Change(now=n, before=before, pct=None, z=z_i, p_value=p_i, significant=p_i < ALPHA)
            # the % change of a shorter or longer window is the change of the daily rate
            rate_before = before * basis.exposure_ratio
            rows.append(
                {
                    f"n_{basis.key}": before,
                    f"change_{basis.key}": n - before,
                    f"pct_{basis.key}": None
                    if rate_before == 0
                    else 100.0 * (n - rate_before) / rate_before,
                    f"z_{basis.key}": c.z,
                    f"significant_{basis.key}": c.significant,
                    f"verdict_{basis.key}": verdict(c),
                }
            )
        out.append(rows)
    return out


def comparison(
    session: Session,
    scope: Scope,
    periods: Periods,
    *,
    metrics: tuple[str, ...] | None = None,
    category: str | None = None,
    community_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Each metric in the current window against the year before and the previous period.

    Returns
    -------
    DataFrame
        One row per metric: metric, n, and for each basis ``b`` in ``BASES``: n_b (None when
        unavailable), change_b, pct_b (change of the daily rate, %; None when the comparison
        count is 0 or unavailable), z_b, significant_b, verdict_b (``up``, ``down``, ``noise``
        or ``unavailable``).
    """
    metrics = metrics or incidents.METRICS
    windows = {"": periods.current, **{b.key: b.window for b in periods.bases if b.available}}
    if category is None:  # headline metrics: the smallest tables (incidents.counts)
        where = _narrowed(scope, community_ids)
        got = {
            k: incidents.counts(session, where, metrics, w.first, w.last)
            for k, w in windows.items()
        }
    else:
        got = {}
        for k, w in windows.items():
            frame = range_counts(session, scope, w, community_ids, by_community=False)
            got[k] = {m: int(_metric_frame(frame, m, category).sum()) for m in metrics}
    rows = [{"metric": metric, "n": got[""][metric]} for metric in metrics]
    ns = [row["n"] for row in rows]
    groups = [
        (ns, [got[b.key][metric] if b.available else 0 for metric in metrics], b)
        for b in periods.bases
    ]
    for columns in _compared_all(groups):
        for row, cols in zip(rows, columns, strict=True):
            row.update(cols)
    return pd.DataFrame(rows)


def by_unit(
    session: Session,
    scope: Scope,
    periods: Periods,
    units: pd.DataFrame,
    key: str,
    *,
    metric: str = "total",
    category: str | None = None,
) -> pd.DataFrame:
    """The current window against both comparisons per unit (community, sub-district, station
    or category).

    Parameters
    ----------
    units : DataFrame
        ``community_id`` and ``key`` plus ``name`` (the unit's label); for ``key="category"``
        give ``category`` and ``name`` only.
    key : str
        The unit column (``community_id``, ``sub_district_code``, ``station_id``, ``category``).

    Returns
    -------
    DataFrame
        key, name, n and the per-basis columns of :func:`comparison`, most incidents first.
    """
    rows, befores = _unit_counts(
        session, scope, periods, units, key, metric=metric, category=category, memo={}
    )
    return _unit_frame(periods, rows, befores, key)


def _unit_counts(
    session: Session,
    scope: Scope,
    periods: Periods,
    units: pd.DataFrame,
    key: str,
    *,
    metric: str = "total",
    category: str | None = None,
    memo: dict,
) -> tuple[list[dict], dict[str, list[int]]]:
    """The counts of ``by_unit``: rows ``{key, name, n}`` (one per unit, in ``units``' order)
    and each available basis's counts per row. ``memo``: the per-community counts read so far,
    by window and communities (shared by ``by_units``)."""
    ids = None if key == "category" else sorted(set(units["community_id"]))

    unit_of = dict(zip(units["community_id"], units[key], strict=True)) if ids else {}

    def grouped(window: Window) -> dict:
        """{unit: count} of ``window`` (units without incidents left out)."""
        if category is None and key != "category":
            # one headline metric per community: the per-metric tables (incidents.counts)
            memo_key = (window.first, window.last, tuple(ids) if ids else None, metric)
            if memo_key not in memo:  # by_units: read once for every unit kind
                frame = incidents.counts(
                    session,
                    _narrowed(scope, ids),
                    [metric],
                    window.first,
                    window.last,
                    by_community=True,
                )
                memo[memo_key] = dict(zip(frame.index, frame[metric].tolist(), strict=True))
            per = memo[memo_key].items()
        else:
            counts = range_counts(session, scope, window, ids, by_community=key != "category")
            rows = counts[incidents.metric_mask(counts, metric)]
            if category:
                rows = rows[rows["category"] == category]
            v = rows["n_alcohol"] if metric == "alcohol" else rows["n"]
            unit = rows["category"] if key == "category" else rows["community_id"]
            per = zip(unit.tolist(), v.tolist(), strict=True)
        out: dict = {}
        for k, v in per:
            if key not in ("category", "community_id"):  # the unit of each community
                k = unit_of.get(k)
                if k is None or k != k:  # no unit (None / NaN): left out
                    continue
            out[k] = out.get(k, 0) + v
        return out

    now = grouped(periods.current)
    other = {b.key: grouped(b.window) for b in periods.bases if b.available}
    rows = [
        {key: k, "name": name, "n": int(now.get(k, 0))}
        for k, name in units[[key, "name"]].drop_duplicates(key).itertuples(index=False)
    ]
    befores = {
        b.key: [int(other[b.key].get(row[key], 0)) if b.available else 0 for row in rows]
        for b in periods.bases
    }
    return rows, befores


def _unit_frame(
    periods: Periods, rows: list[dict], befores: dict[str, list[int]], key: str, columns=None
) -> pd.DataFrame:
    """``by_unit``'s frame from ``_unit_counts``; ``columns``: the per-basis columns already
    computed (``_compared_all``), else computed here."""
    ns = [row["n"] for row in rows]
    if columns is None:
        columns = _compared_all([(ns, befores[b.key], b) for b in periods.bases])
    for cols_of_basis in columns:
        for row, cols in zip(rows, cols_of_basis, strict=True):
            row.update(cols)
    if not rows:
        return pd.DataFrame(rows)
    # most incidents first, then by name (a stable sort, names missing last, as pandas'
    # sort_values on n descending and name ascending)
    rows = sorted(rows, key=lambda r: (-r["n"], _missing(r["name"]), r["name"] or ""))
    return pd.DataFrame(rows)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def by_units(
    session: Session,
    scope: Scope,
    periods: Periods,
    tables: dict[str, pd.DataFrame],
    *,
    metric: str = "total",
    category: str | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`by_unit` for several unit kinds at once (``{key: units}``, each as ``by_unit``'s
    ``units`` and ``key``), reading the per-community counts of each window once for all of
    them (a page's sub-district and station tables share them).

    Returns
    -------
    dict
        ``{key: by_unit(...)}`` in the order of ``tables``.
    """
    memo: dict = {}
    counted = {
        key: _unit_counts(
            session, scope, periods, units, key, metric=metric, category=category, memo=memo
        )
        for key, units in tables.items()
    }
    # every table's exact tests in one vectorised call
    groups = [
        ([row["n"] for row in rows], befores[b.key], b)
        for rows, befores in counted.values()
        for b in periods.bases
    ]
    done = _compared_all(groups)
    nb = len(periods.bases)
    return {
        key: _unit_frame(periods, rows, befores, key, done[i * nb : (i + 1) * nb])
        for i, (key, (rows, befores)) in enumerate(counted.items())
    }
