"""干得怎么样: completion, on-time and rating rates by officer, community, station, sub-district,
branch or task for any months; the overdue list; the monthly scorecard (downloadable)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import tasks
from fangcang.i18n import enum_label, fmt_int
from fangcang.models.tasks import Branch, ItemState
from fangcang.timeutil import Month
from ui import charts, export, guard, state
from ui.state import t

viewer = guard.page("task_progress")
lang = state.lang()
GROUPS = ["station", "officer", "community", "sub_district", "branch", "template"]
TOP = 20
NUM = st.column_config.NumberColumn(format="localized")  # thousands separators


def _pct(x) -> str:
    return "—" if pd.isna(x) else f"{100 * x:.1f}%"


def _label(by: str, key: str, label: str) -> str:
    if by == "branch":
        return enum_label(Branch(key), lang)
    if by == "template" and key == "urgent":
        return t("progress.urgent")
    return str(label)


COUNTS = {
    t(f"tasks.col.{k}") for k in ("items", "completed", "returned", "overdue", "hours_overdue")
}
st.title(t("progress.title"))
# Overdue counts, rates and the month list as of this hour (one time for every figure).
now_hour = state.as_of("hour")
months = [str(m) for m in state.load(tasks.task_months, now=now_hour)]
c1, c2, c3 = st.columns([1, 1, 3])
last = c2.selectbox(t("progress.last"), months, index=0, key="progress_last")
first = c1.selectbox(
    t("progress.first"), months, index=min(2, len(months) - 1), key="progress_first"
)
if Month.parse(first) > Month.parse(last):
    first, last = last, first
by = (
    c3.segmented_control(
        t("progress.by"),
        GROUPS,
        default="station",
        key="progress_by",
        format_func=lambda g: t(f"progress.by.{g}"),
    )
    or "station"
)
window = first if first == last else t("progress.window", first=first, last=last)
st.caption(t("progress.caption", first=first, last=last))

start, end = Month.parse(first).start, Month.parse(last).end
total = state.load(tasks.rates, viewer, start, end, by="total", now=now_hour)
if total.empty:
    st.info(t("progress.empty"))
    st.stop()
tot = total.iloc[0]
overdue = state.load(tasks.overdue_items, viewer, now=now_hour, start=start, end=end)
m1, m2, m3, m4, m5 = st.columns([2, 1, 1, 1, 1])
m1.metric(t("progress.items_in", window=window), fmt_int(tot["items"]))
m2.metric(t("tasks.col.completion_rate"), _pct(tot["completion_rate"]), help=window)
m3.metric(t("tasks.col.on_time_rate"), _pct(tot["on_time_rate"]), help=window)
m4.metric(t("tasks.col.qualified_rate"), _pct(tot["qualified_rate"]), help=window)
m5.metric(
    t("progress.overdue_now"),
    fmt_int(len(overdue)),
    help=t("progress.overdue_help", window=window, time=f"{now_hour:%Y-%m-%d %H:%M}"),
)

df = state.load(tasks.rates, viewer, start, end, by=by, now=now_hour)
df = df.assign(label=[_label(by, k, lbl) for k, lbl in zip(df["key"], df["label"], strict=True)])
left, right = st.columns([3, 2], gap="large")
with left:
    table = pd.DataFrame(
        {
            t(f"progress.by.{by}"): df["label"],
            t("tasks.col.items"): df["items"],
            t("tasks.col.completion_rate"): df["completion_rate"].map(_pct),
            t("tasks.col.on_time_rate"): df["on_time_rate"].map(_pct),
            t("tasks.col.excellent_rate"): df["excellent_rate"].map(_pct),
            t("tasks.col.qualified_rate"): df["qualified_rate"].map(_pct),
            t("tasks.col.returned"): df["returned"],
            t("tasks.col.overdue"): df["overdue"],
        }
    )
    # Fit short tables (a few stations) instead of leaving a block of empty rows.
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(table)),
        column_config={c: NUM for c in table.columns if c in COUNTS},
    )
with right:
    top = df.head(TOP).iloc[::-1]
    fig = charts.completion_bars(
        list(top["label"]),
        list(top["completion_rate"]),
        list(top["on_time_rate"]),
        t("progress.chart", n=min(TOP, len(df))),
        t("tasks.col.completion_rate"),
        t("tasks.col.on_time_rate"),
    )
    charts.show(fig, key="progress_chart")
    st.caption(window)

st.subheader(t("progress.overdue_in", window=window, n=fmt_int(len(overdue))), anchor=False)
if overdue.empty:
    st.info(t("progress.no_overdue_in", window=window))
else:
    st.dataframe(
        pd.DataFrame(
            {
                t("tasks.col.id"): overdue["id"],
                t("tasks.col.urgent"): overdue["urgent"].map({True: "⚠", False: ""}),
                t("tasks.col.branch"): overdue["branch"].map(lambda b: enum_label(Branch(b), lang)),
                t("tasks.col.title"): overdue["title"],
                t("tasks.col.community"): overdue["community_name"],
                t("tasks.col.officer"): overdue["officer_name"],
                t("tasks.col.state"): overdue["state"].map(
                    lambda v: enum_label(ItemState(v), lang)
                ),
                t("tasks.col.deadline"): pd.to_datetime(overdue["deadline"]).dt.strftime(
                    "%Y-%m-%d %H:%M"
                ),
                t("tasks.col.hours_overdue"): overdue["hours_overdue"],
            }
        ),
        hide_index=True,
        width="stretch",
        height=300,
        column_config={
            t("tasks.col.id"): st.column_config.NumberColumn(format="%d"),
            t("tasks.col.hours_overdue"): NUM,
        },
    )

st.subheader(t("progress.scorecard"), anchor=False)
month = st.selectbox(t("progress.scorecard_month"), months, index=0, key="progress_card_month")
card = state.load(tasks.monthly_scorecard, viewer, Month.parse(month), now=now_hour)
if card.empty:
    st.info(t("progress.empty"))
else:
    shown = pd.DataFrame(
        {
            t("tasks.col.month"): card["month"],
            t("tasks.col.officer"): card["officer_name"],
            t("tasks.col.station"): card["station_name"],
            t("tasks.col.items"): card["items"],
            t("tasks.col.completed"): card["completed"],
            t("tasks.col.completion_rate"): card["completion_rate"].map(_pct),
            t("tasks.col.on_time_rate"): card["on_time_rate"].map(_pct),
            t("tasks.col.excellent_rate"): card["excellent_rate"].map(_pct),
            t("tasks.col.qualified_rate"): card["qualified_rate"].map(_pct),
            t("tasks.col.returned"): card["returned"],
            t("tasks.col.overdue"): card["overdue"],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=320,
        column_config={c: NUM for c in shown.columns if c in COUNTS},
    )
    export.download_buttons(
        shown,
        viewer=viewer,
        name=f"task_scorecard_{month}",
        target="task_scorecard",
        key="scorecard",
    )
