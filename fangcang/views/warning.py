"""The warning page (预警): the month's ranking filtered by levels, score and indicator points,
last month's level, the level changes and the pending ones, the stored back-test figures, and
the what-if scoring with other weights (nothing saved).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from .. import trends
from ..access import Scope
from ..scoring import backtest_summary, compute, load_config, store, stored_backtest
from ..timeutil import Month
from .overview import changes_since_last_month
from .shared import INDICATORS, warning_frame

log = logging.getLogger(__name__)


@dataclass
class WarningPage:
    """What the warning page shows (see ``warning_page``)."""

    period: Month
    table: pd.DataFrame  # filtered ranking (warning_frame columns + rank + level_before)
    total: int  # communities with a result in scope before filtering
    changes: pd.DataFrame  # level changes against last month (changes_since_last_month)
    pending: pd.DataFrame  # changes seen once, not yet in force, among the shown communities
    level_counts: dict[str, int]  # communities per level among the shown (filtered) ones
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
    the pending changes and the stored back-test figures.

    ``level_counts`` and ``pending`` cover the filtered communities (those in ``table``), so
    the page's level cards and its caption count the same set; ``total`` is the number in
    scope before the level, score and threshold filters."""
    thresholds = thresholds or {}
    unknown = set(thresholds) - set(INDICATORS)
    if unknown:
        raise ValueError(f"unknown indicator(s) {sorted(unknown)}; known: {INDICATORS}")
    known = store.level_order()
    bad = set(levels) - set(known)
    if bad:
        raise ValueError(f"unknown level(s) {sorted(bad)}; known: {known}")
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
    table = table.reset_index(drop=True)
    # The level cards, the pending counts and the caption all count the same filtered set.
    pending = store.pending_changes(session, period, scope, frame=now)
    pending = pending[pending["community_id"].isin(table["community_id"])].reset_index(drop=True)
    bt, summary = pd.DataFrame(), None
    try:
        bt = stored_backtest(session)
        summary = backtest_summary(bt) if len(bt) else None
    except FileNotFoundError as exc:  # the page still shows the ranking without it
        log.warning("back-test figures left out: the scoring configuration is missing (%s)", exc)
    return WarningPage(
        period=period,
        table=table,
        total=len(now),
        changes=changes_since_last_month(session, scope, period, now, before),
        pending=pending,
        level_counts=store.count_levels(table),
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
