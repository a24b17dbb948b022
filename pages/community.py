"""Community (社区): profile, factors and the overdue ones (masked), score explanation and
level history, incident trend against last year, tasks and visits."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from fangcang import community, divisions, palette
from fangcang.i18n import fmt_int
from fangcang.timeutil import Month
from fangcang.websafe import escape, escape_markdown
from ui import audit_view, charts, chips, columns, filters, firststart, guard, state
from ui import periods as period_ui
from ui.state import t

viewer = guard.page("community")


version = state.data_version()
f = filters.sidebar(
    viewer, district=True, street=True, community=True, spans=True, city_label="dash.city_all"
)
# A city (several districts): the title names the chosen area, the lists offer only its
# communities and the profile names the community's district.
_city = len(f.districts) > 1

_area = filters.where_text(replace(f, community=None), viewer) if _city else ""
st.title(t("community.title") + (f" · {_area}" if _area else ""))
chips.show(chips.for_filters(f, viewer), key="community_chips")
query = st.text_input(
    t("dash.search"), placeholder=t("dash.search_placeholder"), key="community_search"
)
if query.strip():
    meta = f.narrow(filters.community_meta(version, viewer.scope))  # the chosen area's
    hits = meta[meta["name"].str.contains(query.strip(), regex=False)]
    if hits.empty:
        st.caption(t("dash.search_none", q=escape_markdown(query.strip())))
    else:
        cols = st.columns(min(len(hits), 6))
        for i, row in enumerate(hits.head(6).itertuples(index=False)):
            if cols[i].button(f"{row.name}", key=f"hit_{row.community_id}"):
                filters.set_community(row.community_id)
                st.rerun()
if not f.community:
    st.info(t("community.choose"))
    st.stop()

p = state.load(
    community.profile, viewer.scope, f.community, Month.parse(str(f.period)), state.lang()
)
level = p.warning["level"] if p.warning else None
badge = (
    f"<span style='background:{palette.level_colour(level)};color:white;padding:3px 12px;border-radius:12px;"
    f"font-weight:600;font-size:1rem'>{escape(t(f'warning_level.{level}') if level else t('dash.no_level'))}</span>"
)
score = f" &nbsp;{escape(t('dash.score'))} <b>{p.warning['score']:.1f}</b>" if p.warning else ""
st.markdown(
    f"<h2 style='margin-bottom:0'>{escape(p.name)} {badge}{score}</h2>", unsafe_allow_html=True
)
st.caption(
    t(
        "community.caption",
        sub_district=escape_markdown(
            f"{divisions.district_name(p.district, state.lang())} {p.sub_district}"
            if _city
            else p.sub_district
        ),
        station=escape_markdown(p.station),
        officer=escape_markdown(f"{p.officer} {p.officer_phone}".strip()),
    )
    + f" · {p.period}"
)

# The chosen period in this community against the year before and the previous period.
cmp = period_ui.load(f, viewer.scope, community_ids=[f.community])
if cmp is not None:
    st.subheader(t("period.comparison"))
    period_ui.metric_row(cmp, f.span)
    st.caption(period_ui.windows_caption(f.span))

cols = st.columns(4)
cols[0].metric(t("community.residents_total"), fmt_int(sum(p.residents.values())))
for col, (rtype, n) in zip(cols[1:], p.residents.items(), strict=False):
    col.metric(t(f"residence_type.{rtype}"), fmt_int(n))

left, right = st.columns([1, 1])
with left:
    st.subheader(t("community.explanation"))
    if p.warning:
        for line in p.warning["sentences"]:
            st.markdown(f"- {escape_markdown(line)}")
    else:
        st.info(firststart.no_warning_run(str(p.period)))
with right:
    st.subheader(t("community.history"))
    if p.history.empty:
        st.caption(t("community.history_none"))
    else:
        charts.show(charts.level_history(p.history, height=260), key="history")

st.subheader(t("community.trend"))
a, b = st.columns([1, 1])
with a:
    m = p.monthly
    charts.show(charts.this_vs_last(m, list(m["month"]), "n", "n_before", height=280), key="trend")
with b:
    charts.show(
        charts.stacked_categories(p.by_category, t("community.by_category"), height=280), key="cats"
    )

st.subheader(t("community.factors"))
fac = p.factors
if fac.empty:
    st.caption(t("community.factors_none", name=p.name))
else:
    total, out = int(fac["n"].sum()), int(fac["out_of_control"].sum())
    st.markdown(
        f"**{fmt_int(total)}** · {escape_markdown(t('community.factors_out'))} **{fmt_int(out)}**"
    )
    shown = pd.DataFrame(
        {
            t("community.factor_kind"): [t(f"factor_kind.{k}") for k in fac["kind"]],
            t("community.factor_n"): fac["n"],
            t("community.factors_out"): fac["out_of_control"],
        }
    )
    st.dataframe(
        shown, hide_index=True, width="stretch", column_config=columns.counts_config(shown)
    )
st.markdown(f"**{t('community.overdue')}**")
od = p.overdue
out_total = 0 if fac.empty else int(fac["out_of_control"].sum())
if od.empty:
    st.caption(t("community.overdue_none"))
else:
    # The same count as the factor panel above; a cut list says so (never a silent cap).
    st.caption(
        t("community.overdue_n", n=fmt_int(out_total))
        + (t("community.overdue_shown", shown=fmt_int(len(od))) if len(od) < out_total else "")
    )
    st.dataframe(
        pd.DataFrame(
            {
                t("community.col.kind"): [t(f"factor_kind.{k}") for k in od["kind"]],
                t("community.col.name"): od["name"],
                t("community.col.address"): od["address"],
                t("community.col.last_checked"): [
                    str(d) if d is not None else t("community.never") for d in od["last_checked"]
                ],
                t("community.col.interval"): od["interval_days"],
                t("community.col.days_overdue"): od["days_overdue"],
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(od)),
    )
    # The overdue list names key persons and rental houses (masked): a person-level view.
    audit_view.person_view(
        viewer, target=f"community:{f.community}", rows=len(od), page="community"
    )

a, b = st.columns([1, 1])
with a:
    st.subheader(t("community.tasks"))
    if p.tasks is None:
        st.caption(t("community.none_tasks"))
    else:
        tk = p.tasks.head(50)
        st.caption(t("community.tasks_window", n=fmt_int(len(tk))))

        def _when(v):
            return "" if v is None or v != v else str(v)[:16]

        st.dataframe(
            pd.DataFrame(
                {
                    t("tasks.col.title"): tk["title"],
                    t("tasks.col.state"): [
                        t(f"item_state.{getattr(v, 'value', v)}") for v in tk["state"]
                    ],
                    t("tasks.col.dispatched_at"): [_when(v) for v in tk["dispatched_at"]],
                    t("tasks.col.deadline"): [_when(v) for v in tk["deadline"]],
                    t("tasks.col.fed_back_at"): [_when(v) for v in tk["fed_back_at"]],
                    t("tasks.col.overdue"): [t("tasks.yes") if v else "" for v in tk["overdue"]],
                }
            ),
            hide_index=True,
            width="stretch",
            height=min(400, 38 + 35 * len(tk)),
        )
with b:
    st.subheader(t("community.visits"))
    if p.visits is None:
        st.caption(t("community.none_visits"))
    else:
        v = p.visits.iloc[0]
        c1, c2 = st.columns(2)
        c1.metric(t("map.colour_by.visit_coverage"), f"{100 * float(v['coverage']):.0f}%")
        c2.metric(t("overview.records"), fmt_int(v.get("houses", 0)))
