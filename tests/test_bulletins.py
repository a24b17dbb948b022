"""Bulletins: numbering per year (no gaps, no reuse, safe under concurrency), freezing,
content (summary, named communities, changes, tasks), search, masking and escaping."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support import (
    add_counts,
    add_residents,
    add_task_item,
    add_warning_run,
    bulletin_district,
)

from fangcang import bulletins
from fangcang.models import (
    AuditEntry,
    Bulletin,
    IncidentCategory,
    Officer,
    WarningResult,
)
from fangcang.timeutil import Month


@pytest.fixture
def district(session, factory):
    return bulletin_district(session, factory)


def _issue(session, period, day):
    b = bulletins.issue_bulletin(session, Month.parse(period), "duty1", issued_at=day)
    session.commit()
    return b


def test_numbering_per_year_without_gaps(session, district):
    b1 = _issue(session, "2026-01", datetime(2025, 12, 30, 9))  # still 2025 when issued
    b2 = _issue(session, "2026-01", datetime(2026, 1, 3, 9))
    b3 = _issue(session, "2026-02", datetime(2026, 2, 3, 9))
    b4 = _issue(session, "2026-03", datetime(2026, 3, 3, 9))
    assert [(b.year, b.number) for b in (b1, b2, b3, b4)] == [
        (2025, 1),
        (2026, 1),
        (2026, 2),
        (2026, 3),
    ]
    assert json.loads(b4.content_json)["number_label"] == "2026年第3期"
    assert "2026年第3期" in b4.title and "2026年第3期" in b4.html
    # No reuse: the database refuses a second 2026 No. 3.
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.add(
                Bulletin(
                    year=2026,
                    number=3,
                    period="2026-03",
                    issued_at=datetime.now(),
                    issued_by="x",
                    title="x",
                    content_json="{}",
                    html="",
                )
            )
            session.flush()
    session.rollback()
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.issue")))
    assert [e.target for e in entries] == [
        "2025年第1期",
        "2026年第1期",
        "2026年第2期",
        "2026年第3期",
    ]


def test_numbering_is_safe_under_concurrency(engine, session, district):
    """Four people issue at the same moment: four distinct, consecutive numbers."""
    errors, barrier = [], threading.Barrier(4)

    def worker(i):
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait()
                bulletins.issue_bulletin(
                    s, Month(2026, 3), f"u{i}", issued_at=datetime(2026, 4, 3, 9, i)
                )
                s.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    numbers = sorted(session.scalars(select(Bulletin.number).where(Bulletin.year == 2026)))
    assert numbers == [1, 2, 3, 4]


def test_content_names_red_and_yellow_with_reasons_actions_and_summary(session, district):
    b = _issue(session, "2026-02", datetime(2026, 3, 3, 9))
    c = bulletins.content(b)
    assert [x["name"] for x in c["red"]] == ["沿江社区"]
    assert [x["name"] for x in c["yellow"]] == ["五马社区"]
    red = c["red"][0]
    assert red["officer"] == "李警官" and red["score"] == 85.0
    assert "高发案类" in red["actions"]  # crime_rate drives its score
    assert "派出所所长挂点" in c["requirements"]["red"] and "派出所所长挂点" in b.html
    assert red["reasons"]  # the warning explanation in words
    assert c["levels"] == {"green": 1, "blue": 1, "yellow": 1, "red": 1}
    head = {r["key"]: r for r in c["summary"]["headline"]}
    # February: 15+10+4 = 29 now vs 20+10+8 = 38 last year; Jan-Feb: 58 vs 76.
    assert (head["total"]["month_now"], head["total"]["month_ly"]) == (29, 38)
    assert (head["total"]["ytd_now"], head["total"]["ytd_ly"]) == (58, 76)
    assert head["telecom_fraud"]["ytd_pct"] == pytest.approx(-50.0)
    assert head["assault"]["ytd_pct"] == pytest.approx(-25.0)
    assert "下降23.7%" in c["summary"]["text"]  # (29 - 38) / 38, as fmt_pct gives it
    assert c["changes"]["previous"] is None and "首期" in b.html
    assert c["tasks"]["available"] is False and "暂无任务数据" in b.html
    named = {(x.community_name, x.level) for x in b.communities}
    assert named == {("沿江社区", "red"), ("五马社区", "yellow")}


def test_changes_since_the_last_bulletin(session, district):
    _issue(session, "2026-02", datetime(2026, 3, 3, 9))
    b = _issue(session, "2026-03", datetime(2026, 4, 3, 9))
    ch = bulletins.content(b)["changes"]
    assert ch["previous"]["label"] == "2026年第1期"
    assert [(x["name"], x["from"], x["to"]) for x in ch["upgraded"]] == [
        ("五马社区", "yellow", "red")
    ]
    # 南汇 blue -> green is not a warning matter and is left out.
    assert [(x["name"], x["from"], x["to"]) for x in ch["downgraded"]] == [
        ("沿江社区", "red", "yellow")
    ]
    rows = {x.community_name: (x.level, x.change) for x in b.communities}
    assert rows == {"五马社区": ("red", "upgraded"), "沿江社区": ("yellow", "downgraded")}
    assert bulletins.content(b)["tasks"]["warned_before"] == 2


def test_reissue_compares_with_the_previous_month_not_itself(session, district):
    _issue(session, "2026-02", datetime(2026, 3, 3, 9))
    _issue(session, "2026-03", datetime(2026, 4, 3, 9))
    again = _issue(session, "2026-03", datetime(2026, 4, 5, 9))
    ch = bulletins.content(again)["changes"]
    # against 2026-02 (第1期), not the first 2026-03 issue (第2期, identical levels)
    assert ch["previous"] == {"label": "2026年第1期", "period": "2026-02"}
    assert [x["name"] for x in ch["upgraded"]] == ["五马社区"]
    assert [x["name"] for x in ch["downgraded"]] == ["沿江社区"]


def test_frozen_when_issued(session, district):
    b = _issue(session, "2026-02", datetime(2026, 3, 3, 9))
    before_json, before_html, before_png = b.content_json, b.html, b.map_png
    # New data arrives and the warning run is changed and re-run.
    add_counts(session, district["sf"], date(2026, 2, 10), IncidentCategory.CRIMINAL, n=500)
    session.execute(update(WarningResult).values(score=1.0, level="green"))
    add_warning_run(session, "2026-02", {district["sf"]: "red"}, version=2)
    session.execute(update(Officer).values(name="改名"))
    session.commit()
    session.expire_all()
    again = session.get(Bulletin, b.id)
    assert (again.content_json, again.html, again.map_png) == (before_json, before_html, before_png)
    assert "沿江社区" in again.html and "改名" not in again.html
    # The export draws from the frozen content too.

    assert bulletins.to_html(again, embed=False) == before_html
    # A new bulletin for the same period takes the new run, with the next number.
    b2 = _issue(session, "2026-02", datetime(2026, 3, 4, 9))
    assert b2.number == 2 and [x["name"] for x in bulletins.content(b2)["red"]] == ["山福社区"]


def test_no_run_is_a_clear_error_and_changes_nothing(session, district):
    with pytest.raises(ValueError, match="no stored warning run for 2025-06"):
        bulletins.issue_bulletin(session, Month(2025, 6), "duty1")
    with pytest.raises(ValueError, match="is not a run for 2026-02"):
        bulletins.issue_bulletin(session, Month(2026, 2), "duty1", run_id=1)
    session.rollback()
    assert session.scalar(select(Bulletin.id)) is None


def test_search_history(session, district):
    _issue(session, "2026-01", datetime(2026, 2, 3, 9))
    _issue(session, "2026-03", datetime(2026, 4, 3, 9))
    all_ = bulletins.search_bulletins(session)
    assert [b.label for b in all_] == ["2026年第2期", "2026年第1期"]
    assert all_[0].red == ["五马社区"] and all_[0].yellow == ["沿江社区"]
    assert [b.period for b in bulletins.search_bulletins(session, "五马")] == ["2026-03", "2026-01"]
    assert [b.label for b in bulletins.search_bulletins(session, "第1期")] == ["2026年第1期"]
    assert [b.period for b in bulletins.search_bulletins(session, "2026-03")] == ["2026-03"]
    assert bulletins.search_bulletins(session, "不存在") == []
    assert bulletins.search_bulletins(session, year=2025) == []
    found = bulletins.search_bulletins(session, community_id=district["nh"])
    assert found == []  # 南汇 was never named
    assert len(bulletins.bulletins_for_period(session, Month(2026, 3))) == 1


def test_no_personal_data_and_html_escaped(session, factory, district):
    evil = factory.community(name="<script>alert(1)</script>社区")
    add_residents(session, evil, 100)
    add_warning_run(session, "2026-04", {evil.community_id: "red", district["yj"]: "yellow"})
    session.commit()
    b = _issue(session, "2026-04", datetime(2026, 5, 3, 9))
    for text in (b.content_json, b.html):
        for secret in ("陈小华", "330302199001011234", "13800138000", "13912345678"):
            assert secret not in text
    assert "<script>alert(1)</script>" not in b.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;社区" in b.html
    assert "李警官" in b.html  # officers' names are not residents' personal data
    named = [x.community_name for x in b.communities]
    assert "<script>alert(1)</script>社区" in named


def test_task_completion_of_communities_warned_before(session, district):
    """Section six: tasks (issue 5) dispatched in the period to communities named earlier."""
    from fangcang.models.tasks import ItemState

    def item(key, state, day):
        add_task_item(session, district[key], state, datetime(2026, 3, day, 9))

    for state in (
        ItemState.FED_BACK,
        ItemState.EVALUATED,
        ItemState.FED_BACK,
        ItemState.DISPATCHED,
    ):
        item("yj", state, 5)
    item("wm", ItemState.EVALUATED, 6)
    item("wm", ItemState.EVALUATED, 7)
    item("nh", ItemState.DISPATCHED, 8)  # never warned: not listed
    session.commit()
    first = _issue(session, "2026-02", datetime(2026, 3, 3, 9))
    assert bulletins.content(first)["tasks"]["warned_before"] == 0  # nobody warned before
    b = _issue(session, "2026-03", datetime(2026, 4, 3, 9))
    tasks = bulletins.content(b)["tasks"]
    assert tasks["available"] and tasks["warned_before"] == 2
    rows = [
        (r["name"], r["items"], r["done"], r["completion"], r["overdue"]) for r in tasks["rows"]
    ]
    assert rows == [("沿江社区", 4, 3, 0.75, 1), ("五马社区", 2, 2, 1.0, 0)]
    assert "75.0%" in b.html and "暂无任务数据" not in b.html
    # The specific requirements follow each community's situation: 沿江 came down from red
    # and has one open item, overdue; 五马 is newly red with every item done.
    c = bulletins.content(b)
    yj = next(x for x in c["yellow"] if x["name"] == "沿江社区")
    wm = next(x for x in c["red"] if x["name"] == "五马社区")
    assert (yj["open_tasks"], yj["overdue_tasks"], wm["open_tasks"]) == (1, 1, 0)
    assert yj["requirements"][0].startswith("由红色降为黄色")
    assert "尚有1项任务未完成（其中1项已逾期）：4月17日前" in yj["requirements"][-1]
    assert (
        wm["requirements"][0].startswith("新列为红色预警社区")
        and "4月10日前" in wm["requirements"][0]
    )
    assert not any("任务未完成" in line for line in wm["requirements"])
    assert "尚有1项任务未完成" in b.html
    assert c["requirements"]["yellow"].startswith(
        "本期黄色预警社区1个，新列入1个，尚有未完成任务1项。"
    )
    assert c["requirements"]["red"].startswith("本期红色预警社区1个，新列入1个。")  # none open
