"""云入户: record a household visit (phone-friendly), decide the discrepancy queue, coverage.

Thin: pick the community, then one ``ui.visits`` function per tab."""

from __future__ import annotations

import streamlit as st

from fangcang.visits.views import community_choices
from ui import guard, state
from ui import visits as ui_visits
from ui.state import t

viewer = guard.page("visits")

st.title(t("nav.visits"))
st.caption(t("visits.subtitle"))
communities = state.load(community_choices, viewer.scope)
if communities.empty:
    st.info(t("visits.no_communities"))
    st.stop()
names = dict(zip(communities["community_id"], communities["name"], strict=True))

options = list(names) if len(names) == 1 else [ui_visits.ALL, *names]
community = st.selectbox(
    t("visits.community"),
    options,
    format_func=lambda c: t("visits.all_communities") if c == ui_visits.ALL else names[c],
    key="visits_community",
)
page = ui_visits.VisitsPage(
    viewer=viewer,
    lang=state.lang(),
    names=names,
    options=options,
    community_id=None if community == ui_visits.ALL else community,
)

tab_form, tab_queue, tab_measures = st.tabs(
    [t("visits.tab.form"), t("visits.tab.queue"), t("visits.tab.measures")]
)
with tab_form:
    ui_visits.form_tab(page)
with tab_queue:
    ui_visits.queue_tab(page)
with tab_measures:
    ui_visits.coverage_tab(page)
