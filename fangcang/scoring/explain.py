"""Explanations a leader can read: each indicator's value, how it compares with the district,
its percentile, weight and contribution, in Chinese or English.

``build`` makes a language-neutral dict per community (stored with each run as JSON);
``sentences`` / ``reason_line`` render it in ``zh`` or ``en`` from ``fangcang.i18n.warning``.
They render both model 2 (``"model_version": 2``) and the stored explanations of model-1 runs
(percentiles), so old runs stay readable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..i18n import t
from ..models import WarningLevel
from .config import INDICATOR_KEYS, ScoringConfig

log = logging.getLogger(__name__)


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


#: Extra sentences appended to every explanation: functions ``(explanation, lang) -> str | None``.
#: The hook for other analyses (e.g. emerging hot spots: "part of a cluster of high-crime
#: communities"); register with ``register_sentence``. Each is called after the indicator lines.
EXTRA_SENTENCES: list[Callable[[dict, str], str | None]] = []


def register_sentence(fn: Callable[[dict, str], str | None]) -> Callable[[dict, str], str | None]:
    """Add ``fn`` to ``EXTRA_SENTENCES`` (once); returns it, so it can decorate."""
    if fn not in EXTRA_SENTENCES:
        EXTRA_SENTENCES.append(fn)
    return fn


def _district(df: pd.DataFrame) -> dict[str, float]:
    res = df["residents"].to_numpy(float)
    fac = df["factors"].to_numpy(float)
    months = max(int(df.attrs.get("months_covered", 12)), 1)
    d_now = float(df["crime_recent"].sum())
    d_before = float(df["crime_year_before"].sum())
    return {
        "crime_rate": float(df.attrs.get("district_crime_rate", 0.0)),
        "incident_rate": float(df.attrs.get("district_incident_rate", 0.0)),
        "control_gap": float(df["factors_out"].sum() / fac.sum()) if fac.sum() else 0.0,
        "floating_share": float(df["floating"].sum() / res.sum()) if res.sum() else 0.0,
        "trend_pct": 100.0 * (d_now - d_before) / d_before if d_before else None,
        "months": months,
    }


def build(df: pd.DataFrame, config: ScoringConfig) -> dict[str, dict]:
    """Explanation dicts keyed by community_id, from a ``model.compute`` frame of the whole
    district (model 2; language-neutral, stored with each run as JSON)."""
    dist = _district(df) if len(df) else {}
    out: dict[str, dict] = {}
    for row in df.itertuples(index=False):
        r = row._asdict()
        raw = {
            "crime_ratio": ("crime_rate", dist.get("crime_rate")),
            "incident_ratio": ("incident_rate", dist.get("incident_rate")),
            "trend": ("trend_z", None),
            "control_ratio": ("control_gap", dist.get("control_gap")),
            "floating_ratio": ("floating_share", dist.get("floating_share")),
        }
        items = []
        for key in INDICATOR_KEYS:
            col, district = raw[key]
            item = {
                "key": key,
                "ratio": _r(r[key], 3),
                "raw": _r(r[col]),
                "district": None if district is None else _r(district),
                "points": _r(r[f"pt_{key}"], 2),
                "weight": _r(config.weights[key]),
                "contribution": _r(r[f"c_{key}"], 2),
            }
            if key == "crime_ratio":
                item.update(count=int(r["crime_incidents"]), raw_ratio=_nan(r["crime_raw_ratio"]))
                item.update(credibility=_r(r["crime_weight"], 3))
            elif key == "incident_ratio":
                item.update(count=int(r["incidents"]))
            elif key == "trend":
                item.update(
                    mark=str(r["trend_mark"]),
                    now=int(r["crime_recent"]),
                    before=int(r["crime_year_before"]),
                    p=float(r["trend_p"]),
                    district_pct=None
                    if dist.get("trend_pct") is None
                    else _r(dist["trend_pct"], 1),
                    months=config.trend_months,
                )
            elif key == "control_ratio":
                item.update(factors=int(r["factors"]), out=int(r["factors_out"]))
            items.append(item)
        top = sorted(items, key=lambda i: -i["contribution"])
        out[r["community_id"]] = {
            "model_version": 2,
            "score": float(r["score"]),
            "level": WarningLevel(r["level"]).value,
            "raw_level": WarningLevel(r["raw_level"]).value,
            "pending": r["pending"] if isinstance(r["pending"], str) else None,
            "residents": int(r["residents"]),
            "zero_residents": int(r["residents"]) == 0,
            "window_months": config.window_months,
            "months_covered": dist.get("months", config.window_months),
            "significant": bool(r["significant"]),
            "excess_p": float(r["excess_p"]),
            "alpha": float(config.alpha),
            "gated": bool(
                not r["significant"]
                and config.level_of(float(r["score"])).rank > WarningLevel.BLUE.rank
            ),
            "stability": _r(r["stability"], 3) if "stability" in r else None,
            "window_stable": bool(r["window_stable"]) if "window_stable" in r else None,
            "borderline": bool(r["borderline"]) if "borderline" in r else None,
            "spread": float(config.spread),
            "draws": config.draws,
            "indicators": items,
            "top": [i["key"] for i in top],
            "hotspot": None,  # filled by the emerging hot-spot analysis when it runs
        }
    return out


def _nan(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else _r(x, 3)


def _num(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}"


def _p_text(p: float) -> str:
    return "p<0.0001" if p < 0.0001 else f"p={p:.4f}"


def indicator_sentence(item: dict, lang: str = "zh", window_months: int = 3) -> str:
    """One indicator in words, without the points/weight terms (model 2 keys, or the model-1
    keys of stored old runs)."""
    key = item["key"]
    if key in ("crime_ratio", "incident_ratio"):
        return t(
            f"warning.explain.{key}",
            lang,
            ratio=_num(item["ratio"], 2),
            value=_num(item["raw"]),
            district=_num(item["district"] or 0.0),
            months=window_months,
        )
    if key == "trend":
        mark = item.get("mark", "na")
        if mark == "na":
            return t("warning.explain.trend_na", lang)
        dpct = item.get("district_pct")
        return t(
            f"warning.explain.trend_{mark}",
            lang,
            months=item.get("months", 3),
            now=item["now"],
            before=item["before"],
            district="—" if dpct is None else f"{dpct:+.0f}%",
            z=f"{item['raw']:+.1f}",
            p=_p_text(item.get("p", 1.0)),
        )
    if key == "control_ratio":
        if item["factors"] == 0:
            return t("warning.explain.control_gap_none", lang)
        return t(
            "warning.explain.control_ratio",
            lang,
            total=item["factors"],
            out=item["out"],
            share=_num(100 * item["raw"]),
            district=_num(100 * (item["district"] or 0.0)),
        )
    if key == "floating_ratio":
        return t(
            "warning.explain.floating_ratio",
            lang,
            share=_num(100 * item["raw"]),
            district=_num(100 * (item["district"] or 0.0)),
        )
    return _v1_sentence(item, lang, window_months)


def _v1_sentence(item: dict, lang: str, window_months: int) -> str:
    """Sentences of model-1 explanations (stored runs made before model 2)."""
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


def _terms(item: dict, lang: str) -> str:
    if "points" in item:
        return t(
            "warning.explain.points",
            lang,
            pts=_num(item["points"]),
            w=_num(100 * item["weight"], 0),
            c=_num(item["contribution"]),
        )
    return t(
        "warning.explain.terms",
        lang,
        p=_num(item["percentile"]),
        w=_num(100 * item["weight"], 0),
        c=_num(item["contribution"]),
    )


def sentences(explanation: dict, lang: str = "zh") -> list[str]:
    """The full explanation: headline, pending change, zero-residents flag, the significance
    of the excess, one line per indicator (largest contribution first) with its points,
    weight and contribution, the extra sentences (``EXTRA_SENTENCES``) and stability notes."""
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
    if e.get("pending"):
        lines.append(
            t(
                f"warning.explain.pending_{e['pending']}",
                lang,
                raw=t(f"warning.level_long.{e['raw_level']}", lang),
            )
        )
    if e.get("zero_residents"):
        lines.append(t("warning.explain.zero_residents", lang))
    if e.get("model_version") == 2 and not e.get("zero_residents"):
        key = "significant" if e["significant"] else "not_significant"
        lines.append(
            t(f"warning.explain.{key}", lang, p=_p_text(e["excess_p"]), alpha=f"{e['alpha']:g}")
        )
        if e.get("gated"):
            lines.append(t("warning.explain.gated", lang))
    by_key = {i["key"]: i for i in e["indicators"]}
    months = e.get("months_covered") or e.get("window_months", 3)
    for key in e["top"]:
        item = by_key[key]
        lines.append(indicator_sentence(item, lang, months) + _terms(item, lang))
    for fn in EXTRA_SENTENCES:
        try:
            extra = fn(e, lang)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("extra explanation sentence %s failed: %s", fn, exc)
            continue
        if extra:
            lines.append(extra)
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
        if e.get("window_stable") is False and e.get("model_version") != 2:
            lines.append(t("warning.explain.window_unstable", lang))
        if e.get("borderline"):
            lines.append(t("warning.explain.borderline", lang))
    return lines


def reason_line(explanation: dict, lang: str = "zh", n: int = 2) -> str:
    """The top ``n`` reasons in one line (for map tooltips, ranking tables, bulletins): the
    indicators that add points, largest first (the crime rate when none does)."""
    e = explanation
    by_key = {i["key"]: i for i in e["indicators"]}
    months = e.get("months_covered") or e.get("window_months", 3)
    keys = list(e["top"][:n])
    if e.get("model_version") == 2:
        keys = [k for k in e["top"] if by_key[k]["contribution"] > 0][:n] or ["crime_ratio"]
    parts = [indicator_sentence(by_key[k], lang, months) for k in keys]
    if e.get("zero_residents"):
        parts.insert(0, t("warning.explain.zero_residents", lang).rstrip("。."))
    return t("warning.explain.separator", lang).join(parts)
