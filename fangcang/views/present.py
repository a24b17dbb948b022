"""The presentation page (汇报): what the slides show beside the overview (the effect of
focused work in one table)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from .. import effect
from ..access import Scope
from ..timeutil import Month


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
