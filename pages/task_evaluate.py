"""任务评价: a supervisor rates fed-back items; unqualified (with a reason) returns the item."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label
from fangcang.models.tasks import Branch, FeedbackResult, ItemState, Rating, TaskAction
from fangcang.websafe import escape_markdown
from ui import guard, state
from ui.state import t

viewer = guard.page("task_evaluate")
lang = state.lang()


def _label(cls, value) -> str:
    return enum_label(cls(value), lang) if pd.notna(value) and value else ""


@st.cache_data(show_spinner=False, max_entries=16)
def _waiting(version: int, who) -> pd.DataFrame:
    with state.session() as s:
        return tasks.items_frame(s, who, states=(ItemState.FED_BACK,), limit=500)


@st.cache_data(show_spinner=False, max_entries=64)
def _history(version: int, who, item_id: int) -> pd.DataFrame:
    with state.session() as s:
        return tasks.history(s, item_id, who)


st.title(t("evaluate.title"))
st.caption(t("evaluate.caption"))
if flash := st.session_state.pop("evaluate_flash", None):
    st.success(flash)
version = state.data_version()
df = _waiting(version, viewer)
if df.empty:
    st.info(t("evaluate.empty"))
    st.stop()

st.caption(t("evaluate.waiting", n=len(df)))
table = pd.DataFrame(
    {
        t("tasks.col.id"): df["id"],
        t("tasks.col.branch"): df["branch"].map(lambda b: enum_label(Branch(b), lang)),
        t("tasks.col.title"): df["title"],
        t("tasks.col.community"): df["community_name"],
        t("tasks.col.fed_back_at"): pd.to_datetime(df["fed_back_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        t("tasks.col.result"): df["result"].map(lambda v: _label(FeedbackResult, v)),
        t("tasks.col.note"): df["note"],
    }
)
picked = st.dataframe(
    table,
    hide_index=True,
    use_container_width=True,
    height=260,
    on_select="rerun",
    selection_mode="single-row",
    key="eval_table",
)
rows = picked.selection.rows if picked else []
row = df.iloc[rows[0]] if rows else df.iloc[0]
iid = int(row["id"])

left, right = st.columns([3, 2], gap="large")
with left, st.container(border=True):
    st.subheader(f"#{iid} {escape_markdown(row['title'])}", anchor=False)
    st.caption(
        f"{escape_markdown(row['community_name'])} · {escape_markdown(row['officer_name'])} · "
        f"{t('tasks.col.deadline')} {row['deadline']:%Y-%m-%d %H:%M}"
    )
    st.text(row["instructions"])
    hist = _history(version, viewer, iid)
    view = pd.DataFrame(
        {
            t("tasks.col.at"): pd.to_datetime(hist["at"]).dt.strftime("%m-%d %H:%M"),
            t("tasks.col.actor"): hist["actor"],
            t("tasks.col.action"): hist["action"].map(lambda a: enum_label(TaskAction(a), lang)),
            t("tasks.col.result"): hist["result"].map(lambda v: _label(FeedbackResult, v)),
            t("tasks.col.count"): hist["count_done"].map(lambda v: "" if pd.isna(v) else int(v)),
            t("tasks.col.note"): hist["note"],
        }
    )
    st.dataframe(view, hide_index=True, use_container_width=True)
    photos = hist[hist["has_photo"]]
    if not photos.empty:
        with state.session() as s:
            got = tasks.history_photo(s, int(photos["id"].iloc[-1]), viewer)
        if got:
            st.image(got[0], caption=t("evaluate.photo"), width=320)

with right, st.container(border=True):
    with st.form(f"eval_{iid}"):
        rating = st.radio(
            t("evaluate.rating"),
            list(Rating),
            horizontal=True,
            format_func=lambda r: enum_label(r, lang),
        )
        reason = st.text_area(t("evaluate.reason"), max_chars=1000, height=100)
        if st.form_submit_button(t("evaluate.submit"), type="primary", use_container_width=True):
            try:
                with state.session() as s:
                    tasks.evaluate(
                        s,
                        iid,
                        viewer,
                        rating=rating,
                        reason=reason,
                        expected_version=int(row["version"]),
                    )
                    s.commit()
                st.session_state["evaluate_flash"] = t(
                    "evaluate.done", rating=enum_label(rating, lang)
                )
                st.rerun()
            except tasks.ConflictError:
                st.error(t("tasks.conflict"))
            except (ValueError, PermissionError) as exc:
                st.error(str(exc))
