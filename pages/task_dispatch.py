"""一键派单: send the communities a filter selects a task or an urgent instruction (with a
preview of who receives what), dispatch a cycle, send a single urgent instruction, watch urgent
items live (handled or old ones in the history), and exchange CSV files with the mobile
terminal. The filters come from the sidebar and the URL, so a view on the map or the warning
page carries over."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.access import visible_communities
from fangcang.i18n import enum_label, fmt_int
from fangcang.models.tasks import Cycle, ItemState
from fangcang.tasks import selection
from fangcang.tasks.cycles import period_of
from fangcang.timeutil import now_local
from fangcang.views.shared import INDICATORS
from ui import export, filters, guard, state
from ui.state import t

viewer = guard.page("task_dispatch")
lang = state.lang()
HISTORY_PAGE = 50


f = filters.sidebar(viewer, street=True, station=True, levels=True, min_score=True)
st.title(t("dispatch.title"))
st.caption(t("dispatch.caption"))
if flash := st.session_state.pop("dispatch_flash", None):
    st.success(flash)
tab_sel, tab_cycle, tab_urgent = st.tabs(
    [t("dispatch.tab.selected"), t("dispatch.tab.cycle"), t("dispatch.tab.urgent")]
)


# --- from a filter to work -------------------------------------------------------------------
def _outcome(v: str) -> str:
    return t(f"dispatch.sel.outcome.{v}")


def _targeted() -> None:
    c1, c2 = st.columns(2)
    indicator = filters.url_choice(
        "top",
        ["", *INDICATORS],
        "",
        t("dispatch.sel.indicator"),
        format_func=lambda k: t("dispatch.sel.any") if not k else t(f"warning.indicator.{k}"),
        where=c1,
        help=t("dispatch.sel.indicator_help"),
    )
    hot_options = selection.hotspot_categories()
    hot = (
        filters.url_multi(
            "hotspot",
            hot_options,
            [],
            t("dispatch.sel.hotspot"),
            format_func=lambda c: t(f"hotspot.category.{c}"),
            where=c2,
        )
        if hot_options
        else []
    )
    flt = selection.CommunityFilter(
        f.period,
        sub_districts=(f.street,) if f.street else (),
        stations=(f.station,) if f.station else (),
        levels=tuple(f.levels),
        min_score=f.min_score,
        indicator=indicator or None,
        hotspot_categories=tuple(hot),
    )
    extra = []
    if indicator:
        extra.append(t("dispatch.sel.top", indicator=t(f"warning.indicator.{indicator}")))
    if hot:
        extra.append(" / ".join(t(f"hotspot.category.{c}") for c in hot))
    try:
        sel = state.load(selection.select_communities, viewer.scope, flt)
    except ValueError as exc:
        st.warning(t("dispatch.sel.error", msg=exc))
        return
    if sel.empty:
        st.info(filters.empty_text(f, viewer, extra="，".join(extra)))
        return
    st.markdown(
        t(
            "dispatch.sel.found",
            n=fmt_int(len(sel)),
            where=filters.where_text(f, viewer),
            period=str(f.period),
        )
        + (f" · {'，'.join(extra)}" if extra else "")
    )
    what = (
        st.segmented_control(
            t("dispatch.sel.what"),
            ["task", "urgent"],
            default="task",
            format_func=lambda w: t(f"dispatch.sel.what.{w}"),
            key="sel_what",
        )
        or "task"
    )
    ids = tuple(sel["community_id"])
    today = now_local().date()
    template_id, text, minutes = None, None, 30
    if what == "task":
        templates = state.load(tasks.list_templates, status="admitted")
        if templates.empty:
            st.info(t("dispatch.sel.no_templates"))
            return
        by_id = {int(r.id): r for r in templates.itertuples(index=False)}
        template_id = st.selectbox(
            t("dispatch.sel.template"),
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].title} · {enum_label(Cycle(by_id[i].cycle), lang)} · "
                f"{period_of(Cycle(by_id[i].cycle), today).key}"
            ),
            key="sel_template",
        )
    else:
        text = st.text_area(t("dispatch.text"), height=90, max_chars=1000, key="sel_text")
        minutes = int(
            st.number_input(
                t("dispatch.minutes"),
                min_value=1,
                max_value=7 * 24 * 60,
                value=30,
                step=5,
                key="sel_minutes",
            )
        )
    pv = state.load(selection.preview, ids, template_id=template_id, on=today)
    shown = sel.merge(pv[["community_id", "outcome"]], on="community_id")
    st.dataframe(
        pd.DataFrame(
            {
                t("tasks.col.community"): shown["name"],
                t("dash.sub_district"): shown["sub_district"],
                t("dash.level"): shown["level"].map(
                    lambda v: t(f"warning_level.{v}") if isinstance(v, str) else "—"
                ),
                t("warning.col.score"): shown["score"].map(
                    lambda v: "—" if pd.isna(v) else f"{v:.1f}"
                ),
                t("tasks.col.officer"): shown["officer_name"].fillna("—"),
                t("dispatch.sel.receives"): shown["outcome"].map(_outcome),
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(shown)),
    )
    n_new = int((pv["outcome"] == selection.NEW).sum())
    officers = pv.loc[pv["outcome"] == selection.NEW, "officer_id"].nunique()
    st.caption(
        t(
            "dispatch.sel.summary",
            new=fmt_int(n_new),
            officers=fmt_int(officers),
            existing=fmt_int(int((pv["outcome"] == selection.EXISTING).sum())),
            skipped=fmt_int(int((pv["outcome"] == selection.NO_OFFICER).sum())),
        )
    )
    label = t(f"dispatch.sel.send.{what}", n=fmt_int(n_new))
    if st.button(
        label,
        type="primary",
        icon=":material/send:",
        disabled=n_new == 0,
        key="sel_send",
        width="stretch",
    ):
        try:
            with state.session() as s:
                res = tasks.dispatch_to(
                    s,
                    viewer,
                    list(ids),
                    template_id=template_id,
                    text=text,
                    minutes=minutes,
                )
                s.commit()
        except (ValueError, PermissionError) as exc:
            st.error(t("dispatch.sel.error", msg=exc))
            return
        st.session_state["dispatch_flash"] = t(
            "dispatch.sel.done",
            created=fmt_int(res.created),
            existing=fmt_int(res.existing),
            skipped=fmt_int(res.skipped_no_officer),
        )
        st.rerun()


with tab_sel:
    st.caption(t("dispatch.sel.caption"))
    _targeted()

# --- one-click dispatch of a cycle -----------------------------------------------------------
with tab_cycle:
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
    templates = state.load(tasks.list_templates, status="admitted")
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
        width="stretch",
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

# --- urgent instruction to one place -----------------------------------------------------------
with tab_urgent:
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
                t("dispatch.lon"), value=120.655, format="%.6f", step=0.001, key="urgent_lon"
            )
            loc["lat"] = c2.number_input(
                t("dispatch.lat"), value=28.015, format="%.6f", step=0.001, key="urgent_lat"
            )
        elif where == "community":
            options = state.load(visible_communities, viewer.scope)
            names = {cid: name for cid, name in options}
            loc["community"] = st.selectbox(
                t("dispatch.where.community"),
                list(names),
                format_func=lambda c: f"{names[c]} ({c})",
                key="urgent_community",
            )
        else:
            loc["address"] = st.text_input(t("dispatch.address"), key="urgent_address")
        text = st.text_area(t("dispatch.text"), height=90, max_chars=1000, key="urgent_text")
        minutes = st.number_input(
            t("dispatch.minutes"), min_value=1, max_value=7 * 24 * 60, value=30, step=5
        )
        sent = st.form_submit_button(
            t("dispatch.send"), type="primary", icon=":material/campaign:", width="stretch"
        )
    if sent:
        try:
            with state.session() as s:
                item = tasks.urgent_instruction(s, viewer, text=text, minutes=int(minutes), **loc)
                s.commit()
                names = dict(state.load(visible_communities, viewer.scope))
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


def _urgent_table(df: pd.DataFrame, done: bool = False) -> pd.DataFrame:
    view = {
        t("tasks.col.id"): df["id"],
        t("tasks.col.community"): df["community_name"],
        t("tasks.col.officer"): df["officer_name"],
        t("tasks.col.title"): df["title"],
        t("tasks.col.dispatched_at"): pd.to_datetime(df["dispatched_at"]).dt.strftime(
            "%m-%d %H:%M"
        ),
    }
    if done:
        view[t("tasks.col.fed_back_at")] = pd.to_datetime(df["fed_back_at"]).dt.strftime(
            "%m-%d %H:%M"
        )
    else:
        view[t("tasks.col.minutes_since")] = df["minutes_since"].map(_since)
        view[t("tasks.col.acknowledged")] = df["acknowledged"].map({True: "✔", False: "—"})
    view[t("tasks.col.state")] = df["state"].map(lambda v: enum_label(ItemState(v), lang))
    view[t("tasks.col.overdue")] = df["overdue"].map({True: "⚠", False: ""})
    return pd.DataFrame(view)


# --- the live urgent board: a fragment that reruns itself every 5 s -----------------------------
@st.fragment(run_every="5s")
def _board() -> None:
    now = now_local()
    with state.session() as s:
        df = tasks.urgent_board(s, viewer, now=now)
    st.subheader(t("dispatch.board"), anchor=False)
    st.caption(
        t("dispatch.board_caption", time=f"{now:%H:%M:%S}")
        + " · "
        + t("dispatch.board_rule", hours=tasks.URGENT_STALE_HOURS)
    )
    if df.empty:
        st.info(t("dispatch.board_empty"))
        return
    st.caption(t("dispatch.board_n", n=fmt_int(len(df))))
    st.dataframe(_urgent_table(df), hide_index=True, width="stretch")


with st.container(border=True):
    _board()

with st.expander(t("dispatch.history", days=30), icon=":material/history:"):
    with state.session() as s:
        hist = tasks.urgent_history(s, viewer, days=30)
    if hist.empty:
        st.info(t("dispatch.history_empty", days=30))
    else:
        pages = max(1, -(-len(hist) // HISTORY_PAGE))
        page = 1
        if pages > 1:
            page = int(
                st.number_input(
                    t("inbox.page", pages=pages), 1, pages, 1, key="urgent_history_page"
                )
            )
        first = (page - 1) * HISTORY_PAGE
        st.caption(
            t(
                "inbox.showing",
                a=first + 1,
                b=min(len(hist), first + HISTORY_PAGE),
                n=fmt_int(len(hist)),
            )
        )
        st.dataframe(
            _urgent_table(hist.iloc[first : first + HISTORY_PAGE], done=True),
            hide_index=True,
            width="stretch",
        )

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
                width="stretch",
            )
        except tasks.ConflictError:
            st.error(t("tasks.conflict"))
