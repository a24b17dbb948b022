"""The effect in words and tables: the verdict sentence of a before/after, the year-on-year
rows as a display table (labels in the reader's language)."""

from __future__ import annotations

import pandas as pd

from ..i18n import fmt_int, fmt_pct, t
from ..incidents import METRIC_KEYS, YoYRow
from .evaluate import BeforeAfter


def verdict_text(ba: BeforeAfter, measure: str, lang: str = "zh") -> str:
    """One plain sentence about a measure's change, with the warning when it is within what
    comparison communities did by themselves."""
    e = ba.effects[measure]
    metric = t(METRIC_KEYS[measure], lang)
    base = t(
        "effect.sentence.raw",
        lang,
        name=ba.community_name,
        metric=metric,
        k=ba.windows.months,
        before=fmt_int(e.raw.before, lang),
        after=fmt_int(e.raw.now, lang),
        pct=fmt_pct(e.raw.pct, lang),
        sig=t("effect.sig.yes" if e.raw.significant else "effect.sig.no", lang),
    )
    if e.verdict == "no_comparison":
        return base + t("effect.verdict.no_comparison", lang)
    return base + t(
        f"effect.verdict.{e.verdict}",
        lang,
        n=len(ba.comparisons),
        comp_pct=fmt_pct(e.comparison_pct, lang),
        lo=fmt_pct(e.comparison_range[0], lang) if e.comparison_range else "—",
        hi=fmt_pct(e.comparison_range[1], lang) if e.comparison_range else "—",
        did=fmt_pct(e.did_ratio_pct, lang),
    )


def yoy_frame(rows: list[YoYRow], lang: str = "zh") -> pd.DataFrame:
    """The YoY rows as a display table (labels in ``lang``)."""
    return pd.DataFrame(
        [
            {
                t("effect.col.metric", lang): r.label(lang),
                t("effect.col.now", lang): r.now,
                t("effect.col.last_year", lang): r.last_year,
                t("effect.col.pct", lang): (
                    t("effect.zero_last_year", lang)
                    if r.zero_last_year and r.now
                    else fmt_pct(r.pct, lang, 2)
                ),
                "z": round(r.z, 2),
                "p": "<0.0001" if r.p_value < 0.0001 else f"{r.p_value:.4f}",
                t("effect.col.significant", lang): t(
                    "effect.sig.yes" if r.significant else "effect.sig.no", lang
                ),
            }
            for r in rows
        ]
    )
