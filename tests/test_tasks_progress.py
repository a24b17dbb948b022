"""Progress (干得怎么样): rates computed by hand on a small case, overdue list, scorecard,
completion by community, the community's tasks and the urgent board."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from fangcang.access import Scope, ScopeError
from fangcang.models.tasks import Cycle, TaskItem
from fangcang.tasks import (
    accept,
    community_tasks,
    completion_by_community,
    completion_totals,
    dispatch_cycle,
    evaluate,
    feedback,
    monthly_scorecard,
    overdue_items,
    rates,
    urgent_board,
    urgent_instruction,
)
from fangcang.timeutil import Month
from tests.tasks_support import DISPATCHER, NOW, OFFICE, admitted, build_district

START, END = datetime(2026, 11, 1), datetime(2026, 12, 1)
LATER = datetime(2026, 11, 21, 9, 0)  # "now" for the figures below


@pytest.fixture
def case(session, factory):
    """Five items (deadline of the weekly ones: 2026-11-18 23:59:59):

    C01 (O1) fed back on time, excellent      C02 (O1) fed back late, qualified
    C03 (O2) accepted, never fed back          C04 (O3) fed back on time, unqualified -> returned
    urgent C01 (O1) fed back on time, not rated
    """
    d = build_district(factory)
    tpl = admitted(session, deadline_days=3)
    dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW, now=NOW)
    item = {it.community_id: it for it in session.scalars(select(TaskItem))}
    o1, o2, o3 = (d.officer_viewer(i) for i in range(3))
    feedback(session, item["C01"].id, o1, result="done", at=NOW + timedelta(hours=1))
    evaluate(session, item["C01"].id, OFFICE, rating="excellent", at=NOW + timedelta(hours=2))
    feedback(session, item["C02"].id, o1, result="done", at=datetime(2026, 11, 20, 8))
    evaluate(session, item["C02"].id, OFFICE, rating="qualified")
    accept(session, item["C03"].id, o2, at=NOW + timedelta(hours=1))
    feedback(session, item["C04"].id, o3, result="done", at=NOW + timedelta(hours=3))
    evaluate(session, item["C04"].id, OFFICE, rating="unqualified", reason="记录不全")
    u = urgent_instruction(
        session, DISPATCHER, text="紧急：上门劝阻电信诈骗", community="C01", minutes=30, now=NOW
    )
    feedback(session, u.id, o1, result="done", at=NOW + timedelta(minutes=20))
    session.flush()
    return d, tpl, item, u


def test_total_rates_by_hand(session, case):
    r = rates(session, Scope.district(), START, END, by="total", now=LATER).iloc[0]
    assert (r["items"], r["completed"], r["on_time"], r["rated"]) == (5, 3, 2, 3)
    assert r["completion_rate"] == pytest.approx(3 / 5)
    assert r["on_time_rate"] == pytest.approx(2 / 3)
    assert r["excellent_rate"] == pytest.approx(1 / 3)
    assert r["qualified_rate"] == pytest.approx(2 / 3)
    assert r["unqualified_rate"] == pytest.approx(1 / 3)
    assert (r["returned"], r["overdue"]) == (1, 2)


def test_rates_by_officer_station_template_and_branch(session, case):
    _, tpl, _, _ = case
    by = rates(session, Scope.district(), START, END, by="officer", now=LATER).set_index("key")
    assert by.loc["O1", "label"] == "王警官"
    assert (by.loc["O1", "items"], by.loc["O1", "completed"], by.loc["O1", "overdue"]) == (3, 3, 0)
    assert by.loc["O1", "on_time_rate"] == pytest.approx(2 / 3)
    assert by.loc["O1", "qualified_rate"] == pytest.approx(1.0)
    assert by.loc["O2", "completion_rate"] == 0 and math.isnan(by.loc["O2", "on_time_rate"])
    assert math.isnan(by.loc["O2", "qualified_rate"])  # nothing rated: no rate, not 0
    assert (by.loc["O3", "unqualified_rate"], by.loc["O3", "returned"]) == (1.0, 1)
    st = rates(session, Scope.district(), START, END, by="station", now=LATER).set_index("key")
    assert (st.loc["ST1", "items"], st.loc["ST1", "completed"], st.loc["ST2", "items"]) == (4, 3, 1)
    tp = rates(session, Scope.district(), START, END, by="template", now=LATER).set_index("key")
    assert (tp.loc[str(tpl.id), "items"], tp.loc["urgent", "items"]) == (4, 1)
    br = rates(session, Scope.district(), START, END, by="branch", now=LATER).set_index("key")
    assert br.loc["population", "items"] == 4 and br.loc["public_order", "items"] == 1
    sd = rates(session, Scope.district(), START, END, by="sub_district", now=LATER).set_index("key")
    assert sd.loc["SD1", "completed"] == 3 and sd.loc["SD2", "completed"] == 0
    cm = rates(session, Scope.district(), START, END, by="community", now=LATER)
    assert cm["key"].tolist()[0] == "C01"  # most items first


def test_rates_respect_period_scope_and_viewer(session, case):
    d, *_ = case
    assert rates(session, Scope.district(), END, datetime(2027, 1, 1), now=LATER).empty
    station = rates(session, d.station_viewer(1), START, END, by="total", now=LATER)
    assert station["items"].iloc[0] == 1
    officer = rates(session, d.officer_viewer(1), START, END, by="officer", now=LATER)
    assert officer["key"].tolist() == ["O2"]
    with pytest.raises(ValueError, match="by: 'weather'"):
        rates(session, Scope.district(), START, END, by="weather")
    with pytest.raises(ValueError, match="must be after start"):
        rates(session, Scope.district(), END, START)


def test_overdue_list(session, case):
    _, _, item, _ = case
    df = overdue_items(session, Scope.district(), now=LATER)
    assert df["id"].tolist() == [item["C03"].id, item["C04"].id]
    assert df["state"].tolist() == ["accepted", "returned"]
    assert df["hours_overdue"].iloc[0] == pytest.approx(57.0, abs=0.1)
    assert overdue_items(session, Scope.district(), now=NOW).empty
    # The list follows the chosen period and agrees with the rates' overdue count.
    in_nov = overdue_items(session, Scope.district(), now=LATER, start=START, end=END)
    total = rates(session, Scope.district(), START, END, by="total", now=LATER).iloc[0]
    assert len(in_nov) == total["overdue"] == 2
    october = overdue_items(
        session, Scope.district(), now=LATER, start=datetime(2026, 10, 1), end=START
    )
    assert october.empty  # nothing dispatched in October


def test_monthly_scorecard(session, case):
    card = monthly_scorecard(session, Scope.district(), Month(2026, 11), now=LATER)
    assert card["officer_id"].tolist() == ["O1", "O2", "O3"]
    assert card["month"].unique().tolist() == ["2026-11"]
    assert card.set_index("officer_id").loc["O1", "completion_rate"] == pytest.approx(1.0)
    assert monthly_scorecard(session, Scope.district(), Month(2026, 10)).empty


def test_completion_by_community_and_community_tasks(session, case, factory):
    d, *_ = case
    extra = factory.community(
        "C05",
        "空社区",
        sub_district=d.sub_districts[0],
        station=d.stations[1],
        officer=d.officers[2],
        bbox=(120.70, 28.0, 120.71, 28.01),
    )
    df = completion_by_community(session, START, END, Scope.district(), now=LATER).set_index(
        "community_id"
    )
    assert df.loc["C01", ["items", "completed"]].tolist() == [2, 2]
    assert df.loc["C01", "completion_rate"] == pytest.approx(1.0)
    assert df.loc["C03", "completion_rate"] == 0 and df.loc["C03", "overdue"] == 1
    assert df.loc[extra.community_id, "items"] == 0
    assert math.isnan(df.loc[extra.community_id, "completion_rate"])
    scoped = completion_by_community(session, START, END, Scope.of(["C04"]), now=LATER)
    assert scoped["community_id"].tolist() == ["C04"]
    tasks = community_tasks(session, "C01", Scope.district(), now=LATER)
    assert tasks["urgent"].tolist() == [True, False]  # newest first (same time: higher id)
    with pytest.raises(ScopeError):
        community_tasks(session, "C01", Scope.of(["C04"]))


def test_urgent_board(session, case):
    d, *_ = case
    assert urgent_board(session, Scope.district(), now=LATER).empty  # the urgent one is done
    a = urgent_instruction(
        session, DISPATCHER, text="紧急：寻找走失老人", community="C03", minutes=60, now=LATER
    )
    b = urgent_instruction(
        session,
        DISPATCHER,
        text="紧急：核查可疑包裹",
        lon=120.635,
        lat=28.005,
        minutes=15,
        now=LATER,
    )
    accept(session, a.id, d.officer_viewer(1), at=LATER + timedelta(minutes=3))
    board = urgent_board(session, Scope.district(), now=LATER + timedelta(minutes=20)).set_index(
        "id"
    )
    assert board.loc[a.id, "acknowledged"] and not board.loc[b.id, "acknowledged"]
    assert board.loc[a.id, "minutes_since"] == 20
    assert board.loc[b.id, "overdue"] and not board.loc[a.id, "overdue"]
    assert urgent_board(session, d.officer_viewer(2), now=LATER)["id"].tolist() == [b.id]


def test_urgent_items_leave_the_live_board_when_handled_or_old(session, case):
    from fangcang.tasks import urgent_history

    d, *_ = case
    done_before = set(urgent_history(session, Scope.district(), now=LATER)["id"])
    fresh = urgent_instruction(
        session, DISPATCHER, text="紧急：寻找走失老人", community="C03", now=LATER
    )
    old = urgent_instruction(
        session, DISPATCHER, text="紧急：核查可疑包裹", community="C03", minutes=30, now=LATER
    )
    handled = urgent_instruction(
        session, DISPATCHER, text="紧急：劝阻电诈受害人", community="C03", now=LATER
    )
    feedback(session, handled.id, d.officer_viewer(1), result="done", at=LATER)
    later = LATER + timedelta(hours=25)  # `old` is now more than 24 h past its deadline
    fresh.deadline = later + timedelta(minutes=5)
    session.flush()
    board = urgent_board(session, Scope.district(), now=later)
    assert board["id"].tolist() == [fresh.id]
    hist = set(urgent_history(session, Scope.district(), now=later)["id"]) - done_before
    assert hist == {old.id, handled.id}
    # The history has a window: items dispatched before it are not listed.
    assert urgent_history(session, Scope.district(), now=later + timedelta(days=31)).empty
    with pytest.raises(ValueError):
        urgent_history(session, Scope.district(), days=0)


def test_completion_totals_sum_completion_by_community(session, case):
    for scope in (Scope.district(), Scope.of(["C01", "C03"]), Scope.of(["C04"])):
        per = completion_by_community(session, START, END, scope, now=LATER)
        got = completion_totals(session, START, END, scope, now=LATER)
        assert got == {
            "items": int(per["items"].sum()),
            "completed": int(per["completed"].sum()),
            "overdue": int(per["overdue"].sum()),
        }
    assert got["items"] > 0
    none = completion_totals(session, datetime(2026, 9, 1), datetime(2026, 10, 1), now=LATER)
    assert none == {"items": 0, "completed": 0, "overdue": 0}
