"""一键派单: dispatch a cycle, send an urgent instruction, watch urgent items live, and exchange
CSV files with the mobile terminal."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label
from fangcang.models.tasks import Cycle, ItemState
from fangcang.tasks.cycles import period_of
from fangcang.timeutil import now_local
from ui import export, guard, state
from ui.state import t

viewer = guard.page("task_dispatch")
lang = state.lang()


@st.cache_data(show_spinner=False, max_entries=16)
def _admitted(version: int) -> pd.DataFrame:
    with state.session() as s:
        return tasks.list_templates(s, status="admitted")


@st.cache_data(show_spinner=False, max_entries=16)
def _communities(version: int, scope) -> list[tuple[str, str]]:
    from fangcang.access import visible_communities

    with state.session() as s:
        return visible_communities(s, scope)


st.title(t("dispatch.title"))
st.caption(t("dispatch.caption"))
version = state.data_version()
left, right = st.columns([1, 1], gap="large")

# --- one-click dispatch ----------------------------------------------------------------------
with left, st.container(border=True):
    st.subheader(t("dispatch.button"), anchor=False)
    periodic = [Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY]
    cycle = st.radio(
        t("dispatch.cycle"),
        periodic,
        horizontal=True,
        key="dispatch_cycle",
        format_func=lambda c: enum_label(c, lang),
    )
    day = st.date_input(t("dispatch.day"), value=now_local().date(), key="dispatch_day")
    period = period_of(cycle, day if isinstance(day, date) else now_local().date())
    templates = _admitted(version)
    of_cycle = templates[templates["cycle"] == cycle.value]
    a, b = st.columns(2)
    a.metric(t("dispatch.cycle_key"), period.key, help=f"{period.first} – {period.last}")
    b.metric(t("dispatch.templates"), len(of_cycle))
    if of_cycle.empty:
        st.info(t("dispatch.no_templates"))
    elif st.button(
        t("dispatch.button"),
        type="primary",
        icon=":material/send:",
        use_container_width=True,
        key="dispatch_go",
    ):
        with state.session() as s:
            res = tasks.dispatch_cycle(s, cycle, viewer, on=period.first)
            s.commit()
        st.success(
            t(
                "dispatch.done",
                cycle=period.key,
                created=res.created,
                existing=res.existing,
                skipped=res.skipped_no_officer,
            )
        )

# --- urgent instruction ------------------------------------------------------------------------
with right, st.container(border=True):
    st.subheader(t("dispatch.urgent"), anchor=False)
    st.caption(t("dispatch.urgent_caption"))
    where = st.radio(
        t("dispatch.where"),
        ["point", "community", "address"],
        horizontal=True,
        key="urgent_where",
        format_func=lambda w: t(f"dispatch.where.{w}"),
    )
    with st.form("urgent_form", clear_on_submit=False, border=False):
        loc: dict = {}
        if where == "point":
            c1, c2 = st.columns(2)
            loc["lon"] = c1.number_input(
                t("dispatch.lon"), value=120.655, format="%.6f", step=0.001
            )
            loc["lat"] = c2.number_input(t("dispatch.lat"), value=28.015, format="%.6f", step=0.001)
        elif where == "community":
            options = _communities(version, viewer.scope)
            names = {cid: name for cid, name in options}
            loc["community"] = st.selectbox(
                t("dispatch.where.community"),
                list(names),
                format_func=lambda c: f"{names[c]} ({c})",
            )
        else:
            loc["address"] = st.text_input(t("dispatch.address"))
        text = st.text_area(t("dispatch.text"), height=90, max_chars=1000)
        minutes = st.number_input(
            t("dispatch.minutes"), min_value=1, max_value=7 * 24 * 60, value=30, step=5
        )
        sent = st.form_submit_button(
            t("dispatch.send"), type="primary", icon=":material/campaign:", use_container_width=True
        )
    if sent:
        try:
            with state.session() as s:
                item = tasks.urgent_instruction(s, viewer, text=text, minutes=int(minutes), **loc)
                s.commit()
                names = dict(_communities(version, viewer.scope))
                st.success(
                    t(
                        "dispatch.sent",
                        community=names.get(item.community_id, item.community_id),
                        officer=item.officer_id,
                        id=item.id,
                    )
                )
        except ValueError as exc:
            st.error(str(exc))


def _since(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} d"


# --- the live urgent board: a fragment that reruns itself every 5 s -----------------------------
@st.fragment(run_every="5s")
def _board() -> None:
    now = now_local()
    with state.session() as s:
        df = tasks.urgent_board(s, viewer, now=now)
    st.subheader(t("dispatch.board"), anchor=False)
    st.caption(t("dispatch.board_caption", time=f"{now:%H:%M:%S}"))
    if df.empty:
        st.info(t("dispatch.board_empty"))
        return
    view = pd.DataFrame(
        {
            t("tasks.col.id"): df["id"],
            t("tasks.col.community"): df["community_name"],
            t("tasks.col.officer"): df["officer_name"],
            t("tasks.col.title"): df["title"],
            t("tasks.col.dispatched_at"): df["dispatched_at"].dt.strftime("%m-%d %H:%M"),
            t("tasks.col.minutes_since"): df["minutes_since"].map(_since),
            t("tasks.col.acknowledged"): df["acknowledged"].map({True: "✔", False: "—"}),
            t("tasks.col.state"): df["state"].map(lambda v: enum_label(ItemState(v), lang)),
            t("tasks.col.overdue"): df["overdue"].map({True: "⚠", False: ""}),
        }
    )
    st.dataframe(view, hide_index=True, use_container_width=True)


with st.container(border=True):
    _board()

# --- exchange with the mobile terminal ---------------------------------------------------------
with st.expander(t("dispatch.exchange"), icon=":material/sync_alt:"):
    with state.session() as s:
        open_df = tasks.open_items_frame(s, viewer)
    st.caption(t("dispatch.open_items", n=len(open_df)))
    export.download(
        open_df,
        viewer=viewer,
        name=f"open_items_{now_local():%Y%m%d}",
        fmt="csv",
        target="task_items",
        label=t("dispatch.export"),
        key="export_open_items",
    )
    up = st.file_uploader(t("dispatch.import"), type=["csv", "xlsx"], key="feedback_upload")
    if up is not None and st.button(t("dispatch.import_button"), key="feedback_import"):
        try:
            with state.session() as s:
                res = tasks.import_feedback(s, up.getvalue(), viewer, file=up.name)
                s.commit()
            st.success(t("dispatch.imported", n=res.rows))
        except tasks.FeedbackImportError as exc:
            st.error(t("dispatch.import_failed", n=len(exc.errors)))
            st.dataframe(
                pd.DataFrame([e.as_dict() for e in exc.errors]),
                hide_index=True,
                use_container_width=True,
            )
        except tasks.ConflictError:
            st.error(t("tasks.conflict"))
