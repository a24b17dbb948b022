"""我的任务: the community officer's inbox, made for a phone: one card per open item (urgent
first, then overdue, then by deadline), big buttons to accept and to report back (result,
note, counts, optional photo), and the history of finished items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label
from fangcang.models.tasks import Branch, FeedbackResult, ItemState, Rating
from fangcang.timeutil import now_local
from fangcang.websafe import escape_markdown
from ui import guard, state
from ui.state import t

viewer = guard.page("my_tasks")
lang = state.lang()
MAX_CARDS = 30

if not viewer.officer_id:
    st.info(t("inbox.no_officer"))
    st.stop()


@st.cache_data(show_spinner=False, max_entries=32)
def _inbox(version: int, who) -> pd.DataFrame:
    with state.session() as s:
        return tasks.inbox(s, who)


@st.cache_data(show_spinner=False, max_entries=32)
def _done(version: int, who) -> pd.DataFrame:
    with state.session() as s:
        return tasks.items_frame(
            s, who, states=(ItemState.FED_BACK, ItemState.EVALUATED), limit=100
        )


@st.cache_data(show_spinner=False, max_entries=64)
def _return_reason(version: int, who, item_id: int) -> str:
    with state.session() as s:
        h = tasks.history(s, item_id, who)
    back = h[h["action"] == "return"]
    return str(back["note"].iloc[-1]) if not back.empty else ""


def _left(minutes: int) -> str:
    if minutes < 0:
        return t("inbox.overdue")
    if minutes < 120:
        return t("inbox.left", time=f"{minutes} min")
    if minutes < 48 * 60:
        return t("inbox.left", time=f"{minutes // 60} h")
    return t("inbox.left", time=f"{minutes // 1440} d")


def _act(fn, done_key: str, **kw) -> None:
    try:
        with state.session() as s:
            fn(s, viewer=viewer, **kw)
            s.commit()
        st.session_state["inbox_flash"] = t(done_key)
        st.rerun()
    except tasks.ConflictError:
        st.error(t("tasks.conflict"))
    except ValueError as exc:
        st.error(str(exc))


def _card(row: pd.Series) -> None:
    iid, version = int(row["id"]), int(row["version"])
    with st.container(border=True):
        badges = []
        if row["urgent"]:
            badges.append(f":red-badge[:material/campaign: {t('inbox.urgent')}]")
        if row["overdue"]:
            badges.append(f":orange-badge[{t('inbox.overdue')}]")
        if row["state"] == ItemState.RETURNED.value:
            badges.append(f":violet-badge[{t('inbox.returned')}]")
        badges.append(f":gray-badge[{enum_label(Branch(row['branch']), lang)}]")
        st.markdown(" ".join(badges))
        st.markdown(f"**{escape_markdown(row['title'])}**")
        st.caption(
            f"{escape_markdown(row['community_name'])} · "
            f"{t('inbox.due', deadline=f'{row.deadline:%m-%d %H:%M}')} · {_left(int(row['minutes_left']))}"
        )
        if row["instructions"] and row["instructions"] != row["title"]:
            st.text(row["instructions"])
        if row["state"] == ItemState.RETURNED.value:
            reason = _return_reason(state.data_version(), viewer, iid)
            if reason:
                st.warning(t("inbox.return_reason", reason=reason))
        if row["state"] == ItemState.DISPATCHED.value and st.button(
            t("inbox.accept"),
            key=f"accept_{iid}",
            type="primary",
            use_container_width=True,
            icon=":material/check:",
        ):
            _act(
                lambda s, viewer: tasks.accept(s, iid, viewer, expected_version=version),
                "inbox.accepted",
            )
        with st.expander(t("inbox.feedback"), icon=":material/edit_note:"):
            with st.form(f"fb_{iid}", border=False):
                result = st.radio(
                    t("inbox.result"),
                    list(FeedbackResult),
                    horizontal=True,
                    format_func=lambda r: enum_label(r, lang),
                    key=f"res_{iid}",
                )
                note = st.text_area(t("inbox.note"), max_chars=1000, key=f"note_{iid}", height=80)
                count = st.number_input(
                    t("inbox.count"),
                    min_value=0,
                    max_value=100_000,
                    value=0,
                    step=1,
                    key=f"cnt_{iid}",
                )
                photo = st.file_uploader(
                    t("inbox.photo"), type=["jpg", "jpeg", "png"], key=f"photo_{iid}"
                )
                if st.form_submit_button(
                    t("inbox.submit"),
                    type="primary",
                    use_container_width=True,
                    icon=":material/send:",
                ):
                    _act(
                        lambda s, viewer: tasks.feedback(
                            s,
                            iid,
                            viewer,
                            result=result,
                            note=note,
                            count_done=int(count),
                            photo=photo.getvalue() if photo is not None else None,
                            expected_version=version,
                        ),
                        "inbox.submitted",
                    )


st.title(t("inbox.title"))
if flash := st.session_state.pop("inbox_flash", None):
    st.toast(flash)
data_version = state.data_version()
box = _inbox(data_version, viewer)
# Phone first: on a narrow screen the columns stack and the inbox takes the full width; on a
# desktop it keeps a readable card width instead of stretching buttons across the screen.
main, _side = st.columns([3, 1])
tab_open, tab_done = main.tabs([t("inbox.open", n=len(box)), t("inbox.history")])
with tab_open:
    if box.empty:
        st.info(t("inbox.empty"))
    for _, row in box.head(MAX_CARDS).iterrows():
        _card(row)
with tab_done:
    done = _done(data_version, viewer)
    if done.empty:
        st.info(t("inbox.history_empty"))
    else:
        view = pd.DataFrame(
            {
                t("tasks.col.title"): done["title"],
                t("tasks.col.community"): done["community_name"],
                t("tasks.col.fed_back_at"): pd.to_datetime(done["fed_back_at"]).dt.strftime(
                    "%m-%d %H:%M"
                ),
                t("tasks.col.result"): done["result"].map(
                    lambda v: enum_label(FeedbackResult(v), lang) if pd.notna(v) and v else ""
                ),
                t("tasks.col.rating"): done["rating"].map(
                    lambda v: enum_label(Rating(v), lang) if pd.notna(v) and v else "—"
                ),
            }
        )
        st.dataframe(view, hide_index=True, use_container_width=True)
st.caption(f"{now_local():%Y-%m-%d %H:%M}")
