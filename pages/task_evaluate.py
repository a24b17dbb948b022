"""任务评价: supervisors find fed-back items (search; station, template, officer, state), rate
one after reading its history, or several at once after a confirmation. No rating is
preselected; counts and pages show every item (no silent cap). Unqualified (with a reason)
returns the item to the officer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label, fmt_int
from fangcang.models.tasks import Branch, FeedbackResult, ItemState, Rating, TaskAction
from fangcang.websafe import escape_markdown
from ui import guard, state
from ui.state import t

viewer = guard.page("task_evaluate")
lang = state.lang()
PAGE = 50
STATES = [ItemState.FED_BACK, ItemState.EVALUATED, ItemState.RETURNED]


def _label(cls, value) -> str:
    return enum_label(cls(value), lang) if pd.notna(value) and value else ""


def _detail(row: pd.Series) -> None:
    """One item: what was asked, what happened, the photo."""
    iid = int(row["id"])
    st.subheader(f"#{iid} {escape_markdown(row['title'])}", anchor=False)
    st.caption(
        f"{escape_markdown(row['community_name'])} · {escape_markdown(row['officer_name'])} · "
        f"{t('tasks.col.deadline')} {row['deadline']:%Y-%m-%d %H:%M}"
    )
    if row["instructions"] and row["instructions"] != row["title"]:
        st.text(row["instructions"])
    hist = state.load(tasks.history, iid, viewer)
    st.dataframe(
        pd.DataFrame(
            {
                t("tasks.col.at"): pd.to_datetime(hist["at"]).dt.strftime("%m-%d %H:%M"),
                t("tasks.col.actor"): hist["actor"],
                t("tasks.col.action"): hist["action"].map(
                    lambda a: enum_label(TaskAction(a), lang)
                ),
                t("tasks.col.result"): hist["result"].map(lambda v: _label(FeedbackResult, v)),
                t("tasks.col.count"): hist["count_done"].map(
                    lambda v: "" if pd.isna(v) else fmt_int(v)
                ),
                t("tasks.col.note"): hist["note"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    photos = hist[hist["has_photo"]]
    if not photos.empty:
        with state.session() as s:
            got = tasks.history_photo(s, int(photos["id"].iloc[-1]), viewer)
        if got:
            st.image(got[0], caption=t("evaluate.photo"), width=320)


def _save(items: dict[int, int], rating: Rating, reason: str) -> None:
    try:
        with state.session() as s:
            n = tasks.evaluate_many(s, items, viewer, rating=rating, reason=reason)
            s.commit()
    except tasks.ConflictError:
        st.error(t("tasks.conflict"))
        return
    except (ValueError, PermissionError) as exc:
        st.error(str(exc))
        return
    st.session_state.pop("eval_confirm", None)
    st.session_state["evaluate_flash"] = t(
        "evaluate.done_n", n=fmt_int(n), rating=enum_label(rating, lang)
    )
    st.rerun()


def _rating_form(key: str, items: dict[int, int], bulk: bool) -> None:
    """Rating (none preselected) and comment; bulk ratings ask for a confirmation first."""
    with st.form(key):
        rating = st.radio(
            t("evaluate.rating"),
            list(Rating),
            index=None,
            horizontal=True,
            format_func=lambda r: enum_label(r, lang),
        )
        reason = st.text_area(t("evaluate.reason"), max_chars=1000, height=90)
        label = t("evaluate.submit_n", n=fmt_int(len(items))) if bulk else t("evaluate.submit")
        go = st.form_submit_button(label, type="primary", width="stretch")
    if go:
        if rating is None:
            st.error(t("evaluate.no_rating"))
        elif bulk:
            st.session_state["eval_confirm"] = (items, rating.value, reason)
            st.rerun()
        else:
            _save(items, rating, reason)


st.title(t("evaluate.title"))
st.caption(t("evaluate.caption"))
if flash := st.session_state.pop("evaluate_flash", None):
    st.success(flash)

c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
text = c1.text_input(t("evaluate.search"), key="eval_text", placeholder=t("evaluate.search_hint"))
state_value = c2.selectbox(
    t("tasks.col.state"),
    [s.value for s in STATES],
    format_func=lambda v: enum_label(ItemState(v), lang),
    key="eval_state",
)
choices = state.load(tasks.item_choices, viewer, (ItemState(state_value),))


def _pick(col, name: str, label: str):
    opts = choices[name]
    fmt = {"": t("dash.all"), **opts}
    if name == "template":
        fmt["urgent"] = t("progress.urgent")
    return col.selectbox(label, ["", *opts], format_func=fmt.get, key=f"eval_{name}")


station = _pick(c3, "station", t("tasks.col.station"))
template = _pick(c4, "template", t("evaluate.template"))
officer = _pick(c5, "officer", t("tasks.col.officer"))
flt = (state_value, station, template, officer, text.strip())
if st.session_state.get("eval_flt") != flt:  # a new filter starts at page 1, nothing chosen
    st.session_state["eval_flt"] = flt
    st.session_state.pop("eval_confirm", None)
    st.session_state.pop("eval_table", None)
    st.session_state["eval_page"] = 1


def _page(offset: int) -> tuple[pd.DataFrame, int]:
    return state.load(
        tasks.items_page,
        viewer,
        limit=PAGE,
        offset=offset,
        states=(ItemState(state_value),),
        station_id=station or None,
        template_key=template or None,
        officer_id=officer or None,
        text=flt[-1],
    )


first_page, total = _page(0)
if total == 0:
    st.info(
        t(
            "evaluate.empty_filter",
            state=enum_label(ItemState(state_value), lang),
        )
    )
    st.stop()
pages = max(1, -(-total // PAGE))
page = 1
if pages > 1:
    page = int(
        st.columns(4)[0].number_input(t("inbox.page", pages=pages), 1, pages, key="eval_page")
    )
df = first_page if page == 1 else _page((page - 1) * PAGE)[0]
first = (page - 1) * PAGE
st.caption(
    t(
        "evaluate.count",
        state=enum_label(ItemState(state_value), lang),
        n=fmt_int(total),
        a=first + 1,
        b=first + len(df),
    )
)
table = pd.DataFrame(
    {
        t("tasks.col.id"): df["id"],
        t("tasks.col.branch"): df["branch"].map(lambda b: enum_label(Branch(b), lang)),
        t("tasks.col.title"): df["title"],
        t("tasks.col.community"): df["community_name"],
        t("tasks.col.officer"): df["officer_name"],
        t("tasks.col.fed_back_at"): pd.to_datetime(df["fed_back_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        t("tasks.col.result"): df["result"].map(lambda v: _label(FeedbackResult, v)),
        t("tasks.col.rating"): df["rating"].map(lambda v: _label(Rating, v)),
        t("tasks.col.note"): df["note"],
    }
)
if state_value == ItemState.FED_BACK.value:  # not rated yet: an empty column says nothing
    table = table.drop(columns=[t("tasks.col.rating")])
picked = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=min(420, 38 + 35 * len(table)),
    on_select="rerun",
    selection_mode="multi-row",
    key="eval_table",
)
rows = list(picked.selection.rows) if picked else []
chosen = df.iloc[rows] if rows else df.iloc[:0]
waiting = state_value == ItemState.FED_BACK.value

if confirm := st.session_state.get("eval_confirm"):
    items, rating_value, reason = confirm
    with st.container(border=True):
        st.warning(
            t(
                "evaluate.confirm",
                n=fmt_int(len(items)),
                rating=enum_label(Rating(rating_value), lang),
            )
        )
        b1, b2 = st.columns(2)
        if b1.button(t("evaluate.confirm_yes"), type="primary", key="eval_yes", width="stretch"):
            _save(items, Rating(rating_value), reason)
        if b2.button(t("evaluate.confirm_no"), key="eval_no", width="stretch"):
            st.session_state.pop("eval_confirm", None)
            st.rerun()
elif chosen.empty:
    st.info(t("evaluate.pick_hint") if waiting else t("evaluate.pick_hint_read"))
elif len(chosen) == 1:
    row = chosen.iloc[0]
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(border=True):
        _detail(row)
    if waiting:
        with right, st.container(border=True):
            _rating_form(f"eval_{int(row['id'])}", {int(row["id"]): int(row["version"])}, False)
elif waiting:
    with st.container(border=True):
        st.markdown(t("evaluate.bulk", n=fmt_int(len(chosen))))
        items = dict(zip(chosen["id"].astype(int), chosen["version"].astype(int), strict=True))
        _rating_form("eval_bulk", items, True)
else:
    st.info(t("evaluate.pick_one"))
