"""The overview page (总览): headline figures with year-on-year change and significance, the
warning levels and their change since last month, the monthly trend against last year, the top
red and yellow communities, task figures, data freshness, and the district headline.

Counts come from ``fangcang.incidents``, warning results from ``fangcang.scoring.store``,
the district headline from ``fangcang.summary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import incidents, summary
from ..access import Scope
from ..models import AggRecords, WarningLevel
from ..scoring import store
from ..tasks import completion_totals
from ..timeutil import Month

#: The levels listed among the top communities (yellow and more serious), from the enum.
TOP_LEVELS: tuple[str, ...] = tuple(
    lv.value for lv in WarningLevel if lv.rank >= WarningLevel.YELLOW.rank
)


def changes_since_last_month(
    session: Session, scope: Scope, period: Month, now: pd.DataFrame, before: pd.DataFrame
) -> pd.DataFrame:
    """``store.level_changes`` of two warning frames held already, without communities that
    had no result last month: community_id, name, sub_district, station, level_before, level,
    score_before, score, change (``new_red``, ``upgraded``, ``downgraded``)."""
    ch = store.level_changes(session, period, scope, now=now, before=before)
    return ch[ch["change"] != "new"].reset_index(drop=True)


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
    spans = (("month", period), ("ytd", ytd_first))
    # both spans' exact tests in one vectorised call
    both = incidents.yoy_spans(monthly, [(first, period) for _, first in spans], incidents.METRICS)
    for (span, _), yoy in zip(spans, both, strict=True):
        for r in yoy:
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
    # the stored results as they are (the overview shows levels, scores, names and reasons:
    # not warning_frame's indicator columns); last month's without its explanations
    now = store.results(session, period, scope, lang)
    before = store.level_scores(session, period.shift(-1), scope)
    top = now[now["level"].isin(TOP_LEVELS)].head(top_n)
    # one query serves the headline (this year and last) and the monthly trend
    monthly = incidents.district_monthly(session, Month(period.year - 1, 1), period, scope)
    # the items dispatched in the month, summed in SQL (the per-community figures of
    # task_completion summed; None when there were none)
    tasks = completion_totals(session, period.start, period.end, scope)
    task_summary = None
    if tasks["items"]:
        total, done = tasks["items"], tasks["completed"]
        task_summary = {
            "total": total,
            "done": done,
            "completion": (done / total) if total else None,
            "overdue": tasks["overdue"],
        }
    return Overview(
        period=period,
        headline=headline(session, scope, period, monthly),
        levels=store.count_levels(now),
        levels_before=store.count_levels(before),
        has_warning=not now.empty,
        changes=changes_since_last_month(session, scope, period, now, before),
        monthly=monthly_this_vs_last(session, scope, period, monthly),
        top=top[["community_id", "name", "sub_district", "level", "score", "reason"]].reset_index(
            drop=True
        ),
        tasks=task_summary,
        freshness=freshness(session, scope),
        last_import=_finished(summary.last_import(session)),
        district=district_headline(session, scope),
    )
