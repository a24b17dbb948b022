"""The overview (总览): headline figures with year-on-year change and significance, the
warning levels and their change since last month, the monthly trend against last year, the top
red and yellow communities, task figures, data freshness, and the district headline.

Warning results are read through ``fangcang.scoring.store`` (the one reader of stored runs: the
latest version of a month); tasks and visits from their features when those are installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import incidents, summary, trends
from .access import Scope
from .models import (
    AggRecords,
    WarningLevel,
    WarningRun,
)
from .scoring import store
from .scoring.config import INDICATOR_KEYS
from .timeutil import Month, last_complete_month, month_range

#: The indicators of the warning model (one place: ``fangcang.scoring.config``).
INDICATORS: tuple[str, ...] = INDICATOR_KEYS
#: Level -> rank, least serious first (from the level enum).
LEVEL_ORDER = {lv.value: lv.rank for lv in WarningLevel}

WARNING_COLUMNS = [
    "community_id",
    "name",
    "sub_district_code",
    "sub_district",
    "station_id",
    "station",
    "model_version",
    "level",
    "raw_level",
    "pending",
    "score",
    "stability",
    "window_stable",
    "borderline",
    "significant",
    "excess_p",
    "trend_mark",
    "trend_z",
    "residents",
    "incidents",
    "crime_incidents",
    "incidents_year_before",
    "factors",
    "factors_out",
    "crime_rate",
    "incident_rate",
    "control_gap",
    "floating_share",
    *[f"ind_{k}" for k in INDICATORS],
    *[f"pt_{k}" for k in INDICATORS],
    "reason",
    "explanation",
]


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------
def default_period(session: Session) -> Month:
    """The period a page opens on: the newest month with a warning run, else the month of the
    newest incident data, else the last complete month."""
    run = session.scalar(select(func.max(WarningRun.period)))
    if run:
        return Month.parse(run)
    day = incidents.latest_data_day(session)
    return Month.of(day) if day else last_complete_month()


def available_periods(session: Session, limit: int = 36) -> list[Month]:
    """Months a user can choose, newest first: those with incident data or a warning run."""
    first = incidents.first_data_day(session)
    last = default_period(session)
    start = Month.of(first) if first else last
    start = max(start, last.shift(-(limit - 1)))
    return list(reversed(month_range(start, last))) if start <= last else [last]


# ---------------------------------------------------------------------------------------------
# Warning results
# ---------------------------------------------------------------------------------------------
def warning_run(session: Session, period: Month) -> WarningRun | None:
    """The latest stored warning run (highest version) of ``period`` (``store.latest_run``)."""
    return store.latest_run(session, period)


def warning_frame(
    session: Session, scope: Scope, period: Month, lang: str = "zh", reasons: bool = True
) -> pd.DataFrame:
    """Stored warning results of ``period`` in ``scope`` (``store.results``) with a one-line
    reason in ``lang``; ``ind_<indicator>`` is the indicator's ratio to the district (model 2;
    NaN for model-1 runs). Empty (same columns) when the month has no run. Highest score first.
    """
    df = store.results(session, period, scope, lang if reasons else None)
    if df.empty:
        return pd.DataFrame(columns=WARNING_COLUMNS)
    for k in INDICATORS:
        df[f"ind_{k}"] = pd.to_numeric(df[f"ratio_{k}"], errors="coerce")
        df[f"pt_{k}"] = pd.to_numeric(df[f"pt_{k}"], errors="coerce")
    return df[WARNING_COLUMNS].reset_index(drop=True)


def level_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Communities per level (every level present, 0 when none)."""
    return store.count_levels(frame)


def level_changes(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Communities whose level changed between two warning frames.

    Returns community_id, name, sub_district, before, now, change (``new_red``, ``upgraded``,
    ``downgraded``), sorted most serious first.
    """
    cols = ["community_id", "name", "sub_district", "before", "now", "change"]
    if now.empty or before.empty:
        return pd.DataFrame(columns=cols)
    both = now[["community_id", "name", "sub_district", "level"]].merge(
        before[["community_id", "level"]], on="community_id", suffixes=("", "_before")
    )
    rows = []
    for r in both.itertuples(index=False):
        a, b = LEVEL_ORDER[r.level], LEVEL_ORDER[r.level_before]
        if a == b:
            continue
        change = "new_red" if r.level == "red" else "upgraded" if a > b else "downgraded"
        rows.append([r.community_id, r.name, r.sub_district, r.level_before, r.level, change])
    out = pd.DataFrame(rows, columns=cols)
    rank = out["now"].map(LEVEL_ORDER)
    return (
        out.assign(_r=rank)
        .sort_values(["_r", "name"], ascending=[False, True])
        .drop(columns="_r")
        .reset_index(drop=True)
    )


def pending_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Communities of a warning frame with a change seen once (待升级 / 待降级): name,
    sub_district, level, raw_level, pending; upgrades first."""
    cols = ["community_id", "name", "sub_district", "level", "raw_level", "pending", "score"]
    if frame.empty or "pending" not in frame:
        return pd.DataFrame(columns=cols)
    df = frame[frame["pending"].notna()]
    return (
        df.assign(_o=(df["pending"] != "upgrade").astype(int))
        .sort_values(["_o", "score"], ascending=[True, False])[cols]
        .reset_index(drop=True)
    )


# ---------------------------------------------------------------------------------------------
# Tasks and visits (features that may or may not be installed)
# ---------------------------------------------------------------------------------------------
def task_completion(session: Session, scope: Scope, period: Month) -> pd.DataFrame | None:
    """Task completion per community for items dispatched in ``period`` (the task feature's
    ``completion_by_community``): community_id, completion (0..1, NaN without items), total,
    done, overdue; None when the task feature is not installed or no item was dispatched."""
    try:
        from .tasks import completion_by_community
    except ImportError:
        return None
    df = completion_by_community(session, period.start, period.end, scope)
    if df is None or len(df) == 0 or int(df["items"].sum()) == 0:
        return None
    return pd.DataFrame(
        {
            "community_id": df["community_id"],
            "completion": df["completion_rate"].astype(float),
            "total": df["items"].astype(int),
            "done": df["completed"].astype(int),
            "overdue": df["overdue"].astype(int),
        }
    )


def visit_coverage(session: Session, scope: Scope, period: Month) -> pd.DataFrame | None:
    """Household-visit coverage per community at the end of ``period`` (the visits feature's
    ``visit_measures``): community_id, coverage (share of houses visited in the last 90 days),
    houses, visited_90, verified_share, open_total; None when the feature is not installed or
    nobody has visited anything."""
    try:
        from .visits import visit_measures
    except ImportError:
        return None
    df = visit_measures(session, scope, period.last_day)
    if df is None or len(df) == 0 or int(df["visited_365"].sum()) == 0:
        return None
    out = df.rename(columns={"share_90": "coverage"})
    keep = ["community_id", "coverage", "houses", "visited_90", "verified_share", "open_total"]
    return out[[c for c in keep if c in out.columns]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Headline figures
# ---------------------------------------------------------------------------------------------
def headline(
    session: Session,
    scope: Scope,
    period: Month,
    monthly: dict[str, dict[str, int]] | None = None,
) -> pd.DataFrame:
    """Headline metrics for ``period`` and year-to-date, against the same months a year earlier
    (``incidents.yoy_from_monthly``; ``monthly`` may hold ``incidents.district_monthly`` output
    covering January of the year before .. ``period``).

    Returns
    -------
    DataFrame
        metric, span (``month`` or ``ytd``), n, n_before, pct, z, p_value, significant.
    """
    ytd_first = Month(period.year, 1)
    if monthly is None:
        monthly = incidents.district_monthly(session, ytd_first.shift(-12), period, scope)
    rows = []
    for span, first in (("month", period), ("ytd", ytd_first)):
        for r in incidents.yoy_from_monthly(monthly, first, period, incidents.METRICS):
            rows.append(
                {
                    "metric": r.key,
                    "span": span,
                    "n": r.now,
                    "n_before": r.last_year,
                    "pct": r.pct,
                    "z": r.z,
                    "p_value": r.p_value,
                    "significant": r.significant,
                }
            )
    return pd.DataFrame(rows)


def monthly_this_vs_last(
    session: Session,
    scope: Scope,
    period: Month,
    monthly: dict[str, dict[str, int]] | None = None,
) -> pd.DataFrame:
    """All incidents per calendar month of ``period``'s year (up to ``period``) and of the year
    before: month (1..12), this_year (None after ``period``), last_year."""
    first = Month(period.year - 1, 1)
    if monthly is None:
        monthly = incidents.district_monthly(session, first, period, scope)
    rows = []
    for m in range(1, 13):
        this = Month(period.year, m)
        rows.append(
            {
                "month": m,
                "this_year": monthly[str(this)]["total"] if this <= period else None,
                "last_year": monthly[str(Month(period.year - 1, m))]["total"],
            }
        )
    return pd.DataFrame(rows)


def freshness(session: Session, scope: Scope) -> pd.DataFrame:
    """Newest record update per source department and record counts: source, n, last_updated;
    plus the last import (``source`` = ``""``) from the import log."""
    rows = session.execute(
        select(AggRecords.source, func.sum(AggRecords.n), func.max(AggRecords.last_updated))
        .where(scope.clause(AggRecords.community_id))
        .group_by(AggRecords.source)
        .order_by(AggRecords.source)
    ).all()
    return pd.DataFrame(
        [(s, int(n or 0), lu) for s, n, lu in rows], columns=["source", "n", "last_updated"]
    )


def district_headline(session: Session, scope: Scope) -> dict:
    """The home headline (``summary.headline``): records by kind, communities, incidents this
    year to the newest data day against the same days last year."""
    h = summary.headline(session, scope)
    return {
        "records": h.records,
        "communities": h.communities,
        "incidents_ytd": h.incidents_this_year,
        "incidents_ly": h.incidents_last_year,
        "pct": h.change_pct,
        "significant": h.significant,
        "through": h.as_of,
    }


def _finished(log) -> datetime | None:
    return log.finished_at if log is not None else None


@dataclass
class Overview:
    """Everything the overview page shows (see ``overview``)."""

    period: Month
    headline: pd.DataFrame
    levels: dict[str, int]
    levels_before: dict[str, int]
    has_warning: bool
    changes: pd.DataFrame
    monthly: pd.DataFrame
    top: pd.DataFrame  # red and yellow communities: name, sub_district, level, score, reason
    tasks: dict | None
    freshness: pd.DataFrame
    last_import: datetime | None
    district: dict = field(default_factory=dict)


def overview(
    session: Session, scope: Scope, period: Month, lang: str = "zh", top_n: int = 10
) -> Overview:
    """The overview of ``period`` in ``scope`` (what the overview page shows)."""
    now = warning_frame(session, scope, period, lang)
    before = warning_frame(session, scope, period.shift(-1), lang, reasons=False)
    top = now[now["level"].isin(["red", "yellow"])].head(top_n)
    # one query serves the headline (this year and last) and the monthly trend
    monthly = incidents.district_monthly(session, Month(period.year - 1, 1), period, scope)
    tasks = task_completion(session, scope, period)
    task_summary = None
    if tasks is not None:
        total = int(tasks["total"].sum()) if "total" in tasks else 0
        done = int(tasks["done"].sum()) if "done" in tasks else 0
        task_summary = {
            "total": total,
            "done": done,
            "completion": (done / total) if total else None,
            "overdue": int(tasks["overdue"].sum()) if "overdue" in tasks else 0,
        }
    return Overview(
        period=period,
        headline=headline(session, scope, period, monthly),
        levels=level_counts(now),
        levels_before=level_counts(before),
        has_warning=not now.empty,
        changes=level_changes(now, before),
        monthly=monthly_this_vs_last(session, scope, period, monthly),
        top=top[["community_id", "name", "sub_district", "level", "score", "reason"]].reset_index(
            drop=True
        ),
        tasks=task_summary,
        freshness=freshness(session, scope),
        last_import=_finished(summary.last_import(session)),
        district=district_headline(session, scope),
    )


# ---------------------------------------------------------------------------------------------
# The warning page
# ---------------------------------------------------------------------------------------------
@dataclass
class WarningPage:
    """What the warning page shows (see ``warning_page``)."""

    period: Month
    table: pd.DataFrame  # filtered ranking (warning_frame columns + rank + level_before)
    total: int  # communities with a result in scope before filtering
    changes: pd.DataFrame  # level_changes against last month
    pending: pd.DataFrame  # changes seen once, not yet in force (pending_frame), in scope
    all_levels: pd.DataFrame  # community_id, level of every result in scope (before filters)
    backtest: pd.DataFrame  # stored back-test rows (may be empty)
    backtest_summary: dict | None


def warning_page(
    session: Session,
    scope: Scope,
    period: Month,
    lang: str = "zh",
    *,
    levels: list[str] | tuple[str, ...] = (),
    min_score: float = 0.0,
    thresholds: dict[str, float] | None = None,
) -> WarningPage:
    """The ranking of ``period`` filtered by levels, minimum score and indicator points
    thresholds (``{indicator: minimum points}``), with last month's level, the level changes,
    the pending changes and the stored back-test figures."""
    thresholds = thresholds or {}
    unknown = set(thresholds) - set(INDICATORS)
    if unknown:
        raise ValueError(f"unknown indicator(s) {sorted(unknown)}; known: {INDICATORS}")
    bad = set(levels) - set(LEVEL_ORDER)
    if bad:
        raise ValueError(f"unknown level(s) {sorted(bad)}; known: {list(LEVEL_ORDER)}")
    now = warning_frame(session, scope, period, lang)
    before = warning_frame(session, scope, period.shift(-1), lang, reasons=False)
    table = now.assign(rank=range(1, len(now) + 1))
    prev = dict(zip(before["community_id"], before["level"], strict=True))
    table["level_before"] = [prev.get(c) for c in table["community_id"]]
    if levels:
        table = table[table["level"].isin(list(levels))]
    if min_score:
        table = table[table["score"] >= float(min_score)]
    for key, minimum in thresholds.items():
        if minimum:
            table = table[table[f"pt_{key}"].fillna(-1e9) >= float(minimum)]
    bt, summary = pd.DataFrame(), None
    try:
        from .scoring import backtest_summary, stored_backtest

        bt = stored_backtest(session)
        summary = backtest_summary(bt) if len(bt) else None
    except (ImportError, FileNotFoundError):
        pass
    return WarningPage(
        period=period,
        table=table.reset_index(drop=True),
        total=len(now),
        changes=level_changes(now, before),
        pending=pending_frame(now),
        all_levels=now[["community_id", "level"]],
        backtest=bt,
        backtest_summary=summary,
    )


def what_if(
    session: Session,
    scope: Scope,
    period: Month,
    weights: dict[str, float],
    levels: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Score ``period`` with other weights (and level thresholds) without saving anything.

    Returns community_id, name, sub_district, level (stored; None without a run), score
    (stored), whatif_level, whatif_score, moved (level differs), sorted by what-if score.
    """
    from .scoring import compute, load_config

    config = load_config().with_changes(weights=weights, levels=levels)
    df = compute(session, period, config, scope, with_stability=False)
    meta = trends.community_meta(session, scope)
    stored = warning_frame(session, scope, period)[["community_id", "level", "score"]]
    out = (
        df[["community_id", "score", "level"]]
        .rename(columns={"score": "whatif_score", "level": "whatif_level"})
        .merge(meta[["community_id", "name", "sub_district"]], on="community_id")
        .merge(stored, on="community_id", how="left")
    )
    out["whatif_level"] = [getattr(v, "value", v) for v in out["whatif_level"]]
    out["moved"] = out["level"].notna() & (out["level"] != out["whatif_level"])
    cols = [
        "community_id",
        "name",
        "sub_district",
        "level",
        "score",
        "whatif_level",
        "whatif_score",
        "moved",
    ]
    return out[cols].sort_values("whatif_score", ascending=False).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Presentation mode
# ---------------------------------------------------------------------------------------------
def focused_work_effects(
    session: Session, scope: Scope, period: Month, lang: str = "zh", months: int = 6
) -> pd.DataFrame:
    """The effect of focused work (from ``fangcang.effect``) for the presentation: one row per
    focused community with before/after counts (110 total), change, significance, the
    comparison group's change and the verdict sentence; empty when there is none."""
    cols = [
        "community_id",
        "name",
        "sub_district",
        "start_date",
        "months",
        "before",
        "after",
        "pct",
        "significant",
        "comparison_pct",
        "verdict",
        "sentence",
    ]
    try:
        from . import effect
    except ImportError:
        return pd.DataFrame(columns=cols)
    rows = []
    for ba in effect.effect_summary(session, months=months, as_of=period, scope=scope):
        e = ba.effects["total"]
        rows.append(
            [
                ba.community_id,
                ba.community_name,
                ba.sub_district,
                ba.start_date,
                ba.windows.months,
                e.raw.before,
                e.raw.now,
                e.raw.pct,
                e.raw.significant,
                e.comparison_pct,
                e.verdict,
                effect.verdict_text(ba, "total", lang),
            ]
        )
    return pd.DataFrame(rows, columns=cols)
