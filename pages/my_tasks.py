"""我的任务: the community officer's inbox, made for a phone: one card per open item (urgent
first, then overdue, then by deadline), big buttons to accept and to report back (result,
note, counts, optional photo), and the history of finished items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label, fmt_int
from fangcang.models.tasks import Branch, FeedbackResult, ItemState, Rating
from fangcang.websafe import escape_markdown
from ui import guard, state
from ui.state import t

viewer = guard.page("my_tasks")
lang = state.lang()
PAGE = 20  # cards / history rows per page (a phone screen or two)

if not viewer.officer_id:
    st.info(t("inbox.no_officer"))
    st.stop()


def _given(value) -> bool:
    """A value that is there (not None, NaN, NaT or empty)."""
    return not pd.isna(value) and value != ""


def _left(minutes: int) -> str:
    if minutes < 0:
        return t("inbox.overdue")
    if minutes < 120:
        return t("inbox.left", time=f"{minutes} min")
    if minutes < 48 * 60:
        return t("inbox.left", time=f"{minutes // 60} h")
    return t("inbox.left", time=f"{minutes // 1440} d")


def _title_and_text(title: str, instructions: str) -> tuple[str, str]:
    """What a card shows once: an urgent instruction's title is the start of its text, so the
    text alone is the heading; a template's title heads its instructions."""
    title, instructions = str(title or ""), str(instructions or "")
    stem = title.removesuffix("…")
    if not instructions or instructions == title:
        return title, ""
    if instructions.startswith(stem):
        return instructions, ""
    return title, instructions


def _pager(n: int, key: str) -> slice:
    """Page through ``n`` rows ``PAGE`` at a time; says how many there are (never a silent cap)."""
    pages = max(1, -(-n // PAGE))
    page = 1
    if pages > 1:
        page = st.number_input(
            t("inbox.page", pages=pages), min_value=1, max_value=pages, value=1, step=1, key=key
        )
    first = (int(page) - 1) * PAGE
    st.caption(t("inbox.showing", a=first + 1, b=min(n, first + PAGE), n=fmt_int(n)))
    return slice(first, first + PAGE)


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
        title, text = _title_and_text(row["title"], row["instructions"])
        st.markdown(f"**{escape_markdown(title)}**")
        st.caption(
            f"{escape_markdown(row['community_name'])} · "
            f"{t('inbox.due', deadline=f'{row.deadline:%m-%d %H:%M}')} · {_left(int(row['minutes_left']))}"
        )
        if text:
            st.text(text)
        if row["state"] == ItemState.RETURNED.value:
            reason = state.load(tasks.return_reason, iid, viewer)
            if reason:
                st.warning(t("inbox.return_reason", reason=reason))
        if row["state"] == ItemState.DISPATCHED.value and st.button(
            t("inbox.accept"),
            key=f"accept_{iid}",
            type="primary",
            width="stretch",
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
                    index=None,  # the officer states the result; nothing is preset
                    key=f"res_{iid}",
                )
                note = st.text_area(t("inbox.note"), max_chars=1000, key=f"note_{iid}", height=80)
                count = st.number_input(
                    t("inbox.count"),
                    min_value=0,
                    max_value=100_000,
                    value=None,
                    step=1,
                    placeholder=t("inbox.count_none"),
                    key=f"cnt_{iid}",
                )
                photo = st.file_uploader(
                    t("inbox.photo", mb=tasks.PHOTO_UPLOAD_MAX_MB),
                    type=["jpg", "jpeg", "png"],
                    key=f"photo_{iid}",
                    max_upload_size=tasks.PHOTO_UPLOAD_MAX_MB,
                    help=t("inbox.photo_help", mb=tasks.PHOTO_UPLOAD_MAX_MB),
                )
                if st.form_submit_button(
                    t("inbox.submit"),
                    type="primary",
                    width="stretch",
                    icon=":material/send:",
                ):
                    if result is None:
                        st.error(t("inbox.no_result"))
                    else:
                        _act(
                            lambda s, viewer: tasks.feedback(
                                s,
                                iid,
                                viewer,
                                result=result,
                                note=note,
                                count_done=None if count is None else int(count),
                                photo=tasks.shrink_photo(photo.getvalue()) if photo else None,
                                expected_version=version,
                            ),
                            "inbox.submitted",
                        )


st.title(t("inbox.title"))
if flash := st.session_state.pop("inbox_flash", None):
    st.toast(flash)
as_of = state.as_of("minute")  # overdue marks and time left as of this minute
box = state.load(tasks.inbox, viewer, now=as_of)
# Phone first: on a narrow screen the columns stack and the inbox takes the full width; on a
# desktop it keeps a readable card width instead of stretching buttons across the screen.
main, _side = st.columns([3, 1])
done = state.load(
    tasks.items_frame, viewer, states=(ItemState.FED_BACK, ItemState.EVALUATED), now=as_of
)
tab_open, tab_done = main.tabs(
    [t("inbox.open", n=fmt_int(len(box))), t("inbox.history_n", n=fmt_int(len(done)))]
)
with tab_open:
    if box.empty:
        st.info(t("inbox.empty"))
    else:
        for _, row in box.iloc[_pager(len(box), "inbox_page")].iterrows():
            _card(row)
with tab_done:
    if done.empty:
        st.info(t("inbox.history_empty"))
    else:
        # One compact entry per item (a table would need sideways scrolling on a phone).
        for r in done.iloc[_pager(len(done), "inbox_done_page")].itertuples(index=False):
            # Missing values arrive as NaN/NaT from the frame (both truthy): test for text.
            result = enum_label(FeedbackResult(r.result), lang) if _given(r.result) else ""
            rating = (
                enum_label(Rating(r.rating), lang) if _given(r.rating) else t("inbox.not_rated")
            )
            when = (
                pd.Timestamp(r.fed_back_at).strftime("%m-%d %H:%M") if _given(r.fed_back_at) else ""
            )
            st.markdown(
                f"**{escape_markdown(_title_and_text(r.title, r.instructions)[0])}**  \n"
                f":gray[{escape_markdown(r.community_name)} · {when} · {result} · {rating}]"
            )
st.caption(t("inbox.as_of", time=f"{as_of:%Y-%m-%d %H:%M}"))
