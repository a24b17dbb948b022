"""警律联调: referrals, outcomes, success rate and time to resolution by station and law firm,
consultation meetings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import mediation
from fangcang.i18n import fmt_int, fmt_pct
from ui import charts, export, guard, state
from ui.state import t

viewer = guard.page("mediation")
lang = state.lang()
OUTCOMES = ("resolved", "not_resolved", "withdrawn", "pending")
OUTCOME_COLOURS = {
    "resolved": "#31a354",
    "not_resolved": "#d7263d",
    "withdrawn": "#9aa5b1",
    "pending": "#f2b705",
}


st.title(t("mediation.title"))
st.caption(t("mediation.subtitle"))
months = st.segmented_control(
    t("alcohol.period"),
    [12, 6, 3],
    format_func=lambda m: t(f"alcohol.period.{m}"),
    default=12,
    key="mediation_months",
)
view = state.load(mediation.mediation_view, viewer.scope, int(months or 12))
refs = view.referrals
if refs.empty:
    st.info(t("mediation.empty"))
    st.stop()
st.caption(t("alcohol.period_caption", first=view.first, last=view.last))
total = view.totals
cols = st.columns(5)
cols[0].metric(t("mediation.kpi.referrals"), fmt_int(total["referrals"]))
cols[1].metric(t("mediation.kpi.resolved"), fmt_int(total["resolved"]))
cols[2].metric(
    t("mediation.kpi.rate"),
    "—" if pd.isna(total["success_rate"]) else fmt_pct(100 * total["success_rate"], signed=False),
    help=t("mediation.kpi.rate_help"),
)
cols[3].metric(
    t("mediation.kpi.days"),
    "—" if pd.isna(total["days_median"]) else f"{total['days_median']:.0f}",
    help=t("mediation.kpi.days_help"),
)
cols[4].metric(t("mediation.kpi.meetings"), fmt_int(len(view.consultations)))


def _rates_table(df: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            label: df[by].map(lambda v: t("mediation.total") if v == "total" else v),
            t("mediation.col.referrals"): df["referrals"],
            t("mediation.col.resolved"): df["resolved"],
            t("mediation.col.not_resolved"): df["not_resolved"],
            t("mediation.col.withdrawn"): df["withdrawn"],
            t("mediation.col.pending"): df["pending"],
            t("mediation.col.rate"): df["success_rate"].map(
                lambda x: "—" if pd.isna(x) else f"{100 * x:.0f}%"
            ),
            t("mediation.col.days_median"): df["days_median"].map(
                lambda x: "—" if pd.isna(x) else f"{x:.0f}"
            ),
        }
    )


left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{t('mediation.by_station')}**")
    st.dataframe(
        _rates_table(view.by_station, "station", t("mediation.col.station")),
        hide_index=True,
        width="stretch",
    )
    st.markdown(f"**{t('mediation.by_firm')}**")
    st.dataframe(
        _rates_table(view.by_firm, "law_firm", t("mediation.col.law_firm")),
        hide_index=True,
        width="stretch",
    )
with right:
    counts = refs["outcome"].value_counts()
    fig = charts.column_bars(
        [t(f"mediation_outcome.{o}") for o in OUTCOMES],
        [int(counts.get(o, 0)) for o in OUTCOMES],
        t("mediation.outcomes_chart"),
        [OUTCOME_COLOURS[o] for o in OUTCOMES],
        hover="%{x}: %{y}<extra></extra>",
        height=300,
    )
    charts.show(fig, key="med_outcomes")

st.markdown(f"**{t('mediation.referrals')}**")
table = pd.DataFrame(
    {
        t("mediation.col.referred_on"): refs["referred_on"].astype(str),
        t("mediation.col.incident"): refs["incident_id"],
        t("mediation.col.community"): refs["community"],
        t("mediation.col.station"): refs["station"],
        t("mediation.col.law_firm"): refs["law_firm"],
        t("mediation.col.lawyer"): refs["lawyer"],
        t("mediation.col.justice_office"): refs["justice_office"],
        t("mediation.col.sessions"): refs["sessions"],
        t("mediation.col.outcome"): refs["outcome"].map(lambda o: t(f"mediation_outcome.{o}")),
        t("mediation.col.closed_on"): refs["closed_on"].map(lambda d: "" if pd.isna(d) else str(d)),
        t("mediation.col.days"): refs["days"].map(lambda d: "" if pd.isna(d) else f"{int(d)}"),
    }
)
st.dataframe(table, hide_index=True, width="stretch", height=320)
export.download_buttons(
    table, viewer=viewer, name="mediation-referrals", target="mediation", key="med"
)

st.markdown(f"**{t('mediation.meetings')}**")
meet = view.consultations
if meet.empty:
    st.caption(t("mediation.no_meetings"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                t("mediation.col.held_on"): meet["held_on"].astype(str),
                t("mediation.col.station"): meet["station"],
                t("mediation.col.law_firm"): meet["law_firm"],
                t("mediation.col.justice_office"): meet["justice_office"],
                t("mediation.col.topic"): meet["topic"],
                t("mediation.col.cases"): meet["cases_discussed"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
