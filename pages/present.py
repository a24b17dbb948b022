"""Presentation mode (汇报模式): large type for a projector, no sidebar, a fixed sequence of
slides for a chosen month: district summary -> map -> red communities -> work in red and
yellow communities -> effect of focused work.

Slides move with the buttons, the arrow keys and PageUp / PageDown (what a presenter's
clicker sends): Streamlit has no key events, so a small inline script (``ui.present_keys``,
no network) listens on the page and clicks the previous / next button."""

import streamlit as st
from streamlit_folium import st_folium

from fangcang import bulletins, maps, offline, palette
from fangcang.bulletins import work
from fangcang.i18n import fmt_int, fmt_pct
from fangcang.timeutil import Month
from fangcang.views import overview, present, shared
from fangcang.websafe import escape
from ui import charts, filters, guard, present_keys, state
from ui.state import t

viewer = guard.page("present")
SLIDES = ("summary", "map", "red", "work", "effect")

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
    .fc-row .r {font-size:1.4rem; color:#445;}
    [data-testid^="stBaseButton"] p, [data-testid="stPageLink"] p {font-size:1.3rem !important;}
    [data-testid^="stBaseButton"] {padding:.45rem 1.4rem;}
    .st-key-present_period div, .st-key-present_period input {font-size:1.25rem !important;}
    .fc-keys {font-size:1rem; color:#778; padding-top:.2rem;}
    .fc-note {font-size:1.3rem; color:#556; margin:.3rem 0 .8rem 0;}
    table.fc-table {border-collapse:collapse; width:100%; font-size:1.45rem;}
    table.fc-table th {text-align:left; color:#445; font-weight:600; border-bottom:2px solid #c9d0d8;
                       padding:8px 12px; white-space:nowrap;}
    table.fc-table td {padding:9px 12px; border-bottom:1px solid #e3e6ea;}
    table.fc-table td.n {text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap;}
    table.fc-table th.n {text-align:right;}
    .fc-badge {display:inline-block; padding:2px 12px; border-radius:6px; color:#fff; font-size:1.2rem;}
    </style>""",
    unsafe_allow_html=True,
)


@st.cache_resource(show_spinner=False)
def _assets() -> str:
    """Leaflet served from ./static (once per process)."""
    return str(offline.install_assets())


def _month_label(value: str) -> str:
    return bulletins.period_label(Month.parse(value), state.lang())


periods = [str(m) for m in state.load(shared.available_periods)]
if not periods:
    st.info(t("present.no_data"))
    st.stop()
raw = st.query_params.get("period")
period = raw if raw in periods else str(state.load(shared.default_period))
if period not in periods:
    period = periods[0]
try:
    index = min(max(int(st.query_params.get("slide", "1")) - 1, 0), len(SLIDES) - 1)
except ValueError:
    index = 0
slide = SLIDES[index]


def _pick_month() -> None:
    st.query_params["period"] = st.session_state["present_period"]


nav = st.columns([1.25, 1.25, 1.7, 4, 1.7], vertical_alignment="center")
if nav[0].button(t("present.prev"), disabled=index == 0, key="present_prev"):
    st.query_params["slide"] = str(index)
    st.rerun()
if nav[1].button(t("present.next"), disabled=index == len(SLIDES) - 1, key="present_next"):
    st.query_params["slide"] = str(index + 2)
    st.rerun()
st.session_state["present_period"] = period
nav[2].selectbox(
    t("present.month"),
    periods,
    format_func=_month_label,
    key="present_period",
    on_change=_pick_month,
    label_visibility="collapsed",
)
nav[3].markdown(
    f"<div style='font-size:1.3rem;color:#667'>{escape(t('present.step', i=index + 1, n=len(SLIDES)))}"
    f" · {escape(filters.jurisdiction(viewer, markdown=False))}</div><div class='fc-keys'>{escape(t('present.keys'))}</div>",
    unsafe_allow_html=True,
)
nav[4].page_link("pages/overview.py", label=t("present.exit"), icon=":material/close:")
present_keys.install(prev_key="present_prev", next_key="present_next", slide=index)

st.markdown(
    f"<div class='fc-title'>{escape(t('present.slide.' + slide))}</div>", unsafe_allow_html=True
)
data = state.load(overview.overview, viewer.scope, Month.parse(period), state.lang(), top_n=200)

if slide == "summary":
    month = data.headline[data.headline["span"] == "month"]
    cols = st.columns(len(month))
    for col, row in zip(cols, month.itertuples(index=False), strict=True):
        colour = palette.change_colour(row.pct, bool(row.significant))
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
    _assets()
    mapped = state.load(maps.map_data, viewer.scope, Month.parse(period), layers=("stations",))
    view = maps.view_of(mapped, lang=state.lang())
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
elif slide == "work":
    done = state.load(work.warned_work, viewer.scope, Month.parse(period), now=state.as_of("hour"))
    month = _month_label(period)
    if not done.has_run:
        st.markdown(
            f"<div class='fc-sub'>{escape(t('present.work.no_run', period=month))}</div>",
            unsafe_allow_html=True,
        )
        st.stop()
    if done.rows.empty:
        st.markdown(
            f"<div class='fc-sub'>{escape(t('present.work.none', period=month))}</div>",
            unsafe_allow_html=True,
        )
        st.stop()
    rate = done.completion
    tiles = [
        (
            t("present.work.warned"),
            fmt_int(len(done.rows)),
            t("present.work.communities", red=done.count("red"), yellow=done.count("yellow")),
        ),
        (t("present.work.items"), fmt_int(done.items), ""),
        (
            t("present.work.done"),
            fmt_int(done.done),
            t(
                "present.work.rate",
                rate=fmt_pct(None if rate is None else 100 * rate, signed=False),
            ),
        ),
        (t("present.work.overdue"), fmt_int(done.overdue), ""),
    ]
    for col, (label, n, sub) in zip(st.columns(len(tiles)), tiles, strict=True):
        col.markdown(
            f"<div class='fc-metric'><div class='l'>{escape(label)}</div>"
            f"<div class='n'>{escape(n)}</div><div class='d'>{escape(sub) or '&nbsp;'}</div></div>",
            unsafe_allow_html=True,
        )
    st.markdown(
        "<div class='fc-note'>"
        + escape(
            t(
                "present.work.window",
                first=_month_label(str(done.first)),
                last=_month_label(str(done.last)),
                period=month,
                months=work.EFFECT_MONTHS,
            )
        )
        + "</div>",
        unsafe_allow_html=True,
    )
    head = "".join(
        f"<th class='{'n' if k in ('items', 'done', 'rate', 'overdue') else ''}'>"
        f"{escape(t('present.work.col.' + k))}</th>"
        for k in ("community", "level", "items", "done", "rate", "overdue", "verdict")
    )
    body = []
    for r in done.rows.itertuples(index=False):
        completion = None if r.completion != r.completion else 100 * r.completion  # NaN
        verdict = (
            t(f"effect.verdict_short.{r.verdict}") if r.verdict else t("present.work.no_focus")
        )
        body.append(
            f"<tr><td><b>{escape(r.name)}</b></td>"
            f"<td><span class='fc-badge' style='background:{palette.LEVEL_COLOURS[r.level]}'>"
            f"{escape(t('warning_level.' + r.level))}</span></td>"
            f"<td class='n'>{escape(fmt_int(r.items))}</td><td class='n'>{escape(fmt_int(r.done))}</td>"
            f"<td class='n'>{escape(fmt_pct(completion, signed=False))}</td>"
            f"<td class='n'>{escape(fmt_int(r.overdue))}</td><td>{escape(verdict)}</td></tr>"
        )
    st.markdown(
        f"<table class='fc-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        unsafe_allow_html=True,
    )
else:
    eff = state.load(present.focused_work_effects, viewer.scope, Month.parse(period), state.lang())
    if eff.empty:
        st.markdown(
            f"<div class='fc-sub'>{escape(t('present.effect_none'))}</div>", unsafe_allow_html=True
        )
    for r in eff.itertuples(index=False):
        colour = palette.change_colour(r.pct, bool(r.significant))  # grey: not a result
        st.markdown(
            f"<div class='fc-row'><b>{escape(r.name)}</b> <span style='color:#667'>{escape(r.sub_district)}</span>"
            f" &nbsp;{r.before} → {r.after} <span style='color:{colour};font-weight:700'>{escape(fmt_pct(r.pct))}</span>"
            f"<div class='r'>{escape(r.sentence)}</div></div>",
            unsafe_allow_html=True,
        )
