"""What several pages show of a month: the period a page opens on and the months to choose,
the stored warning results as a page reads them, and the task and visit measures per community
(the map's layers, the community page, the overview).

Warning results are read through ``fangcang.scoring.store`` (the one reader of stored runs:
the latest version of a month).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import incidents
from ..access import Scope
from ..models import WarningRun
from ..scoring import store
from ..scoring.config import INDICATOR_KEYS
from ..tasks import completion_by_community
from ..timeutil import Month, last_complete_month, month_range
from ..visits import visit_measures

#: The indicators of the warning model (one place: ``fangcang.scoring.config``).
INDICATORS: tuple[str, ...] = INDICATOR_KEYS

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
def warning_frame(
    session: Session, scope: Scope, period: Month, lang: str = "zh", reasons: bool = True
) -> pd.DataFrame:
    """Stored warning results of ``period`` in ``scope`` (``store.results``) with a one-line
    reason in ``lang``; ``ind_<indicator>`` is the indicator's ratio to the district (model 2;
    NaN for model-1 runs). Empty (same columns) when the month has no run. Highest score first.
    ``reasons=False`` (a previous month's levels and scores): no reason and no explanation
    (``{}``; the stored explanations are not decoded).
    """
    df = store.results(session, period, scope, lang if reasons else None, explanations=reasons)
    if df.empty:
        return pd.DataFrame(columns=WARNING_COLUMNS)
    for k in INDICATORS:
        df[f"ind_{k}"] = pd.to_numeric(df[f"ratio_{k}"], errors="coerce")
        df[f"pt_{k}"] = pd.to_numeric(df[f"pt_{k}"], errors="coerce")
    return df[WARNING_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Tasks and visits
# ---------------------------------------------------------------------------------------------
def task_completion(session: Session, scope: Scope, period: Month) -> pd.DataFrame | None:
    """Task completion per community for items dispatched in ``period`` (the task feature's
    ``completion_by_community``): community_id, completion (0..1, NaN without items), total,
    done, overdue; None when no item was dispatched."""
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
    houses, visited_90, verified_share, open_total; None when nobody has visited anything."""
    df = visit_measures(session, scope, period.last_day)
    if df is None or len(df) == 0 or int(df["visited_365"].sum()) == 0:
        return None
    out = df.rename(columns={"share_90": "coverage"})
    keep = ["community_id", "coverage", "houses", "visited_90", "verified_share", "open_total"]
    return out[[c for c in keep if c in out.columns]].reset_index(drop=True)
