"""Real browser: a dispatcher dispatches this week's cycle with one click, and the officer of
沿江社区 then sees the new item in their inbox (我的任务) on a phone-sized screen.

Playwright drives Debian's /usr/bin/chromium against ``streamlit run app.py`` on a free port,
on a small database built here (four communities, one admitted weekly template, two accounts).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.browser_support import chromium, streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = {"duty": ("duty-officer-Pass1", "dispatcher"), "wang": ("wang-officer-Pass1", "officer")}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    from fangcang import auth, db
    from tests.conftest import Factory
    from tests.tasks_support import admitted, build_district

    path = tmp_path_factory.mktemp("tasks_browser") / "tasks.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        build_district(Factory(s))
        admitted(
            s,
            title="每周走访出租房屋",
            instructions="逐户走访辖区出租房屋，核对租住人员信息并登记。",
        )
        auth.create_user(
            s, username="duty", password=ACCOUNTS["duty"][0], role="dispatcher", actor="test"
        )
        auth.create_user(
            s,
            username="wang",
            password=ACCOUNTS["wang"][0],
            role="officer",
            officer_id="O1",
            actor="test",
        )
        s.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(db_url, tmp_path_factory):
    with streamlit_server(db_url, tmp_path_factory.mktemp("log") / "streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _sign_in(pg, base: str, username: str) -> None:
    pg.goto(base + "/")
    pg.get_by_label("用户名").fill(username)
    pg.get_by_label("密码").fill(ACCOUNTS[username][0])
    pg.get_by_role("button", name="登录", exact=True).click()
    pg.wait_for_selector("[data-testid='stSidebarNav']", state="attached", timeout=30_000)


def _open(pg, label: str) -> None:
    nav = pg.locator("[data-testid='stSidebarNav']")
    if not nav.is_visible():  # a phone-sized screen collapses the sidebar
        pg.locator(
            "[data-testid='stExpandSidebarButton'], [data-testid='stSidebarCollapsedControl'] button"
        ).first.click()
    link = nav.get_by_text(label, exact=True)
    more = nav.get_by_text("View", exact=False)  # a long navigation shows "View N more"
    if not link.is_visible() and more.count():
        more.first.click()
    link.click()
    pg.wait_for_selector(f"h1:has-text('{label}')", timeout=30_000)


def test_dispatch_a_cycle_and_see_it_in_the_officers_inbox(browser, server, db_url):
    from fangcang import db
    from fangcang.models.tasks import TaskItem

    desk = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = desk.new_page()
    _sign_in(pg, server, "duty")
    _open(pg, "一键派单")
    pg.get_by_role("tab", name="周期派单").click()  # the cycle is the second tab
    pg.get_by_role("button", name="一键派单").click()
    # the dispatch result (the selection tab's preview says "将新派 4 件" too, hidden)
    pg.get_by_text(re.compile(r"^周期 .*：新派 4 件")).wait_for(timeout=30_000)
    engine = db.make_engine(db_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(TaskItem)) == 4
        # Another system sends an urgent instruction; the live board shows it without a reload.
        from fangcang.tasks import urgent_instruction

        urgent_instruction(s, "cli:anti-fraud", text="反诈预警：居民正在被骗", community="C03")
        s.commit()
    engine.dispose()
    started = time.monotonic()
    # st.dataframe draws on a canvas; its accessible grid cells carry the text.
    pg.get_by_text("反诈预警：居民正在被骗").first.wait_for(state="attached", timeout=10_000)
    assert time.monotonic() - started < 10
    desk.close()

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    pg = phone.new_page()
    _sign_in(pg, server, "wang")
    _open(pg, "我的任务")
    cards = pg.get_by_text("每周走访出租房屋", exact=True)
    cards.first.wait_for(timeout=30_000)
    assert cards.count() == 2  # O1 is responsible for C01 and C02
    pg.get_by_text("沿江社区", exact=False).first.wait_for()
    accept = pg.get_by_role("button", name="接收任务").first
    box = accept.bounding_box()
    assert box["width"] > 300 and box["height"] >= 38  # a big, full-width button on a phone
    phone.close()
