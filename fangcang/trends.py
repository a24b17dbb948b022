"""Incident trends from the pre-aggregated tables: by month, sub-district, station, community
and category; year-on-year tables; the day-of-week x hour heat map; drill-down from the
district to a sub-district to a community.

Counts come from ``fangcang.incidents`` (``agg_incident_month``: community x month x category
x subtype, about 65,000 rows at full size) and ``agg_incident_hour``, grouped in SQL; the scope
is applied in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import geo
from .access import Scope
from .i18n import enum_label
from .incidents import (
    METRICS,
    metric_mask,
    metric_values,
    monthly_counts,
    window_counts,
)
from .models import AggIncidentDistrictHour, AggIncidentHour, IncidentCategory
from .periods import Periods, by_units
from .stats import compare_counts
from .timeutil import Month, month_range

DRILL_LEVELS: tuple[str, ...] = ("district", "sub_district", "community")


def community_meta(session: Session, scope: Scope) -> pd.DataFrame:
    """Communities in scope: community_id, name, sub_district_code, sub_district, station_id,
    station (names for grouping and labels), from ``geo.communities_table``."""
    return geo.communities_table(session, scope)[
        ["community_id", "name", "sub_district_code", "sub_district", "station_id", "station"]
    ]


def dow_hour(
    session: Session,
    scope: Scope,
    first: Month,
    last: Month,
    category: str | None = None,
    community_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Incidents by day of week (rows 0 = Monday .. 6) x hour (columns 0..23), from
    ``agg_incident_district_hour`` over the whole district, else ``agg_incident_hour``."""
    district = scope.is_district and community_ids is None
    h = AggIncidentDistrictHour if district else AggIncidentHour
    stmt = (
        select(h.dow, h.hour, func.sum(h.n))
        .where(h.month >= first.first_day, h.month <= last.first_day)
        .group_by(h.dow, h.hour)
    )
    if not district:
        stmt = stmt.where(scope.clause(h.community_id))
    if category:
        stmt = stmt.where(h.category == IncidentCategory(category))
    if community_ids is not None:
        stmt = stmt.where(h.community_id.in_(sorted(community_ids)))
    cells = np.zeros((7, 24), dtype="int64")
    for dow, hour, n in session.execute(stmt):
        cells[int(dow), int(hour)] = int(n)
    return pd.DataFrame(cells, index=range(7), columns=range(24))


#: The units the trends page tables the chosen period by (``unit_tables``): kind -> the key
#: column of its table.
UNIT_KEYS: dict[str, str] = {
    "sub_district": "sub_district_code",
    "community": "community_id",
    "station": "station_id",
    "category": "category",
}


def unit_tables(
    session: Session,
    scope: Scope,
    span: Periods,
    kinds: tuple[str, ...],
    *,
    lang: str = "zh",
    metric: str = "total",
    category: str | None = None,
    sub_district: str | None = None,
    community_id: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The chosen period against the year before and the previous period per unit, for each
    of ``kinds`` (``UNIT_KEYS``): ``periods.by_units`` over the communities of the drill-down
    (``community_id``, else ``sub_district``, else the whole ``scope``, as ``trend_view``),
    categories named in ``lang``.

    Returns
    -------
    dict
        ``{UNIT_KEYS[kind]: frame}`` in the order of ``kinds``, each frame as
        ``periods.by_unit`` returns it (key, name, n and the per-basis columns).

    Raises
    ------
    ValueError
        An unknown kind (naming it).
    """
    unknown = [k for k in kinds if k not in UNIT_KEYS]
    if unknown:
        raise ValueError(f"unknown unit kind(s) {unknown}; known: {list(UNIT_KEYS)}")
    meta = community_meta(session, scope)
    if community_id:
        meta = meta[meta["community_id"] == community_id]
    elif sub_district:
        meta = meta[meta["sub_district_code"] == sub_district]
    units: dict[str, pd.DataFrame] = {}
    for kind in kinds:
        key = UNIT_KEYS[kind]
        if kind == "category":
            units[key] = pd.DataFrame(
                {
                    "category": [c.value for c in IncidentCategory],
                    "name": [enum_label(c, lang) for c in IncidentCategory],
                }
            )
        elif kind == "community":
            units[key] = meta[["community_id", "name"]]
        else:
            name = "sub_district" if kind == "sub_district" else "station"
            units[key] = meta[["community_id", key, name]].rename(columns={name: "name"})
    return by_units(session, scope, span, units, metric=metric, category=category)


def yoy_table(
    now: pd.DataFrame, before: pd.DataFrame, key: str, names: pd.DataFrame
) -> pd.DataFrame:
    """Year-on-year table per ``key`` (a column of both frames, e.g. ``sub_district_code``).

    ``now`` and ``before`` have columns ``key`` and ``n``; ``names`` maps ``key`` to ``name``.
    Returns key, name, n, n_before, pct, z, significant, sorted by n descending.
    """
    a = now.groupby(key)["n"].sum()
    b = before.groupby(key)["n"].sum()
    keys = names[[key, "name"]].drop_duplicates(key)
    rows = []
    for k, name in keys.itertuples(index=False):
        c = compare_counts(int(a.get(k, 0)), int(b.get(k, 0)))
        rows.append(
            {
                key: k,
                "name": name,
                "n": c.now,
                "n_before": c.before,
                "pct": c.pct,
                "z": round(c.z, 2),
                "significant": c.significant,
            }
        )
    out = pd.DataFrame(rows, columns=[key, "name", "n", "n_before", "pct", "z", "significant"])
    return out.sort_values(["n", "name"], ascending=[False, True]).reset_index(drop=True)


@dataclass
class TrendView:
    """What the trends page shows (see ``trend_view``)."""

    level: str  # district | sub_district | community
    title: str  # the drilled-to unit's name ("" for the district)
    first: Month
    last: Month
    metric: str
    monthly: pd.DataFrame  # month, category, n (this window)
    monthly_total: pd.DataFrame  # month_index (1..12), month, n, n_before
    # the yoy tables per unit (empty unless ``units=True``; the trends page shows the chosen
    # period per unit instead, ``periods.by_unit``)
    by_sub_district: pd.DataFrame  # yoy table (district level only, else empty)
    by_station: pd.DataFrame  # yoy table
    by_community: pd.DataFrame  # yoy table (sub-district level), else empty
    by_category: pd.DataFrame  # category, n, n_before, pct, z, significant
    dow_hour: pd.DataFrame  # 7 x 24
    total: dict  # n, n_before, pct, z, significant
    community_ids: list[str] | None = None  # the drilled-to communities (None: the scope)


def trend_view(
    session: Session,
    scope: Scope,
    period: Month,
    *,
    months: int = 12,
    sub_district: str | None = None,
    community_id: str | None = None,
    metric: str = "total",
    category: str | None = None,
    units: bool = True,
) -> TrendView:
    """Trends for the ``months`` ending with ``period`` against the same months a year earlier.

    Parameters
    ----------
    sub_district : str, optional
        Drill down to one sub-district (its code).
    community_id : str, optional
        Drill down to one community (takes precedence over ``sub_district``).
    metric : str
        One of ``METRICS``: which incidents are counted.
    category : str, optional
        Further restrict to one incident category.
    units : bool
        Compute the year-on-year tables per sub-district, station, community and category
        (a per-community count of both windows and an exact test per unit); without them the
        total comes from the monthly counts (the same incidents).
    """
    if months < 1 or months > 12:
        raise ValueError(
            f"months must be 1..12 (compared with the same months a year earlier), got {months}"
        )
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if category is not None:
        category = IncidentCategory(category).value
    meta = community_meta(session, scope)
    level, title = "district", ""
    if community_id:
        if community_id not in set(meta["community_id"]):
            raise ValueError(f"community {community_id!r} is unknown or outside your jurisdiction")
        meta = meta[meta["community_id"] == community_id]
        level, title = "community", str(meta["name"].iloc[0])
    elif sub_district:
        if sub_district not in set(meta["sub_district_code"]):
            raise ValueError(
                f"sub-district {sub_district!r} is unknown or outside your jurisdiction"
            )
        meta = meta[meta["sub_district_code"] == sub_district]
        level, title = "sub_district", str(meta["sub_district"].iloc[0])
    ids = None if level == "district" else list(meta["community_id"])

    first = period.shift(-(months - 1))

    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[metric_mask(frame, metric)].copy()
        frame["n"] = metric_values(frame, metric)
        return frame[frame["category"] == category] if category else frame

    counts = pick(monthly_counts(session, scope, first.shift(-12), period, ids))
    this = {str(m) for m in month_range(first, period)}
    # sums per month (and category) with a dict: a few hundred rows, where three pandas
    # groupbys cost more than the query
    a: dict[str, int] = {}
    b: dict[str, int] = {}
    by_cat: dict[tuple[str, str], int] = {}
    for month, cat, n in zip(
        counts["month"], counts["category"], counts["n"].tolist(), strict=True
    ):
        if month in this:
            a[month] = a.get(month, 0) + n
            by_cat[month, cat] = by_cat.get((month, cat), 0) + n
        else:
            b[month] = b.get(month, 0) + n
    monthly = pd.DataFrame(
        [(m, c, n) for (m, c), n in sorted(by_cat.items())], columns=["month", "category", "n"]
    ).astype({"n": "int64"})
    if monthly.empty:  # the columns' types of an empty grouping, as before
        monthly = counts.iloc[:0].groupby(["month", "category"], as_index=False)["n"].sum()
    rows = []
    for i, m in enumerate(month_range(first, period), start=1):
        rows.append(
            {
                "month_index": i,
                "month": str(m),
                "n": int(a.get(str(m), 0)),
                "n_before": int(b.get(str(m.shift(-12)), 0)),
            }
        )
    monthly_total = pd.DataFrame(rows)

    empty = pd.DataFrame(columns=["name", "n", "n_before", "pct", "z", "significant"])
    by_sub = by_station = by_comm = by_category = empty
    if units:
        windows = pick(window_counts(session, scope, first, period, ids))
        now = windows[windows["window"] == "now"].merge(meta, on="community_id")
        before = windows[windows["window"] == "before"].merge(meta, on="community_id")
        cats = pd.DataFrame(
            {
                "category": [c.value for c in IncidentCategory],
                "name": [c.value for c in IncidentCategory],
            }
        )
        by_category = yoy_table(now, before, "category", cats)
        by_category = by_category[(by_category["n"] > 0) | (by_category["n_before"] > 0)]
        sd_names = meta[["sub_district_code", "sub_district"]].rename(
            columns={"sub_district": "name"}
        )
        st_names = meta[["station_id", "station"]].rename(columns={"station": "name"})
        if level == "district":
            by_sub = yoy_table(now, before, "sub_district_code", sd_names)
        by_station = yoy_table(now, before, "station_id", st_names)
        if level == "sub_district":
            by_comm = yoy_table(now, before, "community_id", meta[["community_id", "name"]])
    # the window and the same months a year earlier, from the monthly counts
    total = compare_counts(int(monthly_total["n"].sum()), int(monthly_total["n_before"].sum()))
    grid = dow_hour(session, scope, first, period, category, ids)
    return TrendView(
        level=level,
        title=title,
        first=first,
        last=period,
        metric=metric,
        monthly=monthly,
        monthly_total=monthly_total,
        by_sub_district=by_sub,
        by_station=by_station,
        by_community=by_comm,
        by_category=by_category,
        dow_hour=grid,
        total={
            "n": total.now,
            "n_before": total.before,
            "pct": total.pct,
            "z": total.z,
            "significant": total.significant,
        },
        community_ids=ids,
    )
