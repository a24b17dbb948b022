"""Overview (总览): headline figures, warning levels, trend, top communities, tasks, freshness."""

import pandas as pd
import streamlit as st

from fangcang import incidents
from fangcang.i18n import catalogue, fmt_int, fmt_pct
from fangcang.palette import LEVEL_COLOURS
from fangcang.timeutil import Month
from fangcang.views import overview
from ui import charts, columns, filters, firststart, guard, state
from ui import periods as period_ui
from ui.state import t

viewer = guard.page("overview")


f = filters.sidebar(viewer, spans=True)
data = state.load(overview.overview, viewer.scope, f.period, state.lang())

st.title(t("overview.title"))
area = filters.jurisdiction(viewer)
st.caption(
    t("overview.caption", district=area, period=str(f.period if f.is_month else f.span.current))
)
if data.district.get("communities", 0) == 0:
    st.info(t("overview.no_communities", area=area))
    st.stop()

# Headline figures: the chosen period against the same days a year earlier and the previous
# period (★ = unlikely to be noise; the exact test's z in the help).
cmp = period_ui.load(f, viewer.scope)
if cmp is not None:
    period_ui.metric_row(cmp, f.span)
    st.caption(period_ui.windows_caption(f.span))
    if not f.is_month:
        st.caption(t("period.warning_monthly", month=str(f.period), window=str(f.span.current)))
else:  # no incident data yet: the month's headline
    month = data.headline[data.headline["span"] == "month"].set_index("metric")
    cols = st.columns(len(month))
    for col, (metric, row) in zip(cols, month.iterrows(), strict=True):
        col.metric(t(f"metric.{metric}"), fmt_int(row["n"]))

left, right = st.columns([1, 1])
with left:
    st.subheader(t("overview.levels"))
    if data.has_warning:
        charts.show(charts.level_bars(data.levels, data.levels_before, height=280), key="levels")
    else:
        st.info(firststart.no_warning_run(str(f.period)))
with right:
    st.subheader(t("overview.trend"))
    m = data.monthly
    span = state.load(incidents.data_span)  # months before the data are gaps, not zeros
    charts.show(
        charts.this_vs_last(
            m,
            charts.month_labels(list(m["month"])),
            "this_year",
            "last_year",
            months=[Month(f.period.year, int(i)) for i in m["month"]],
            first=span[0] if span else None,
            height=280,
        ),
        key="trend",
    )

if data.has_warning:
    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("overview.top"))
        top = data.top.assign(
            level=[t(f"warning_level.{lv}") for lv in data.top["level"]],
        )[["level", "name", "sub_district", "score", "reason"]]
        top.columns = [
            t("warning.col.level"),
            t("warning.col.community"),
            t("warning.col.sub_district"),
            t("warning.col.score"),
            t("dash.reason"),
        ]
        colour_of = {t(f"warning_level.{lv}"): c for lv, c in LEVEL_COLOURS.items()}
        level_col = t("warning.col.level")
        st.dataframe(
            top.style.apply(
                lambda col: [
                    f"background-color:{colour_of.get(v, '')};color:white;font-weight:600"
                    for v in col
                ],
                subset=[level_col],
            ).format(precision=1, subset=[t("warning.col.score")]),
            hide_index=True,
            width="stretch",
            column_config={t("dash.reason"): st.column_config.TextColumn(width="large")},
            key="ov_top",
            on_select="rerun",
            selection_mode="single-row",
        )
        # a click on a row opens that community (its page, filtered to it, with a chip)
        picked = st.session_state.get("ov_top", {}).get("selection", {}).get("rows", [])
        st.caption(t("overview.top_click"))
        if picked:
            filters.set_community(str(data.top["community_id"].iloc[picked[0]]))
            st.switch_page("pages/community.py")
    with right:
        st.subheader(t("overview.changes"))
        ch = data.changes
        if ch.empty:
            st.caption(t("overview.no_changes"))
        else:
            counts = ch["change"].value_counts()
            st.markdown(
                " · ".join(
                    f"{t('warning.change.' + k)} **{int(counts.get(k, 0))}**"
                    for k in ("new_red", "upgraded", "downgraded")
                )
            )
            view = pd.DataFrame(
                {
                    t("warning.col.community"): ch["name"],
                    t("warnpage.col.before"): [
                        t(f"warning_level.{lv}") for lv in ch["level_before"]
                    ],
                    t("dash.now"): [t(f"warning_level.{lv}") for lv in ch["level"]],
                    t("warnpage.col.change"): [t(f"warning.change.{c}") for c in ch["change"]],
                }
            )
            st.dataframe(view, hide_index=True, width="stretch", height=260)

left, right = st.columns([1, 1])
with left:
    st.subheader(t("overview.tasks", period=str(f.period)))
    if data.tasks is None:
        st.caption(t("overview.tasks_none", period=str(f.period)))
    else:
        a, b, c = st.columns(3)
        a.metric(t("overview.task_total"), fmt_int(data.tasks["total"]))
        comp = data.tasks["completion"]
        b.metric(t("overview.task_completion"), "—" if comp is None else f"{100 * comp:.0f}%")
        c.metric(t("overview.task_overdue"), fmt_int(data.tasks["overdue"]))
with right:
    st.subheader(t("overview.district", area=area))
    d = data.district
    a, b = st.columns(2)
    a.metric(t("home.communities"), fmt_int(d["communities"]))
    a.metric(t("home.records"), fmt_int(sum(d["records"].values())))
    b.metric(
        t("home.incidents_ytd"),
        fmt_int(d["incidents_ytd"]),
        delta=f"{fmt_pct(d['pct'])} {t('dash.yoy')}" if d["pct"] is not None else None,
        delta_color="inverse",
    )
    b.metric(t("home.incidents_ly"), fmt_int(d["incidents_ly"]))
    if d["through"]:
        st.caption(t("overview.through", day=str(d["through"])))

with st.expander(t("overview.freshness")):
    if data.last_import:
        st.caption(t("overview.last_import", at=data.last_import.strftime("%Y-%m-%d %H:%M")))
    else:
        st.caption(t("overview.no_import"))
    kinds = pd.DataFrame(
        {
            "kind": [
                t(f"record_kind.{k}") if f"record_kind.{k}" in catalogue() else k
                for k in d["records"]
            ],
            "n": list(d["records"].values()),
        }
    )
    fr = data.freshness.rename(
        columns={
            "source": t("overview.source"),
            "n": t("overview.records"),
            "last_updated": t("overview.last_updated"),
        }
    )
    a, b = st.columns(2)
    kinds = kinds.rename(columns={"kind": t("community.col.kind"), "n": t("overview.records")})
    a.dataframe(kinds, hide_index=True, width="stretch", column_config=columns.counts_config(kinds))
    b.dataframe(fr, hide_index=True, width="stretch", column_config=columns.counts_config(fr))
