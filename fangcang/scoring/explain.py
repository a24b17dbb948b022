"""Explanations a leader can read: each indicator's value, how it compares with the district,
its percentile, weight and contribution, in Chinese or English.

``build`` makes a language-neutral dict per community (stored with each run as JSON);
``sentences`` / ``reason_line`` render it in ``zh`` or ``en`` from ``fangcang.i18n.warning``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import t
from ..models import WarningLevel
from .config import INDICATOR_KEYS, ScoringConfig


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def build(df: pd.DataFrame, config: ScoringConfig) -> dict[str, dict]:
    """Explanation dicts keyed by community_id, from a ``model.compute`` frame (whole district,
    so medians are the district's)."""
    medians = {
        k: float(np.median(df[k].to_numpy(float))) if len(df) else 0.0 for k in INDICATOR_KEYS
    }
    out: dict[str, dict] = {}
    for row in df.itertuples(index=False):
        r = row._asdict()
        items = []
        for key in INDICATOR_KEYS:
            raw = float(r[key])
            med = medians[key]
            item = {
                "key": key,
                "raw": _r(raw),
                "percentile": _r(r[f"p_{key}"], 2),
                "weight": _r(config.weights[key]),
                "contribution": _r(r[f"c_{key}"], 2),
                "median": _r(med),
                "ratio": _r(raw / med, 2) if med > 0 else None,
            }
            if key == "incident_trend":
                item.update(now=int(r["incidents"]), before=int(r["incidents_year_before"]))
            elif key == "control_gap":
                item.update(factors=int(r["factors"]), out=int(r["factors_out"]))
            items.append(item)
        top = sorted(items, key=lambda i: -i["contribution"])
        level = r["level"]
        out[r["community_id"]] = {
            "score": float(r["score"]),
            "level": WarningLevel(level).value,
            "residents": int(r["residents"]),
            "zero_residents": int(r["residents"]) == 0,
            "window_months": config.window_months,
            "significant": bool(r["significant"]),
            "stability": _r(r["stability"], 3) if "stability" in r else None,
            "window_stable": bool(r["window_stable"]) if "window_stable" in r else None,
            "borderline": bool(r["borderline"]) if "borderline" in r else None,
            "spread": float(config.spread),
            "draws": config.draws,
            "indicators": items,
            "top": [i["key"] for i in top],
        }
    return out


def _num(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}"


def indicator_sentence(item: dict, lang: str = "zh", window_months: int = 3) -> str:
    """One indicator in words, without the percentile/weight terms."""
    key = item["key"]
    if key in ("incident_rate", "crime_rate"):
        if item["ratio"] is None:
            return t(f"warning.explain.{key}_nomedian", lang, value=_num(item["raw"]))
        return t(f"warning.explain.{key}", lang, ratio=_num(item["ratio"]), value=_num(item["raw"]))
    if key == "incident_trend":
        z = item["raw"]
        kind = "up" if z >= 2 else "down" if z <= -2 else "flat"
        return t(
            f"warning.explain.incident_trend_{kind}",
            lang,
            months=window_months,
            now=item["now"],
            before=item["before"],
            z=f"{z:+.1f}",
        )
    if key == "control_gap":
        if item["factors"] == 0:
            return t("warning.explain.control_gap_none", lang)
        return t("warning.explain.control_gap", lang, total=item["factors"], out=item["out"])
    if key == "floating_share":
        return t(
            "warning.explain.floating_share",
            lang,
            share=_num(100 * item["raw"]),
            median=_num(100 * item["median"]),
        )
    raise KeyError(f"no sentence for indicator {key!r}")


def sentences(explanation: dict, lang: str = "zh") -> list[str]:
    """The full explanation: headline, zero-residents flag, one line per indicator (largest
    contribution first) with percentile, weight and contribution, and the stability notes."""
    e = explanation
    level = WarningLevel(e["level"])
    lines = [
        t(
            "warning.explain.headline",
            lang,
            score=_num(e["score"]),
            level=t(f"warning.level_long.{level.value}", lang),
        )
    ]
    if e.get("zero_residents"):
        lines.append(t("warning.explain.zero_residents", lang))
    by_key = {i["key"]: i for i in e["indicators"]}
    for key in e["top"]:
        item = by_key[key]
        terms = t(
            "warning.explain.terms",
            lang,
            p=_num(item["percentile"]),
            w=_num(100 * item["weight"], 0),
            c=_num(item["contribution"]),
        )
        lines.append(indicator_sentence(item, lang, e.get("window_months", 3)) + terms)
    if e.get("stability") is not None:
        lines.append(
            t(
                "warning.explain.stability",
                lang,
                spread=_num(100 * e["spread"], 0),
                draws=e["draws"],
                share=_num(100 * e["stability"], 0),
            )
        )
        if e.get("window_stable") is False:
            lines.append(t("warning.explain.window_unstable", lang))
        if e.get("borderline"):
            lines.append(t("warning.explain.borderline", lang))
    return lines


def reason_line(explanation: dict, lang: str = "zh", n: int = 2) -> str:
    """The top ``n`` reasons in one line (for map tooltips, ranking tables, bulletins)."""
    by_key = {i["key"]: i for i in explanation["indicators"]}
    parts = [
        indicator_sentence(by_key[k], lang, explanation.get("window_months", 3))
        for k in explanation["top"][:n]
    ]
    if explanation.get("zero_residents"):
        parts.insert(0, t("warning.explain.zero_residents", lang).rstrip("。."))
    return t("warning.explain.separator", lang).join(parts)
