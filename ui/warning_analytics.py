"""The warning page's analytics sections: the back-test (回测) and the emerging hot spots (新兴热点).

Each section reads one fangcang function through ``state.load`` (keyed on the data version) and
renders it with localized column names; an empty result says what it is and stops.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from fangcang import divisions
from fangcang.access import Scope
from fangcang.i18n import fmt_int
from fangcang.scoring import hotspots
from fangcang.scoring.backtest import (
    BLOCK,
    DRAWS,
    month_table,
    stored_summary,
)
from fangcang.timeutil import Month
from fangcang.websafe import escape_markdown
from ui import state
from ui.state import t

# ---------------------------------------------------------------------------------------------
# Pending level changes
# ---------------------------------------------------------------------------------------------
#: Communities the pending line names before "and N more" (a city has hundreds of them; the
#: ranking's pending column has them all).
PENDING_NAMES = 12


def pending_line(pending: pd.DataFrame, limit: int = PENDING_NAMES) -> str:
    """The line under the level cards naming the changes seen once and not yet in force.

    ``pending`` is ``fangcang.scoring.store.pending_changes`` (upgrades first, highest score
    first): the first ``limit`` are named with their levels, the rest counted.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    shown = pending.head(limit)
    names = t("warning.explain.separator").join(
        f"{escape_markdown(str(n))}（{t(f'warning_level.{lv}')}→{t(f'warning_level.{raw}')}）"
        for n, lv, raw in zip(shown["name"], shown["level"], shown["raw_level"], strict=True)
    )
    line = f"{t('warnpage.pending_note')} {names}"
    if len(pending) > len(shown):
        line += t("warnpage.pending_more", n=fmt_int(len(pending) - len(shown)))
    return line


# ---------------------------------------------------------------------------------------------
# Back-test
# ---------------------------------------------------------------------------------------------
def _num(x, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _signed(x, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}"


def _interval(mean, low, high, fmt=_num) -> str:
    if mean is None:
        return "—"
    if low is None or high is None:
        return fmt(mean)
    return t("backtest.interval", mean=fmt(mean), low=fmt(low), high=fmt(high))


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _won(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return t("backtest.tie")
    return t("backtest.win") if value else t("backtest.loss")


def backtest_section(area: str) -> None:
    """The kept back-test of the current configuration: the summary with intervals and wins,
    the months left out and why, and the month-by-month tables. ``area`` names what it covers:
    every community of the database (``filters.whole_area``), whatever area the page shows."""
    df, s = state.load(stored_summary)
    st.subheader(t("backtest.title"))
    if df.empty:
        st.info(t("backtest.none"))
        return
    share = _pct(s["share"])
    st.caption(t("backtest.caption", share=share, draws=f"{DRAWS:,}", block=BLOCK, area=area))
    if s["excluded"]:
        st.caption(
            t(
                "backtest.excluded",
                months="；".join(
                    f"{p}（{t(f'backtest.reason.{r}')}）"
                    if state.lang() == "zh"
                    else f"{p} ({t(f'backtest.reason.{r}')})"
                    for p, r in s["excluded"]
                ),
            )
        )
    if s["months"] == 0:
        st.info(t("backtest.none"))
        return
    st.markdown(f"**{t('backtest.summary', n=s['months'])}**")
    rows = []
    for c in s["comparisons"]:
        rows.append(
            {
                t("backtest.col.figure"): t(f"backtest.fig.{c['key']}", share=share),
                t("backtest.col.model"): _interval(c["model"], c["model_low"], c["model_high"]),
                t("backtest.col.baseline"): _interval(c["base"], c["base_low"], c["base_high"]),
                t("backtest.col.difference"): _interval(
                    c["diff"], c["diff_low"], c["diff_high"], _signed
                ),
                t("backtest.col.wins"): t("backtest.wins_of", wins=c["wins"], n=c["n"]),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

    mt = month_table(df)
    st.markdown(f"**{t('backtest.monthly_rho')}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("backtest.col.period"): mt["period"],
                t("backtest.col.next_crime"): mt["next_crime"],
                t("backtest.short.rho_count_model"): mt["rho_count_model"].map(_num),
                t("backtest.short.rho_count_base"): mt["rho_count_last_count"].map(_num),
                t("backtest.short.win_count"): mt["win_count"].map(_won),
                t("backtest.short.rho_rate_model"): mt["rho_rate_model"].map(_num),
                t("backtest.short.rho_rate_base"): mt["rho_rate_rate_12m"].map(_num),
                t("backtest.short.win_rate"): mt["win_rate"].map(_won),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown(f"**{t('backtest.monthly_pai', share=share)}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("backtest.col.period"): mt["period"],
                t("backtest.short.pai_model"): mt["pai_model"].map(_num),
                t("backtest.short.pai_count_base"): mt["pai_last_count"].map(_num),
                t("backtest.short.pai_rate_base"): mt["pai_rate_12m"].map(_num),
                t("backtest.short.pai_pop_model"): mt["pai_pop_model"].map(_num),
                t("backtest.short.pai_pop_count_base"): mt["pai_pop_last_count"].map(_num),
                t("backtest.short.pai_pop_rate_base"): mt["pai_pop_rate_12m"].map(_num),
            }
        ),
        hide_index=True,
        width="stretch",
    )


# ---------------------------------------------------------------------------------------------
# Emerging hot spots
# ---------------------------------------------------------------------------------------------
def hotspot_section(
    scope: Scope, period: Month, district: str | None = None, *, city_wide: bool = False
) -> None:
    """Emerging hot-spot categories of the communities in ``scope`` for the months ending with
    ``period``: counts per category, then the hot and cold spots (filterable) with their Gi*
    and trend figures. ``district``: the study area (a city's chosen district; None: each
    district the scope touches analysed on its own, ``hotspots.categories``); ``city_wide``
    (several districts, nothing narrowing the view): no analysis, the page asks for a district
    (ten analyses would be run)."""
    st.subheader(t("hotspot.title"))
    if city_wide:
        st.info(t("hotspot.choose_district"))
        return
    frame, reason = state.load(
        hotspots.categories_or_reason, Month.parse(str(period)), scope, district
    )
    if frame is None:
        st.info(t("hotspot.none", reason=reason))
        return
    a = frame.attrs
    caption = t(
        "hotspot.caption", alpha=a["alpha"], first=a["first"], last=a["last"], months=a["months"]
    )
    if district is not None:
        area = escape_markdown(divisions.district_name(district, state.lang()))
        caption += (" " if state.lang() == "en" else "") + t("hotspot.area", area=area)
    st.caption(caption)
    if a.get("unplaced"):  # names from data: escaped (they end up in markdown)
        name_of = dict(zip(frame["community_id"], frame["name"].astype(str), strict=True))
        names = "、" if state.lang() == "zh" else ", "
        names = names.join(escape_markdown(name_of.get(c, c)) for c in a["unplaced"][:3])
        st.caption(t("hotspot.unplaced", n=len(a["unplaced"]), names=names))
    cats = [hotspots.HotSpotCategory(c) for c in frame["category"]]
    counts = hotspots.category_counts(frame)
    present = [k for k, n in counts.items() if n]
    left, right = st.columns([1, 2])
    left.metric(t("hotspot.hot_now"), sum(c.hot_now for c in cats))
    cold_now = hotspots.HotSpotCategory.HISTORICAL_COLD
    left.metric(t("hotspot.cold_now"), sum(c.is_cold and c is not cold_now for c in cats))
    right.dataframe(
        pd.DataFrame(
            {
                t("hotspot.col.category"): [t(f"hotspot.category.{k}") for k in present],
                t("hotspot.counts"): [counts[k] for k in present],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    marked = [k for k in present if k not in ("no_pattern", "not_assessed", "island")]
    chosen = st.multiselect(
        t("hotspot.filter"),
        present,
        default=marked,
        format_func=lambda k: t(f"hotspot.category.{k}"),
        key="hotspot_categories",
        placeholder=t("dash.choose"),
    )
    shown = frame[frame["category"].isin(chosen)]
    if shown.empty:
        st.caption(t("dash.no_data"))
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    t("warning.col.community"): shown["name"],
                    t("warning.col.sub_district"): shown["sub_district"],
                    t("hotspot.col.category"): [
                        t(f"hotspot.category.{c}") for c in shown["category"]
                    ],
                    t("hotspot.col.gi_z"): shown["gi_z"].map(lambda v: _signed(v, 2)),
                    t("hotspot.col.months"): [
                        f"{h} / {c} / {n}"
                        for h, c, n in zip(
                            shown["hot_months"], shown["cold_months"], shown["months"], strict=True
                        )
                    ],
                    t("hotspot.col.trend"): [t(f"hotspot.trend.{v}") for v in shown["trend"]],
                    t("hotspot.col.mk_tau"): shown["mk_tau"].map(lambda v: _signed(v, 2)),
                    t("hotspot.col.mk_p"): shown["mk_p"].map(lambda v: _num(v, 3)),
                    t("hotspot.col.rate_last"): shown["rate_last"].map(lambda v: _num(v, 1)),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    islands = frame[frame["category"] == hotspots.HotSpotCategory.ISLAND.value]
    if len(islands):
        st.caption(t("hotspot.islands", names="、".join(islands["name"].astype(str))))
