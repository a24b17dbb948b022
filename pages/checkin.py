"""巡查打卡 (phone): check in at a patrol point with the phone's position; review the repeat
people in the officer's files."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from fangcang import alcohol, privacy
from fangcang.access import ScopeError
from fangcang.models import MeasureKind
from fangcang.timeutil import now_local
from ui import geolocate, guard, state, unmask
from ui.state import t

viewer = guard.page("checkin")
lang = state.lang()
LAST = "checkin_last"


def _days(days: str) -> str:
    if days == "1234567":
        return t("checkin.daily")
    return "、".join(t(f"dow.{int(c) - 1}") for c in days)


st.title(t("checkin.title"))
tab_in, tab_rev = st.tabs([t("checkin.tab.checkin"), t("checkin.tab.reviews")])

with tab_in:
    points = state.load(alcohol.points_frame, viewer.scope)
    if points.empty:
        st.info(t("checkin.no_points"))
    else:
        labels = {r.point_id: f"{r.name} · {r.community}" for r in points.itertuples()}
        point_id = st.selectbox(
            t("checkin.point"), list(labels), format_func=labels.get, key="ci_point"
        )
        plans = state.load(alcohol.plans_frame, viewer.scope)
        here = plans[plans["point_id"] == point_id]
        units = sorted(set(here["unit"]))
        if not units:
            st.warning(t("checkin.no_units"))
        else:
            unit = st.selectbox(t("checkin.unit"), units, key="ci_unit")
            mine = here[here["unit"] == unit]
            st.caption(
                t(
                    "checkin.plans",
                    plans="；".join(
                        f"{_days(r.days)} {r.start_time}–{r.end_time}" for r in mine.itertuples()
                    ),
                )
            )
            position, error = geolocate.position_button(
                t("checkin.button"), t("checkin.locating"), key="ci_geo"
            )
            if error:
                st.error(t("checkin.denied", reason=error))
            elif position:
                try:
                    with state.session() as s:
                        row = alcohol.record_checkin(
                            s,
                            viewer,
                            point_id=point_id,
                            unit=unit,
                            lon=float(position["lon"]),
                            lat=float(position["lat"]),
                            accuracy_m=position.get("accuracy"),
                        )
                        s.commit()
                        st.session_state[LAST] = (
                            labels[point_id],
                            row.status.value,
                            row.distance_m,
                        )
                except (ScopeError, ValueError) as exc:
                    st.error(str(exc))
            st.caption(t("checkin.how"))
            last = st.session_state.get(LAST)
            if last:
                name, status, dist = last
                if status == "valid":
                    st.success(t("checkin.ok", point=name, d=f"{dist:.0f}"))
                else:
                    st.warning(
                        t("checkin.bad", status=t(f"checkin_status.{status}"), d=f"{dist:.0f}")
                    )
        st.markdown(f"**{t('checkin.recent')}**")
        recent = state.load(
            alcohol.recent_checkins,
            viewer.scope,
            viewer.officer_id,
            now_local().date() - timedelta(days=30),
        )
        if recent.empty:
            st.caption(t("checkin.none_yet"))
        else:
            names = dict(zip(points["point_id"], points["name"], strict=True))
            st.dataframe(
                pd.DataFrame(
                    {
                        t("alcohol.col.time"): pd.to_datetime(recent["checked_at"]).dt.strftime(
                            "%m-%d %H:%M"
                        ),
                        t("alcohol.col.point"): recent["point_id"].map(names),
                        t("alcohol.col.status"): recent["status"].map(
                            lambda v: t(f"checkin_status.{v}")
                        ),
                        t("alcohol.col.distance"): recent["distance_m"].round(0).astype(int),
                    }
                ),
                hide_index=True,
                width="stretch",
            )

with tab_rev:
    # as of the current minute: one cache entry per minute, not one per run
    files = state.load(
        alcohol.person_files,
        viewer.scope,
        now_local().replace(second=0, microsecond=0),
        officer_id=viewer.officer_id,
    )
    if files.empty:
        st.info(t("checkin.reviews.empty"))
    else:
        st.caption(t("checkin.reviews.due", n=int(files["due"].sum())))
        measures = [None, *MeasureKind]
        for r in files.itertuples():
            title = t(
                "checkin.reviews.person",
                name=privacy.mask_name(r.name),
                community=r.community,
                date=r.next_review,
            )
            with st.expander(
                title,
                expanded=False,
                icon=":material/notification_important:" if r.due else ":material/event:",
            ):
                unmask.render(
                    viewer, "alcohol_file", int(r.file_id), key=f"unmask_file_{r.file_id}"
                )
                with st.form(f"rev_{r.file_id}", border=False):
                    note = st.text_area(t("checkin.reviews.note"), key=f"rev_note_{r.file_id}")
                    measure = st.selectbox(
                        t("checkin.reviews.measure"),
                        measures,
                        format_func=lambda m: (
                            t("checkin.reviews.no_measure")
                            if m is None
                            else t(f"measure_kind.{m.value}")
                        ),
                        key=f"rev_m_{r.file_id}",
                    )
                    nxt = st.date_input(
                        t("checkin.reviews.next"),
                        value=now_local().date() + timedelta(days=alcohol.repeat.REVIEW_DAYS),
                        key=f"rev_next_{r.file_id}",
                    )
                    if st.form_submit_button(t("checkin.reviews.save"), type="primary"):
                        try:
                            with state.session() as s:
                                alcohol.record_review(
                                    s,
                                    viewer,
                                    int(r.file_id),
                                    reviewed_on=now_local().date(),
                                    note=note,
                                    next_review=nxt,
                                    measure=measure,
                                )
                                s.commit()
                            st.success(t("checkin.reviews.saved"))
                        except (ScopeError, ValueError, PermissionError) as exc:
                            st.error(str(exc))
