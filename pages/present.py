"""Presentation mode (汇报模式): large type, no sidebar, a fixed sequence moved through with
buttons: district summary -> map -> red communities -> effect of focused work."""

import streamlit as st
from streamlit_folium import st_folium

from fangcang import maps, offline, overview, palette
from fangcang.access import Scope
from fangcang.i18n import fmt_int, fmt_pct
from fangcang.timeutil import Month
from fangcang.websafe import escape
from ui import charts, guard, state
from ui.state import t

viewer = guard.page("present")
SLIDES = ("summary", "map", "red", "effect")

# Static CSS only (no data): hide the sidebar and enlarge the type for a projector.
st.markdown(
    """<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
    [data-testid="collapsedControl"], header[data-testid="stHeader"] {display:none !important;}
    .block-container {padding-top:1.2rem; max-width:100% !important;}
    .fc-title {font-size:3rem; font-weight:700; margin:0 0 .2rem 0; color:#1d2733;}
    .fc-sub {font-size:1.5rem; color:#556; margin-bottom:1rem;}
    .fc-tile {border-radius:14px; padding:18px 22px; color:#fff; margin-bottom:12px;}
    .fc-tile .n {font-size:3.4rem; font-weight:700; line-height:1.1;}
    .fc-tile .l {font-size:1.4rem;}
    .fc-metric {border:1px solid #dde2e8; border-radius:14px; padding:16px 20px; background:#fafbfc;}
    .fc-metric .n {font-size:2.8rem; font-weight:700; color:#1d2733;}
    .fc-metric .l {font-size:1.3rem; color:#445;}
    .fc-metric .d {font-size:1.3rem;}
    .fc-row {font-size:1.6rem; padding:10px 0; border-bottom:1px solid #e3e6ea;}
    .fc-row .r {font-size:1.25rem; color:#445;}
    [data-testid^="stBaseButton"] p, [data-testid="stPageLink"] p {font-size:1.3rem !important;}
    [data-testid^="stBaseButton"] {padding:.45rem 1.4rem;}
    </style>""",
    unsafe_allow_html=True,
)


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(version: int, scope: Scope, period: str, lang: str) -> overview.Overview:
    with state.session() as s:
        return overview.overview(s, scope, Month.parse(period), lang, top_n=200)


@st.cache_data(show_spinner=False, max_entries=16)
def _effects(version: int, scope: Scope, period: str, lang: str):
    with state.session() as s:
        return overview.focused_work_effects(s, scope, Month.parse(period), lang)


@st.cache_data(show_spinner=False, max_entries=8)
def _map_data(version: int, scope: Scope, period: str) -> maps.MapData:
    offline.install_assets()
    with state.session() as s:
        return maps.map_data(s, scope, Month.parse(period), layers=("stations",))


@st.cache_data(show_spinner=False, max_entries=8)
def _period(version: int) -> str:
    with state.session() as s:
        return str(overview.default_period(s))


version = state.data_version()
raw = st.query_params.get("period")
try:
    period = str(Month.parse(raw)) if raw else _period(version)
except ValueError:
    period = _period(version)
try:
    index = min(max(int(st.query_params.get("slide", "1")) - 1, 0), len(SLIDES) - 1)
except ValueError:
    index = 0
slide = SLIDES[index]

nav = st.columns([1.2, 1.2, 5, 1.4])
if nav[0].button(t("present.prev"), disabled=index == 0, key="prev"):
    st.query_params["slide"] = str(index)
    st.rerun()
if nav[1].button(t("present.next"), disabled=index == len(SLIDES) - 1, key="next"):
    st.query_params["slide"] = str(index + 2)
    st.rerun()
nav[2].markdown(
    f"<div style='font-size:1.3rem;color:#667;padding-top:.4rem'>{escape(t('present.step', i=index + 1, n=len(SLIDES)))}"
    f" · {escape(t('app.district'))} · {escape(period)}</div>",
    unsafe_allow_html=True,
)
nav[3].page_link("pages/overview.py", label=t("present.exit"), icon=":material/close:")

st.markdown(
    f"<div class='fc-title'>{escape(t('present.slide.' + slide))}</div>", unsafe_allow_html=True
)
data = _overview(version, viewer.scope, period, state.lang())

if slide == "summary":
    month = data.headline[data.headline["span"] == "month"]
    cols = st.columns(len(month))
    for col, row in zip(cols, month.itertuples(index=False), strict=True):
        colour = "#c0392b" if (row.pct or 0) > 0 else "#2e7d32"
        mark = " ★" if row.significant else ""
        col.markdown(
            f"<div class='fc-metric'><div class='l'>{escape(t('metric.' + row.metric))}</div>"
            f"<div class='n'>{escape(fmt_int(row.n))}</div>"
            f"<div class='d' style='color:{colour}'>{escape(t('dash.yoy'))} {escape(fmt_pct(row.pct))}{mark}</div></div>",
            unsafe_allow_html=True,
        )
    st.write("")
    left, right = st.columns([1, 1.6])
    with left:
        for lv in reversed(palette.LEVELS):
            delta = data.levels[lv] - data.levels_before[lv]
            st.markdown(
                f"<div class='fc-tile' style='background:{palette.LEVEL_COLOURS[lv]}'>"
                f"<span class='n'>{data.levels[lv]}</span> <span class='l'>{escape(t('warning_level.' + lv))}"
                f" · {escape(t('dash.vs_last_month', delta=f'{delta:+d}'))}</span></div>",
                unsafe_allow_html=True,
            )
    with right:
        m = data.monthly
        charts.show(
            charts.this_vs_last(
                m,
                charts.month_labels(list(m["month"])),
                "this_year",
                "last_year",
                t("overview.trend"),
                height=470,
                big=True,
            ),
            key="p_trend",
            big=True,
        )
elif slide == "map":
    # a new folium.Map per run: streamlit-folium must never render one map object twice
    view = maps.view_of(_map_data(version, viewer.scope, period), lang=state.lang())
    st_folium(view.map, height=820, width="stretch", returned_objects=[], key="present_map")
elif slide == "red":
    red = data.top[data.top["level"] == "red"]
    if red.empty:
        st.markdown(
            f"<div class='fc-sub'>{escape(t('present.no_red'))}</div>", unsafe_allow_html=True
        )
    for i, r in enumerate(red.itertuples(index=False), start=1):
        st.markdown(
            f"<div class='fc-row'><b>{i}. {escape(r.name)}</b> <span style='color:#667'>{escape(r.sub_district)}</span>"
            f" &nbsp;<span style='color:{palette.LEVEL_COLOURS['red']};font-weight:700'>{r.score:.1f}</span>"
            f"<div class='r'>{escape(r.reason)}</div></div>",
            unsafe_allow_html=True,
        )
else:
    eff = _effects(version, viewer.scope, period, state.lang())
    if eff.empty:
        st.markdown(
            f"<div class='fc-sub'>{escape(t('present.effect_none'))}</div>", unsafe_allow_html=True
        )
    for r in eff.itertuples(index=False):
        colour = "#2e7d32" if (r.pct or 0) < 0 else "#c0392b"
        st.markdown(
            f"<div class='fc-row'><b>{escape(r.name)}</b> <span style='color:#667'>{escape(r.sub_district)}</span>"
            f" &nbsp;{r.before} → {r.after} <span style='color:{colour};font-weight:700'>{escape(fmt_pct(r.pct))}</span>"
            f"<div class='r'>{escape(r.sentence)}</div></div>",
            unsafe_allow_html=True,
        )
