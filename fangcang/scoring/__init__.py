"""Targeted warning (靶向预警): a transparent composite score and four-colour level per community
(model 2: rates relative to the district, significance gate, persistence).

The model is documented in docs/scoring.md. Public functions:

- ``compute(session, period, config=None, scope=None)``: score every community (nothing saved;
  pass a modified ``ScoringConfig`` for a what-if).
- ``run(session, period, config=None, actor="system", rerun=False)``: score and store a run.
- ``results``, ``level_changes``, ``level_history``, ``level_counts``: read stored runs.
- ``backtest(session, months=12, ...)``, ``stored_backtest``, ``backtest_summary``.
- ``load_config``, ``ScoringConfig``; ``explain.sentences`` / ``explain.reason_line``.
"""

from .backtest import backtest, stored_backtest
from .backtest import summary as backtest_summary
from .config import INDICATOR_KEYS, ScoringConfig, load_config
from .demo import demo_extend
from .model import INDICATORS, compute, eb_ratio, excess_p, persist
from .store import (
    count_levels,
    latest_run,
    level_changes,
    level_counts,
    level_history,
    level_order,
    levels_for_month,
    pending_changes,
    results,
    run,
    run_results,
    stored_periods,
)

__all__ = [
    "INDICATORS",
    "INDICATOR_KEYS",
    "ScoringConfig",
    "backtest",
    "backtest_summary",
    "compute",
    "demo_extend",
    "latest_run",
    "level_changes",
    "level_counts",
    "level_history",
    "load_config",
    "eb_ratio",
    "excess_p",
    "persist",
    "count_levels",
    "level_order",
    "levels_for_month",
    "pending_changes",
    "run_results",
    "results",
    "run",
    "stored_backtest",
    "stored_periods",
]
