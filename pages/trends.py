"""Trends (趋势): by month, sub-district, station and category; YoY; day-of-week x hour;
drill-down district -> sub-district -> community."""

import pandas as pd
import streamlit as st

from fangcang import incidents, trends
from fangcang.models import IncidentCategory
from fangcang.timeutil import Month
from fangcang.websafe import escape_markdown
from ui import charts, chips, filters, guard, state
from ui import periods as period_ui
from ui.state import t

viewer = guard.page("trends")


f = filters.sidebar(viewer, street=True, community=True, spans=True)
metric = filters.url_choice(
    "metric",
    list(incidents.METRICS),
    "total",
    t("dash.metric"),
    format_func=lambda m: t(f"metric.{m}"),
)
cats = ["", *[c.value for c in IncidentCategory]]
category = (
    filters.url_choice(
        "category",
        cats,
        "",
        t("dash.category"),
        format_func=lambda c: charts.category_label(c) if c else t("dash.all"),
    )
    or None
)

v = state.load(
    trends.trend_view,
    viewer.scope,
    Month.parse(str(f.period)),
    sub_district=f.street,
    community_id=f.community,
    metric=metric,
    category=category,
    units=False,  # the tables per unit below are the chosen period's (periods.by_unit)
)
area = escape_markdown(v.title) if v.title else filters.where_text(f, viewer)
st.title(t("trends.title"))
st.caption(f"{area} · {t('trends.drill_hint')}")  # the windows are stated below
chips.show(chips.for_filters(f, viewer, category), key="trends_chips")
# what is counted: the metric, narrowed to the chosen category
what = t(f"metric.{metric}") + (f" · {charts.category_label(category)}" if category else "")
if v.total["n"] == 0 and v.total["n_before"] == 0:
    st.info(t("trends.empty", area=area, first=str(v.first), last=str(v.last), metric=what))
    st.stop()

# The chosen period against the year before and the previous period (CompStat).
cmp = period_ui.load(
    f, viewer.scope, metrics=[metric], category=category, community_ids=v.community_ids
)
st.subheader(f"{t('period.comparison')} · {what}")
period_ui.single(cmp.iloc[0], f.span)
st.caption(period_ui.windows_caption(f.span))
st.caption(t("period.charts_months", month=str(v.last)))

left, right = st.columns(2)
with left:
    m = v.monthly_total
    span = state.load(incidents.data_span)  # months before the data are gaps, not zeros
    charts.show(
        charts.this_vs_last(
            m,
            list(m["month"]),
            "n",
            "n_before",
            t("trends.monthly"),
            months=[Month.parse(x) for x in m["month"]],
            first=span[0] if span else None,
            height=300,
        ),
        key="m",
    )
with right:
    # a click on a bar filters the page to its category
    fig = charts.stacked_categories(v.monthly, t("trends.monthly_by_category"), height=300)
    picked = charts.clicked_meta(fig, charts.show(fig, key="mc", select=True))
    if picked and picked != category:
        filters.set_filter("category", picked)
        st.rerun()


def _table(df: pd.DataFrame, key: str, name_col: str, pick: str | None = None) -> None:
    """The chosen period per unit (a ``periods.by_unit`` frame); ``pick``: the filter a click
    on a row sets."""
    if df.empty:  # say so in the user's language (not Streamlit's "empty" placeholder)
        st.caption(t("period.no_units", what=name_col))
        return
    shown, config = period_ui.unit_table(df, name_col, f.span)
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config=config,
        key=f"tbl_{key}",
        on_select="rerun" if pick else "ignore",
        selection_mode="single-row",
    )
    rows = (event or {}).get("selection", {}).get("rows", []) if pick else []
    if rows:
        filters.set_filter(pick, str(df[key].iloc[rows[0]]))
        st.rerun()


tabs = {}
if v.level == "district":
    tabs["sub_district"] = t("period.by.sub_district")
elif v.level == "sub_district":
    tabs["community"] = t("period.by.community")
tabs["station"] = t("period.by.station")
tabs["category"] = t("period.by.category")
# one call for every tab: the tabs share the per-community counts of each window
tables = state.load(
    trends.unit_tables,
    viewer.scope,
    f.span,
    tuple(tabs),
    lang=state.lang(),
    metric=metric,
    category=category,
    sub_district=f.street,
    community_id=f.community,
)
st.caption(t("chips.hint_trends"))
for (kind, _label), tab in zip(tabs.items(), st.tabs(list(tabs.values())), strict=True):
    with tab:
        key = trends.UNIT_KEYS[kind]
        if kind == "sub_district":
            _table(tables[key], key, t("dash.sub_district"), "street")
        elif kind == "community":
            _table(tables[key], key, t("dash.community"), "community")
        elif kind == "station":
            _table(tables[key], key, t("dash.station"))
        else:
            _table(tables[key], key, t("dash.category"), None if category else "category")

charts.show(charts.dow_hour(v.dow_hour, t("trends.dow_hour"), height=330), key="dh")
if metric != "total":
    st.caption(t("trends.dow_hour_note"))
