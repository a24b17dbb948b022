"""AppTest: the task pages (准入, 一键派单, 我的任务, 评价, 干得怎么样) on a small district."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang.access import Role, Viewer
from fangcang.models.tasks import (
    FeedbackResult,
    ItemState,
    Rating,
    TaskItem,
    TaskTemplate,
    TemplateStatus,
)
from fangcang.tasks import dispatch_cycle, feedback, urgent_instruction
from fangcang.timeutil import now_local
from tests.conftest import Factory
from tests.tasks_support import DISPATCHER, admitted, build_district

ROOT = Path(__file__).resolve().parent.parent
PAGE = {
    n: str(ROOT / "pages" / f"{n}.py")
    for n in ("task_admission", "task_dispatch", "my_tasks", "task_evaluate", "task_progress")
}
TIMEOUT = 30


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine, expire_on_commit=False) as s:
        d = build_district(Factory(s))
        admitted(s, title="每周走访出租房屋", deadline_days=None)
        s.commit()
    return sqlite_engine, d


def _app(page: str, viewer: Viewer | None) -> AppTest:
    at = AppTest.from_file(PAGE[page], default_timeout=TIMEOUT)
    if viewer is not None:
        at.session_state["viewer"] = viewer
    return at.run()


def _texts(at) -> str:
    parts = [e.value for e in (*at.success, *at.error, *at.info, *at.warning)]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _count(engine, **where) -> int:
    with Session(engine) as s:
        q = select(func.count()).select_from(TaskItem)
        for k, v in where.items():
            q = q.where(getattr(TaskItem, k) == v)
        return s.scalar(q)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_pages_need_sign_in_and_the_right_role(app_db):
    _, d = app_db
    at = _app("task_dispatch", None)
    assert at.warning and not at.dataframe
    at = _app("task_dispatch", d.officer_viewer(0))
    assert at.error and "task_dispatch" not in _texts(at) and not at.button
    at = _app("my_tasks", DISPATCHER)
    assert at.error


def test_dispatch_page_one_click_twice(app_db):
    engine, _ = app_db
    at = _app("task_dispatch", DISPATCHER)
    assert not at.exception
    at.button(key="dispatch_go").click().run()
    assert not at.exception
    assert "新派 4 件" in at.success[0].value
    assert _count(engine) == 4
    at.button(key="dispatch_go").click().run()
    assert "新派 0 件，已存在 4 件" in at.success[0].value
    assert _count(engine) == 4


def test_urgent_instruction_form_and_live_board(app_db):
    engine, _ = app_db
    at = _app("task_dispatch", DISPATCHER)
    assert "当前没有未完成的紧急指令" in _texts(at)
    # A point outside the district: a clear error, nothing created.
    at.number_input(key="urgent_lon").set_value(121.5)
    at.text_area(key="urgent_text").input("反诈中心预警：居民正在被骗")
    _button(at, "发送紧急指令").click().run()
    assert "outside the district" in at.error[0].value
    assert _count(engine, urgent=True) == 0
    # A point inside C03 reaches O2.
    at.number_input(key="urgent_lon").set_value(120.625)
    at.number_input(key="urgent_lat").set_value(28.005)
    _button(at, "发送紧急指令").click().run()
    assert not at.error and "O2" in at.success[0].value
    # By community name.
    at.radio(key="urgent_where").set_value("community").run()
    at.selectbox(key="urgent_community").set_value("C04")
    at.text_area(key="urgent_text").input("走失老人：协助寻找")
    _button(at, "发送紧急指令").click().run()
    assert _count(engine, urgent=True) == 2
    board = next(d.value for d in at.dataframe if "已接收" in d.value.columns)
    assert sorted(board["社区"]) == ["仰义社区", "松台社区"]
    assert set(board["已接收"]) == {"—"}


def test_officer_inbox_accept_and_feedback(app_db):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        s.commit()
    officer = d.officer_viewer(0)
    at = _app("my_tasks", officer)
    assert not at.exception
    assert "待办 2" in at.tabs[0].label
    accepts = [b for b in at.button if b.label == "接收任务"]
    assert len(accepts) == 2
    accepts[0].click().run()
    assert not at.exception
    assert _count(engine, state=ItemState.ACCEPTED) == 1
    # Feedback on the first card: partial without a note is refused with a clear message.
    at.radio[0].set_value(FeedbackResult.PARTIAL)
    _button(at, "提交反馈").click().run()
    assert at.error and "note" in at.error[0].value
    at.text_area[0].input("一户无人，已约定复查")
    at.number_input[0].set_value(7)
    _button(at, "提交反馈").click().run()
    assert not at.exception and not at.error
    assert _count(engine, state=ItemState.FED_BACK) == 1
    assert "待办 1" in at.tabs[0].label
    # Another officer sees none of these.
    other = _app("my_tasks", d.officer_viewer(2))
    assert "待办 1" in other.tabs[0].label  # only C04's item


def test_inbox_feedback_needs_a_chosen_result(app_db):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        s.commit()
    at = _app("my_tasks", d.officer_viewer(0))
    assert at.radio[0].value is None  # no result preselected
    # A note alone is not a result: refused, nothing recorded.
    at.text_area[0].input("已走访")
    _button(at, "提交反馈").click().run()
    assert not at.exception
    assert at.error and "请选择完成情况" in at.error[0].value
    assert _count(engine, state=ItemState.FED_BACK) == 0
    # Feedback without pressing 接收任务 first records the acceptance at feedback time.
    at.radio[0].set_value(FeedbackResult.DONE)
    _button(at, "提交反馈").click().run()
    assert not at.exception and not at.error
    with Session(engine) as s:
        item = s.scalar(select(TaskItem).where(TaskItem.state == ItemState.FED_BACK))
        assert item.result is FeedbackResult.DONE and item.note == "已走访"
        assert item.accepted_at == item.fed_back_at


def test_inbox_shows_a_conflict_clearly(app_db):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        s.commit()
    at = _app("my_tasks", d.officer_viewer(1))
    # Someone changes the item behind the page's back (e.g. a mobile-terminal import).
    with Session(engine) as s:
        s.execute(
            update(TaskItem)
            .where(TaskItem.community_id == "C03")
            .values(version=TaskItem.version + 1)
        )
        s.commit()
    _button(at, "接收任务").click().run()
    assert "刚被他人修改" in at.error[0].value
    assert _count(engine, state=ItemState.ACCEPTED) == 0


def test_evaluate_page_returns_unqualified_work(app_db):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        item = s.scalars(select(TaskItem).where(TaskItem.community_id == "C04")).one()
        feedback(
            s, item.id, d.officer_viewer(2), result="done", note="<b>全部完成</b>", count_done=9
        )
        s.commit()
        iid = item.id
    at = _app("task_evaluate", d.station_viewer(1))
    assert not at.exception
    assert at.dataframe[0].value["情况说明"].tolist() == ["<b>全部完成</b>"]  # shown as text
    _tick(at, [0])
    assert at.radio[0].value is None  # no rating preselected
    _button(at, "提交评价").click().run()
    assert "请先选择评价等级" in at.error[0].value
    at.radio[0].set_value(Rating.UNQUALIFIED)
    _button(at, "提交评价").click().run()
    assert "reason" in at.error[0].value
    at.text_area[0].input("未附走访记录")
    _button(at, "提交评价").click().run()
    assert not at.exception
    with Session(engine) as s:
        assert s.get(TaskItem, iid).state is ItemState.RETURNED
    assert "已评价 1 件：不合格" in at.success[0].value
    assert "没有符合筛选的“已反馈”任务（0 件）" in _texts(at)
    # A station outside sees nothing to evaluate.
    assert "（0 件）" in _texts(_app("task_evaluate", d.station_viewer(0)))


def _tick(at, rows):
    at.session_state["eval_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_evaluate_page_filters_pages_and_rates_in_bulk_after_confirming(app_db):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        for i in range(55):
            urgent_instruction(s, DISPATCHER, text=f"核查第{i}号线索", community="C04")
        s.commit()
        for item in s.scalars(select(TaskItem).where(TaskItem.community_id == "C04")):
            feedback(s, item.id, d.officer_viewer(2), result="done")
        s.commit()
    at = _app("task_evaluate", DISPATCHER)
    assert not at.exception, at.exception
    assert "已反馈：共 56 件，显示第 1–50 件" in _texts(at)  # counted and paged, never cut
    at.number_input(key="eval_page").set_value(2).run()
    assert "显示第 51–56 件" in _texts(at)
    at.selectbox(key="eval_template").set_value("urgent").run()
    assert "已反馈：共 55 件" in _texts(at)
    at.text_input(key="eval_text").input("第7号").run()
    assert "已反馈：共 1 件" in _texts(at)
    at.text_input(key="eval_text").input("").run()
    _tick(at, [0, 1, 2])
    at.radio[0].set_value(Rating.QUALIFIED)
    _button(at, "评价所选 3 件").click().run()
    assert "确认将所选 3 件评为“合格”？" in _texts(at)
    assert _count(engine, state=ItemState.EVALUATED) == 0  # nothing before the confirmation
    _button(at, "确认评价").click().run()
    assert not at.exception, at.exception
    assert _count(engine, state=ItemState.EVALUATED) == 3
    assert "已评价 3 件：合格" in _texts(at)


def test_progress_page(app_db):
    engine, d = app_db
    now = now_local()
    with Session(engine) as s:
        dispatch_cycle(
            s, "weekly", DISPATCHER, on=now - timedelta(days=14), now=now - timedelta(days=14)
        )
        dispatch_cycle(s, "weekly", DISPATCHER, on=now, now=now)
        item = s.scalars(select(TaskItem).where(TaskItem.community_id == "C01")).first()
        feedback(s, item.id, d.officer_viewer(0), result="done", at=now - timedelta(days=13))
        s.commit()
    at = _app("task_progress", Viewer(username="lead", role=Role.LEADER))
    assert not at.exception
    metrics = {m.label.split("（")[0]: m.value for m in at.metric}
    assert any(m.label.startswith("派发任务（") for m in at.metric)  # the window is stated
    assert metrics["派发任务"] == "8"
    assert metrics["完成率"] == "12.5%"
    assert metrics["当前逾期"] == "3"  # last cycle's three open items are past their deadline
    assert sorted(at.dataframe[0].value["派出所"]) == ["五马派出所", "仰义派出所"]
    at.segmented_control(key="progress_by").set_value("officer").run()
    assert sorted(at.dataframe[0].value["民警"]) == ["李警官", "王警官", "赵警官"]
    assert len(at.get("download_button")) == 2  # the scorecard as CSV and Excel
    # An officer sees only their own figures.
    mine = _app("task_progress", d.officer_viewer(1))
    assert {m.label.split("（")[0]: m.value for m in mine.metric}["派发任务"] == "2"


def test_admission_propose_then_review(app_db):
    engine, _ = app_db
    branch = Viewer(username="jinhu", role=Role.BRANCH, branch="population")
    at = _app("task_admission", branch)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["提出任务", "任务清单"]
    at.text_input[0].input("出租房屋走访")
    at.text_area[0].input("逐户走访辖区出租房屋并核对租住人员。")
    _button(at, "提交准入申请").click().run()
    assert not at.exception and at.success
    assert "相似" in _texts(at)  # looks like the admitted "每周走访出租房屋"
    with Session(engine) as s:
        tpl = s.scalars(
            select(TaskTemplate).where(TaskTemplate.status == TemplateStatus.PROPOSED)
        ).one()
    office = _app("task_admission", DISPATCHER)
    assert [t.label for t in office.tabs] == ["准入审核", "任务清单"]
    frames = [df.value for df in office.dataframe]
    assert "每周走访出租房屋" in frames[0]["任务"].tolist()  # the duplicate
    assert "准入后" in frames[1].columns  # the workload projection
    _button(office, "退回").click().run()
    assert "reason" in office.error[0].value
    _button(office, "准入").click().run()
    assert not office.exception
    with Session(engine) as s:
        assert s.get(TaskTemplate, tpl.id).status is TemplateStatus.ADMITTED


@pytest.mark.parametrize(
    "page, who",
    [
        ("task_admission", "office"),
        ("task_dispatch", "office"),
        ("my_tasks", "officer"),
        ("task_evaluate", "office"),
        ("task_progress", "office"),
    ],
)
def test_pages_in_english(app_db, page, who):
    engine, d = app_db
    with Session(engine) as s:
        dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
        item = s.scalars(select(TaskItem).where(TaskItem.community_id == "C01")).one()
        feedback(s, item.id, d.officer_viewer(0), result="done")
        s.commit()
    at = AppTest.from_file(PAGE[page], default_timeout=TIMEOUT)
    at.session_state["viewer"] = DISPATCHER if who == "office" else d.officer_viewer(0)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.title[0].value in {
        "Task admission",
        "One-click dispatch",
        "My tasks",
        "Evaluate tasks",
        "How is the work going",
    }


def test_inbox_shows_urgent_text_once_states_the_photo_limit_and_pages_history(app_db):
    engine, d = app_db
    from fangcang.tasks import urgent_instruction

    officer = d.officer_viewer(0)
    text = "反诈中心预警：沿江社区居民陈某正在被冒充公检法诈骗，请立即上门劝阻并回报情况"
    with Session(engine) as s:
        urgent_instruction(s, DISPATCHER, text=text, community="C01")
        dispatch_cycle(s, "weekly", DISPATCHER)
        s.commit()
        # 23 finished items: more than one page of history.
        mine = (TaskItem.urgent.is_(False), TaskItem.officer_id == "O1")
        for item in s.scalars(select(TaskItem).where(*mine)):
            feedback(s, item.id, officer, result=FeedbackResult.DONE)
        for i in range(21):
            urgent_instruction(s, DISPATCHER, text=f"核查第{i}号线索", community="C02")
        s.commit()
        for item in s.scalars(select(TaskItem).where(TaskItem.title.like("核查第%"))):
            feedback(s, item.id, officer, result=FeedbackResult.DONE)
        s.commit()
    at = _app("my_tasks", officer)
    assert not at.exception, at.exception
    shown = _texts(at) + "\n".join(str(x.value) for x in at.text)
    assert shown.count("反诈中心预警") == 1  # the urgent text once per card
    up = at.get("file_uploader")[0]
    assert "10 MB" in up.proto.label and up.proto.max_upload_size_mb == 10
    assert at.number_input(key=next(k for k in _keys(at) if k.startswith("cnt_"))).value is None
    # History: compact lines, paged, with the count (no silent cap at 100 or 20).
    assert "已办 23" in [tab.label for tab in at.tabs]
    assert "第 1–20 件，共 23 件" in _texts(at)
    at.number_input(key="inbox_done_page").set_value(2).run()
    assert "第 21–23 件，共 23 件" in _texts(at)
    assert not at.dataframe  # nothing that scrolls sideways on a phone


def _keys(at) -> list[str]:
    return [w.key for w in at.number_input if w.key]


def test_dispatch_to_a_filter_from_the_url_with_preview(app_db):
    engine, _ = app_db
    from tests.tasks_support import store_run

    with Session(engine) as s:
        store_run(
            s,
            "2026-10",
            {"C01": "yellow", "C02": "yellow", "C03": "red", "C04": "red"},
            scores={"C01": 50.0, "C02": 55.0, "C03": 70.0, "C04": 80.0},
        )
        s.commit()
    at = AppTest.from_file(PAGE["task_dispatch"], default_timeout=TIMEOUT)
    at.session_state["viewer"] = DISPATCHER
    at.query_params["period"] = "2026-10"
    at.query_params["level"] = "red"
    at.query_params["street"] = "仰义街道"
    at.run()
    assert not at.exception, at.exception
    assert "**2** 个社区符合筛选（仰义街道，2026-10）" in _texts(at)
    pv = next(d.value for d in at.dataframe if "将收到" in d.value.columns)
    assert list(pv["社区"]) == ["仰义社区", "松台社区"]  # highest score first
    assert list(pv["社区民警"] if "社区民警" in pv.columns else pv.iloc[:, 4]) == [
        "赵警官",
        "李警官",
    ]
    assert set(pv["将收到"]) == {"新派给社区民警"}
    _button(at, "向这些社区派发任务（2 件）").click().run()
    assert not at.exception, at.exception
    assert "新派 2 件" in _texts(at)
    with Session(engine) as s:
        got = sorted(s.execute(select(TaskItem.community_id)).scalars())
    assert got == ["C03", "C04"]  # exactly the filtered communities
    # The same filter again: the preview says they already have it; the button is off.
    pv = next(d.value for d in at.dataframe if "将收到" in d.value.columns)
    assert set(pv["将收到"]) == {"本期已派，不重复"}
    assert _button(at, "向这些社区派发任务（0 件）").disabled
    # An urgent instruction to the same selection, in one action.
    at.segmented_control(key="sel_what").set_value("urgent").run()
    at.text_area(key="sel_text").input("台风预警：立即排查危旧房屋")
    _button(at, "向这些社区发送紧急指令（2 条）").click().run()
    assert _count(engine, urgent=True) == 2


def test_an_empty_filter_says_what_it_is(app_db):
    engine, _ = app_db
    from tests.tasks_support import store_run

    with Session(engine) as s:
        store_run(s, "2026-10", {"C01": "yellow", "C02": "yellow", "C03": "red", "C04": "red"})
        s.commit()
    at = AppTest.from_file(PAGE["task_dispatch"], default_timeout=TIMEOUT)
    at.session_state["viewer"] = DISPATCHER
    at.query_params["period"] = "2026-10"
    at.query_params["level"] = "red"
    at.query_params["street"] = "五马街道"
    at.run()
    assert "2026-10 五马街道：0 个红色社区" in _texts(at)
    assert "没有数据" not in _texts(at)


def test_inbox_and_progress_follow_the_clock_without_a_write(app_db):
    """The pages' cache keys on the data version, which only a write changes: the overdue marks,
    time left and overdue counts must still move on as time passes."""
    import time_machine

    engine, d = app_db
    with time_machine.travel("2026-11-16T09:00:00+08:00", tick=True) as clock:
        with Session(engine) as s:
            dispatch_cycle(s, "weekly", DISPATCHER, on=now_local())
            s.commit()
        inbox = _app("my_tasks", d.officer_viewer(0))
        progress = _app("task_progress", Viewer(username="lead", role=Role.LEADER))
        assert "已逾期" not in _texts(inbox)
        assert [m.value for m in progress.metric if m.label == "当前逾期"] == ["0"]
        clock.shift(timedelta(days=30))  # past every deadline; nothing written since
        for at in (inbox, progress):
            at.session_state["last_active"] = now_local()  # the user was there all along
            at.run()
        assert not inbox.exception and not progress.exception
        assert "已逾期" in _texts(inbox) and "更新于 2026-12-16 09:00" in _texts(inbox)
        assert [m.value for m in progress.metric if m.label == "当前逾期"] != ["0"]
