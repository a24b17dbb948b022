"""Effect (成效): focused work (整治) and whether it made a difference, and the district's
year-on-year figures.

Modules
-------
- ``focus``: register, end and list focused work (audited writes).
- ``evaluate``: before/after windows, comparison communities, difference-in-differences and
  the verdict (the method is described there).
- ``display``: the verdict sentence and the year-on-year display table.
- ``demo``: the demo extension (focused work, then a year of bulletins).

Incident counts and year-on-year figures come from ``fangcang.incidents`` and are re-exported
here under the names the effect's callers use. This package does not import ``demo`` (which
imports ``fangcang.bulletins``, which reads this package): ``demo_extend`` loads it when the demo
runs.
"""

from __future__ import annotations

from ..incidents import (
    ALL_KEYS,
    METRIC_KEYS,
    METRICS,
    YoYRow,
    district_monthly,
    district_yoy,
    latest_data_month,
    yoy_from_monthly,
)
from .display import verdict_text, yoy_frame
from .evaluate import (
    MEASURES,
    VERDICTS,
    BeforeAfter,
    ComparisonCommunity,
    MeasureEffect,
    Windows,
    before_after,
    community_month_counts,
    effect_summary,
    focus_windows,
    match_comparisons,
    measure_effect,
    residents_by_community,
)
from .focus import end_focus, find_community, list_focus, start_focus

#: The headline metrics (``incidents.METRICS``), under the name the bulletins use.
HEADLINES = METRICS


def demo_extend(ctx) -> dict:
    """Demo extension (``fangcang.demo.EXTENSIONS``): see ``fangcang.effect.demo``."""
    # Imported here, not at the top: demo imports fangcang.bulletins, which imports this
    # package (an import at the top would close the cycle bulletins -> effect -> bulletins).
    from .demo import demo_extend as extend

    return extend(ctx)


__all__ = [
    "ALL_KEYS",
    "HEADLINES",
    "MEASURES",
    "METRICS",
    "METRIC_KEYS",
    "VERDICTS",
    "BeforeAfter",
    "ComparisonCommunity",
    "MeasureEffect",
    "Windows",
    "YoYRow",
    "before_after",
    "community_month_counts",
    "demo_extend",
    "district_monthly",
    "district_yoy",
    "effect_summary",
    "end_focus",
    "find_community",
    "focus_windows",
    "latest_data_month",
    "list_focus",
    "match_comparisons",
    "measure_effect",
    "residents_by_community",
    "start_focus",
    "verdict_text",
    "yoy_frame",
    "yoy_from_monthly",
]
