"""Warning (预警): level counts and pending changes at the top, the ranking with filters and
downloads (points per indicator, trend and significance marks), level changes since last
month, back-test figures, and the what-if weights panel."""

import pandas as pd
import streamlit as st

from fangcang import palette
from fangcang.i18n import fmt_int
from fangcang.scoring import load_config, store
from fangcang.timeutil import Month
from fangcang.views import warning as view
from fangcang.views.shared import INDICATORS
from ui import chips, export, filters, firststart, guard, state, warning_analytics
from ui.state import t

viewer = guard.page("warning")


version = state.data_version()
f = filters.sidebar(
    viewer,
    district=True,
    street=True,
    station=True,
    levels=True,
    min_score=True,
    spans=True,
    city_label="dash.city_all",
)
scope = f.scope(viewer.scope, filters.community_meta(version, viewer.scope))
# A city (several districts): every figure below is the chosen area's, named in the title,
# except the back-test tab's (the model's record over the whole database).
_area = filters.where_text(f, viewer) if len(f.districts) > 1 else ""
with st.sidebar.expander(t("warnpage.thresholds")):
    thresholds = {}
    for key in INDICATORS:
        value = filters.url_choice(
            f"pt_{key}",
            ["0", "25", "50", "75", "100"],
            "0",
            t(f"warning.indicator.{key}"),
            where=st,
        )
        thresholds[key] = float(value)

page = state.load(
    view.warning_page,
    scope,
    Month.parse(str(f.period)),
    state.lang(),
    levels=tuple(f.levels),
    min_score=f.min_score,
    thresholds=dict(sorted(thresholds.items())),
)
st.title(t("warnpage.title") + (f" · {_area}" if _area else ""))
chips.show(chips.for_filters(f, viewer), key="warning_chips")
if not f.is_month:  # a level is a monthly decision: say which month, do not pretend
    st.info(t("period.warning_page", month=str(f.period), window=str(f.span.current)))
if page.total == 0:
    st.info(firststart.no_warning_run(str(f.period)))
    st.stop()
if len(page.table) < page.total:
    st.caption(
        t(
            "warnpage.caption_filtered",
            period=str(f.period),
            n=fmt_int(len(page.table)),
            total=fmt_int(page.total),
        )
    )
else:
    st.caption(t("warnpage.caption", period=str(f.period), n=fmt_int(len(page.table))))

# Top: the shown communities per level (in force) and the changes seen once, not yet in force.
_counts = page.level_counts
_pend = page.pending
_cols = st.columns(6)
for _col, _lv in zip(_cols[:4], reversed(store.level_order()), strict=True):  # most serious first
    # the sentence form ("red warning") as a card label: "Red warning"
    _col.metric(t(f"warning.level_long.{_lv}").capitalize(), fmt_int(_counts.get(_lv, 0)))
_cols[4].metric(t("warning.pending.upgrade"), fmt_int((_pend["pending"] == "upgrade").sum()))
_cols[5].metric(t("warning.pending.downgrade"), fmt_int((_pend["pending"] == "downgrade").sum()))
if len(_pend):
    st.caption(warning_analytics.pending_line(_pend))

tab_rank, tab_changes, tab_hot, tab_bt, tab_whatif = st.tabs(
    [
        t("warnpage.ranking"),
        t("warnpage.changes"),
        t("hotspot.tab"),
        t("backtest.tab"),
        t("warnpage.whatif"),
    ]
)


def _pcol(key: str) -> str:
    return f"{t(f'warning.indicator.{key}')} · {t('warning.col.points')}"


def _level(lv) -> str:
    return t(f"warning_level.{lv}") if isinstance(lv, str) else "—"


with tab_rank:
    tb = page.table
    marks = [
        " ".join(
            m
            for m in (
                t("warnpage.borderline") if b else t("warnpage.stable"),
                t("warnpage.sig_mark") if s else "",
            )
            if m
        )
        for b, s in zip(tb["borderline"], tb["significant"], strict=True)
    ]
    trend = [t(f"warning.trend_mark.{m}") if isinstance(m, str) else "—" for m in tb["trend_mark"]]
    pending = [t(f"warning.pending.{p}") if isinstance(p, str) else "" for p in tb["pending"]]
    shown = pd.DataFrame(
        {
            "#": tb["rank"],
            t("warning.col.level"): [_level(lv) for lv in tb["level"]],
            t("warning.col.community"): tb["name"],
            **(
                {t("map.district"): filters.district_names(tb["sub_district_code"])}
                if f.city_wide
                else {}
            ),
            t("warning.col.sub_district"): tb["sub_district"],
            t("warning.col.station"): tb["station"],
            t("warning.col.score"): tb["score"].round(1),
            t("warning.col.stability"): (100 * tb["stability"]).round(0),
            t("warning.col.pending"): pending,
            t("warning.col.trend"): trend,
            t("warnpage.col.marks"): marks,
            t("warnpage.col.before"): [_level(lv) for lv in tb["level_before"]],
            **{_pcol(k): tb[f"pt_{k}"].round(0) for k in INDICATORS},
            t("warnpage.col.reason"): tb["reason"],
        }
    )
    level_col = t("warning.col.level")
    colour_of = {t(f"warning_level.{lv}"): c for lv, c in palette.LEVEL_COLOURS.items()}

    def _style(col):
        return [
            f"background-color:{colour_of.get(v, '')};color:white;font-weight:600"
            if v in colour_of
            else ""
            for v in col
        ]

    if shown.empty:
        st.info(filters.empty_text(f, viewer))
    else:
        st.dataframe(
            shown.style.apply(_style, subset=[level_col])
            .format(precision=0, subset=[_pcol(k) for k in INDICATORS])
            .format(precision=1, subset=[t("warning.col.score")]),
            hide_index=True,
            width="stretch",
            height=min(640, 38 + 35 * len(shown)),
            column_config={
                t("warning.col.score"): st.column_config.NumberColumn(format="%.1f"),
                t("warning.col.stability"): st.column_config.ProgressColumn(
                    format="%d%%", min_value=0, max_value=100
                ),
            },
        )
        export.download_buttons(
            shown, viewer=viewer, name=f"warning_{f.period}", target="warning", key="warning_table"
        )

with tab_changes:
    ch = page.changes
    if ch.empty:
        st.caption(t("overview.no_changes"))
    else:
        counts = ch["change"].value_counts()
        cols = st.columns(3)
        for col, k in zip(cols, ("new_red", "upgraded", "downgraded"), strict=True):
            col.metric(t(f"warning.change.{k}"), fmt_int(counts.get(k, 0)))
        st.dataframe(
            pd.DataFrame(
                {
                    t("warning.col.community"): ch["name"],
                    t("warning.col.sub_district"): ch["sub_district"],
                    t("warnpage.col.before"): [_level(lv) for lv in ch["level_before"]],
                    t("dash.now"): [_level(lv) for lv in ch["level"]],
                    t("warnpage.col.change"): [t(f"warning.change.{c}") for c in ch["change"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )

with tab_hot:
    warning_analytics.hotspot_section(scope, f.period, f.district, city_wide=f.city_wide)

with tab_bt:
    warning_analytics.backtest_section(filters.whole_area())

with tab_whatif:
    st.caption(t("warnpage.whatif_caption"))
    base = load_config().weights
    with st.form("whatif"):
        cols = st.columns(len(INDICATORS))
        weights = {}
        for col, key in zip(cols, INDICATORS, strict=True):
            weights[key] = col.number_input(
                t(f"warning.indicator.{key}"), 0.0, 1.0, float(base[key]), 0.05, key=f"w_{key}"
            )
        go = st.form_submit_button(t("warnpage.whatif_run"), type="primary")
    if go or st.session_state.get("whatif_done"):
        st.session_state["whatif_done"] = True
        try:
            wf = state.load(
                view.what_if, scope, Month.parse(str(f.period)), dict(sorted(weights.items()))
            )
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.markdown(t("warnpage.whatif_moved", n=int(wf["moved"].sum())))
            st.dataframe(
                pd.DataFrame(
                    {
                        t("warning.col.community"): wf["name"],
                        t("warning.col.sub_district"): wf["sub_district"],
                        t("warnpage.col.now"): [_level(lv) for lv in wf["level"]],
                        t("warning.col.score"): wf["score"].round(1),
                        t("warnpage.col.whatif"): [_level(lv) for lv in wf["whatif_level"]],
                        t("warnpage.col.whatif_score"): wf["whatif_score"].round(1),
                    }
                )[wf["moved"] | (wf.index < 20)],
                hide_index=True,
                width="stretch",
            )
