"""Trends (趋势): by month, sub-district, station and category; YoY; day-of-week x hour;
drill-down district -> sub-district -> community."""

import pandas as pd
import streamlit as st

from fangcang import incidents, trends
from fangcang.access import Scope
from fangcang.i18n import fmt_int, fmt_pct
from fangcang.models import IncidentCategory
from fangcang.timeutil import Month
from fangcang.websafe import escape_markdown
from ui import charts, filters, guard, state
from ui.state import t

viewer = guard.page("trends")


@st.cache_data(show_spinner=False, max_entries=64)
def _load(
    version: int,
    scope: Scope,
    period: str,
    street: str | None,
    community_id: str | None,
    metric: str,
    category: str | None,
) -> trends.TrendView:
    with state.session() as s:
        return trends.trend_view(
            s,
            scope,
            Month.parse(period),
            sub_district=street,
            community_id=community_id,
            metric=metric,
            category=category,
        )


f = filters.sidebar(viewer, street=True, community=True)
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

v = _load(
    state.data_version(), viewer.scope, str(f.period), f.street, f.community, metric, category
)
area = escape_markdown(v.title) if v.title else filters.where_text(f, viewer)
st.title(t("trends.title"))
st.caption(
    t("trends.caption", area=area, first=str(v.first), last=str(v.last))
    + " · "
    + t("trends.drill_hint")
)
if v.total["n"] == 0 and v.total["n_before"] == 0:
    what = t(f"metric.{metric}") + (f" · {charts.category_label(category)}" if category else "")
    st.info(t("trends.empty", area=area, first=str(v.first), last=str(v.last), metric=what))
    st.stop()


def _verdict(pct, significant) -> str:
    """A plain verdict instead of a z value: a real rise or fall, or within normal variation."""
    if not significant or pct is None or pd.isna(pct):
        return t("trends.verdict.noise")
    return t("trends.verdict.up") if pct > 0 else t("trends.verdict.down")


a, b, c = st.columns(3)
a.metric(
    t("trends.total"),
    fmt_int(v.total["n"]),
    delta=f"{fmt_pct(v.total['pct'])} {t('dash.yoy')}" + (" ★" if v.total["significant"] else "")
    if v.total["pct"] is not None
    else None,
    delta_color="inverse",
    help=t("dash.significant_mark") if v.total["significant"] else t("dash.not_significant"),
)
b.metric(t("trends.col.n_before"), fmt_int(v.total["n_before"]))
c.metric(
    t("trends.verdict"),
    _verdict(v.total["pct"], v.total["significant"]),
    help=t("trends.verdict_help", z=f"{v.total['z']:+.1f}"),
)

left, right = st.columns(2)
with left:
    m = v.monthly_total
    charts.show(
        charts.this_vs_last(m, list(m["month"]), "n", "n_before", t("trends.monthly"), height=300),
        key="m",
    )
with right:
    charts.show(
        charts.stacked_categories(v.monthly, t("trends.monthly_by_category"), height=300), key="mc"
    )


def _yoy(df: pd.DataFrame, name_col: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name_col: df["name"],
            t("trends.col.n"): df["n"],
            t("trends.col.n_before"): df["n_before"],
            t("trends.col.pct"): [fmt_pct(x) for x in df["pct"]],
            t("trends.verdict"): [
                _verdict(p, s) for p, s in zip(df["pct"], df["significant"], strict=True)
            ],
        }
    )


left, right = st.columns(2)
with left:
    if v.level == "district":
        st.subheader(t("trends.by_sub_district"))
        st.dataframe(
            _yoy(v.by_sub_district, t("dash.sub_district")),
            hide_index=True,
            width="stretch",
        )
    elif v.level == "sub_district":
        st.subheader(t("trends.by_community"))
        st.dataframe(_yoy(v.by_community, t("dash.community")), hide_index=True, width="stretch")
    else:
        st.subheader(t("trends.by_category"))
        bc = v.by_category.assign(
            name=[charts.category_label(c) for c in v.by_category["category"]]
        )
        st.dataframe(_yoy(bc, t("dash.category")), hide_index=True, width="stretch")
with right:
    st.subheader(t("trends.by_station"))
    st.dataframe(_yoy(v.by_station, t("dash.station")), hide_index=True, width="stretch")

left, right = st.columns([1.4, 1])
with left:
    charts.show(charts.dow_hour(v.dow_hour, t("trends.dow_hour"), height=330), key="dh")
    if metric != "total":
        st.caption(t("trends.dow_hour_note"))
with right:
    if v.level != "community":
        st.subheader(t("trends.by_category"))
        bc = v.by_category.assign(
            name=[charts.category_label(c) for c in v.by_category["category"]]
        )
        st.dataframe(_yoy(bc, t("dash.category")), hide_index=True, width="stretch")
