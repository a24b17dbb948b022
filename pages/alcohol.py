"""涉酒警情: patrol points coloured by check-in coverage with alcohol incidents, the night-hours
chart, repeat-person files (masked), escalation watch, check-in coverage."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from fangcang import alcohol, offline, palette, privacy
from fangcang.alcohol.practice import page_view
from fangcang.alcohol.repeat import REVIEW_TITLE
from fangcang.i18n import fmt_int, fmt_pct
from ui import charts, export, guard, state, unmask
from ui.state import t

viewer = guard.page("alcohol")
lang = state.lang()


@st.cache_resource(show_spinner=False)
def _assets() -> str:
    return str(offline.install_assets())


_assets()
st.title(t("alcohol.title"))
st.caption(t("alcohol.subtitle"))
months = st.segmented_control(
    t("alcohol.period"),
    [12, 6, 3],
    format_func=lambda m: t(f"alcohol.period.{m}"),
    default=12,
    key="alcohol_months",
)
view = state.load(page_view, viewer.scope, int(months or 12))
if view is None or (view.practice.incidents.empty and view.practice.points.empty):
    st.info(t("alcohol.empty"))
    st.stop()
p = view.practice
f = p.figures
st.caption(t("alcohol.period_caption", first=p.first, last=p.last))

cols = st.columns(6)
cols[0].metric(t("alcohol.kpi.alcohol"), fmt_int(f["alcohol"]))
cols[1].metric(
    t("alcohol.kpi.handled"),
    fmt_int(f["handled"]),
    help=t("alcohol.kpi.handled_help", d=int(alcohol.VENUE_DISTANCE_M), n=fmt_int(f["area"])),
)
cols[2].metric(
    t("alcohol.kpi.disputes"),
    fmt_int(f["disputes_resolved"]),
    help=t("alcohol.kpi.disputes_help", n=f["alcohol_disputes"]),
)
cols[3].metric(
    t("alcohol.kpi.escalations"), fmt_int(f["escalations"]), help=t("alcohol.kpi.escalations_help")
)
cols[4].metric(
    t("alcohol.kpi.coverage"),
    "—" if f["coverage"] is None else fmt_pct(100 * f["coverage"], signed=False),
    help=t("alcohol.kpi.coverage_help", made=fmt_int(f["made"]), slots=fmt_int(f["slots"])),
)
cols[5].metric(
    t("alcohol.kpi.files"),
    fmt_int(f["files"]),
    help=t("alcohol.kpi.files_help", n=f["repeat_people"]),
)

tab_map, tab_time, tab_files, tab_esc, tab_patrol = st.tabs(
    [
        t("alcohol.tab.map"),
        t("alcohol.tab.time"),
        t("alcohol.tab.files"),
        t("alcohol.tab.escalation"),
        t("alcohol.tab.patrol"),
    ]
)


def _pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{100 * float(x):.0f}%"


with tab_map:
    left, right = st.columns([3, 2])
    with left:
        st_folium(
            alcohol.coverage_map(p.points, p.incidents, communities=view.communities, lang=lang),
            height=520,
            width="stretch",
            returned_objects=[],
            key="alcohol_map",
        )
        st.caption(t("alcohol.map.caption"))
    with right:
        st.markdown(f"**{t('alcohol.by_point', d=int(alcohol.VENUE_DISTANCE_M))}**")
        pts = view.by_point.merge(
            p.points[["point_id", "planned", "made", "coverage"]], on="point_id"
        )
        st.dataframe(
            pd.DataFrame(
                {
                    t("alcohol.col.point"): pts["name"],
                    t("alcohol.col.community"): pts["community"],
                    t("alcohol.col.incidents"): pts["incidents"],
                    t("alcohol.col.coverage"): pts["coverage"].map(_pct),
                }
            ),
            hide_index=True,
            width="stretch",
            height=240,
        )
        st.markdown(f"**{t('alcohol.by_community')}**")
        bc = view.by_community.head(20)
        st.dataframe(
            pd.DataFrame(
                {
                    t("alcohol.col.community"): bc["community"],
                    t("alcohol.col.station"): bc["station"],
                    t("alcohol.col.incidents"): bc["incidents"],
                    t("alcohol.col.near_point"): bc["near_point"],
                }
            ),
            hide_index=True,
            width="stretch",
            height=220,
        )
    eff = view.effect
    st.markdown(f"**{t('alcohol.effect.title')}**")
    if eff is None:
        st.info(t("alcohol.effect.none"))
    else:
        r = eff.result
        st.markdown(
            t(
                "alcohol.effect.text",
                n=len(eff.communities),
                start=eff.start,
                k=eff.windows.months,
                before=fmt_int(eff.before),
                after=fmt_int(eff.after),
                pct=fmt_pct(r.raw.pct),
                m=len(eff.comparisons),
                cpct=fmt_pct(r.comparison_pct),
                verdict=t(f"alcohol.effect.verdict.{r.verdict}"),
            )
        )

with tab_time:
    hours = view.hours
    total = int(hours["n"].sum())
    fig = charts.column_bars(
        [f"{h:02d}" for h in hours["hour"]],
        list(hours["n"]),
        t("alcohol.hour_chart"),
        [palette.THIS_YEAR if n else palette.LAST_YEAR for n in hours["night"]],
        hover="%{x}:00 — %{y}<extra></extra>",
        x_title=t("alcohol.hour_axis"),
        y_title=t("alcohol.count_axis"),
    )
    charts.show(fig, key="alcohol_hours")
    if total:
        night = int(hours.loc[hours["night"], "n"].sum())
        st.caption(t("alcohol.night_share", share=fmt_pct(100 * night / total, signed=False)))
    charts.show(charts.dow_hour(view.grid, t("alcohol.heat_title")), key="alcohol_grid")

with tab_files:
    st.caption(t("alcohol.files.caption"))
    files = view.files
    if files.empty:
        st.info(t("alcohol.files.empty"))
    else:
        masked = privacy.mask_frame(files)
        table = pd.DataFrame(
            {
                t("alcohol.col.name"): masked["name"],
                t("alcohol.col.id_number"): masked["id_number"],
                t("alcohol.col.community"): masked["community"],
                t("alcohol.col.officer"): masked["officer_name"],
                t("alcohol.col.incidents"): masked["incidents"],
                t("alcohol.col.last_incident"): pd.to_datetime(masked["last_incident"]).dt.strftime(
                    "%Y-%m-%d"
                ),
                t("alcohol.col.measures"): masked["measures"],
                t("alcohol.col.next_review"): masked["next_review"].astype(str),
                t("alcohol.col.due"): masked["due"].map(
                    lambda d: t("alcohol.yes") if d else t("alcohol.no")
                ),
            }
        )
        st.dataframe(table, hide_index=True, width="stretch", height=320)
        export.download_buttons(
            table, viewer=viewer, name="alcohol-person-files", target="alcohol", key="alc_files"
        )
        st.caption(t("alcohol.files.template", title=REVIEW_TITLE))
        labels = {
            int(r.file_id): f"{privacy.mask_name(r.name)} · {r.community} · {r.incidents}"
            for r in files.itertuples()
        }
        pick = st.selectbox(
            t("alcohol.files.pick"), list(labels), format_func=labels.get, key="alc_file"
        )
        if pick is not None:
            d = state.load(alcohol.file_detail, viewer.scope, int(pick))
            unmask.render(viewer, "alcohol_file", int(pick), key=f"unmask_file_{pick}")
            c1, c2 = st.columns(2)
            with c1:
                st.markdown(f"**{t('alcohol.files.incidents')}**")
                inc = d["incidents"]
                st.dataframe(
                    pd.DataFrame(
                        {
                            t("alcohol.col.time"): pd.to_datetime(inc["occurred_at"]).dt.strftime(
                                "%Y-%m-%d %H:%M"
                            ),
                            t("alcohol.col.community"): inc["community"],
                            t("alcohol.col.link"): inc["role"].map(
                                lambda r: t(f"incident_role.{r}")
                            ),
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                )
            with c2:
                st.markdown(f"**{t('alcohol.files.measures')}**")
                ms = d["measures"]
                if ms.empty:
                    st.caption(t("alcohol.files.no_measures"))
                else:
                    st.dataframe(
                        pd.DataFrame(
                            {
                                t("alcohol.col.day"): ms["taken_on"].astype(str),
                                t("alcohol.col.measures"): ms["kind"].map(
                                    lambda k: t(f"measure_kind.{k}")
                                ),
                                t("alcohol.col.officer"): ms["officer_id"],
                            }
                        ),
                        hide_index=True,
                        width="stretch",
                    )

with tab_esc:
    st.caption(t("alcohol.esc.caption"))
    by_station = view.escalations_by_station
    st.columns([2, 3])[0].dataframe(
        pd.DataFrame(
            {
                t("alcohol.col.station"): by_station["station"],
                t("alcohol.col.escalations"): by_station["escalations"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    esc = p.escalations
    if esc.empty:
        st.info(t("alcohol.esc.empty"))
    else:
        masked = privacy.mask_frame(esc)
        table = pd.DataFrame(
            {
                t("alcohol.col.dispute"): masked["dispute_id"],
                t("alcohol.col.dispute_at"): pd.to_datetime(masked["dispute_at"]).dt.strftime(
                    "%Y-%m-%d %H:%M"
                ),
                t("alcohol.col.criminal"): masked["criminal_id"],
                t("alcohol.col.criminal_at"): pd.to_datetime(masked["criminal_at"]).dt.strftime(
                    "%Y-%m-%d %H:%M"
                ),
                t("alcohol.col.days"): masked["days"],
                t("alcohol.col.link"): masked["link"].map(lambda v: t(f"alcohol.link.{v}")),
                t("alcohol.col.id_number"): masked["id_number"],
                t("alcohol.col.address"): masked["address"],
                t("alcohol.col.community"): masked["community"],
                t("alcohol.col.station"): masked["station"],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
        export.download_buttons(
            table, viewer=viewer, name="alcohol-escalations", target="alcohol", key="alc_esc"
        )

with tab_patrol:
    if p.slots.empty:
        st.info(t("alcohol.patrol.empty"))
    else:
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(f"**{t('alcohol.patrol.by_unit')}**")
            u = view.by_unit
            st.dataframe(
                pd.DataFrame(
                    {
                        t("alcohol.col.unit"): u["unit"],
                        t("alcohol.col.planned"): u["planned"],
                        t("alcohol.col.made"): u["made"],
                        t("alcohol.col.missed"): u["missed"],
                        t("alcohol.col.coverage"): u["coverage"].map(_pct),
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        with c2:
            w = view.by_week.tail(26)
            fig = charts.column_bars(
                list(w["week"]),
                list(100 * w["coverage"]),
                t("alcohol.patrol.by_week"),
                palette.GOOD[3],
                hover="%{x}: %{y:.0f}%<extra></extra>",
                height=260,
                y_range=(0, 100),
                y_suffix="%",
            )
            charts.show(fig, key="alcohol_weeks")
        st.markdown(f"**{t('alcohol.patrol.gaps')}**")
        g = view.gaps
        if g.empty:
            st.caption(t("alcohol.patrol.no_gaps"))
        else:
            names = dict(zip(p.points["point_id"], p.points["name"], strict=True))
            st.dataframe(
                pd.DataFrame(
                    {
                        t("alcohol.col.day"): g["day"].astype(str),
                        t("alcohol.col.window"): [
                            f"{a:%H:%M}–{b:%H:%M}"
                            for a, b in zip(g["start"], g["end"], strict=True)
                        ],
                        t("alcohol.col.point"): g["point_id"].map(names),
                        t("alcohol.col.unit"): g["unit"],
                    }
                ),
                hide_index=True,
                width="stretch",
                height=260,
            )
