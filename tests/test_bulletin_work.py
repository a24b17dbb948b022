"""Work done in red and yellow communities (the presentation's work slide)."""

from __future__ import annotations

import math
from datetime import datetime

from support import add_task_item, add_warning_run, small_district

from fangcang.access import Scope
from fangcang.bulletins import work
from fangcang.models.tasks import ItemState
from fangcang.timeutil import Month

NOW = datetime(2026, 7, 1, 9)


def test_tasks_and_verdicts_of_warned_communities(session, factory):
    cs = small_district(session, factory)
    ids = {k: c.community_id for k, c in cs.items()}
    add_warning_run(session, "2026-06", {ids["A"]: "red", ids["F"]: "yellow", ids["B"]: "blue"})
    add_task_item(
        session, ids["A"], ItemState.EVALUATED, datetime(2026, 4, 2, 9)
    )  # first window month
    add_task_item(session, ids["A"], ItemState.FED_BACK, datetime(2026, 6, 5, 9))
    add_task_item(
        session, ids["A"], ItemState.DISPATCHED, datetime(2026, 6, 9, 9)
    )  # overdue at NOW
    add_task_item(
        session, ids["A"], ItemState.DISPATCHED, datetime(2026, 3, 20, 9)
    )  # before window
    add_task_item(session, ids["B"], ItemState.DISPATCHED, datetime(2026, 6, 9, 9))  # B is blue
    session.commit()

    w = work.warned_work(session, Scope.district(), Month(2026, 6), now=NOW)
    assert w.has_run and (w.first, w.last) == (Month(2026, 4), Month(2026, 6))
    assert list(w.rows["name"]) == ["A社区", "F社区"]  # red first
    a, f = w.rows.to_dict("records")
    assert (a["level"], a["items"], a["done"], a["overdue"]) == ("red", 3, 2, 1)
    assert a["completion"] == 2 / 3 and a["verdict"] is None  # no focused work in A
    assert (f["level"], f["items"], f["done"]) == ("yellow", 0, 0) and math.isnan(f["completion"])
    assert f["verdict"] in (
        "likely_effect",
        "within_comparison",
        "worse_than_comparison",
        "no_comparison",
    )
    assert (w.items, w.done, w.overdue, w.count("red"), w.count("yellow")) == (3, 2, 1, 1, 1)
    assert w.completion == 2 / 3

    # The viewer's scope applies: a station with B and F sees F only.
    scoped = work.warned_work(session, Scope.of([ids["B"], ids["F"]]), Month(2026, 6), now=NOW)
    assert list(scoped.rows["name"]) == ["F社区"] and scoped.completion is None


def test_no_run_and_no_warned_community(session, factory):
    cs = small_district(session, factory)
    none = work.warned_work(session, Scope.district(), Month(2026, 6), now=NOW)
    assert not none.has_run and none.rows.empty and none.completion is None
    add_warning_run(session, "2026-06", {cs["A"].community_id: "blue"})
    session.commit()
    calm = work.warned_work(session, Scope.district(), Month(2026, 6), now=NOW)
    assert calm.has_run and calm.rows.empty and calm.items == 0
