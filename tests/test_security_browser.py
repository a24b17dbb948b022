"""Real browser (Playwright + Debian's chromium) against a running server on a small demo:

- a deep link to every page in ``ui.nav.PAGES`` on a freshly started server (legacy multipage
  mode: the page file runs without app.py) shows the sign-in prompt and no data;
- the same after app.py has run once (every address shows the sign-in form);
- a deep link followed by signing in lands on the linked page;
- a community named ``<img src=x onerror=alert(1)>`` and a task feedback text with a script tag
  show as text on every page a leader / dispatcher opens, and no script runs.

The demo is built with ``python -m fangcang demo --scale small`` (about a minute); set
``FANGCANG_BROWSER_DEMO_DB`` to an existing small demo database file to reuse it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from fangcang.models import AggIncidentDay, Community, Officer, Person
from tests.browser_support import chromium, small_demo, streamlit_server
from ui import nav

# Starts a Streamlit server and Chromium: a real-browser test like the others.
pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_NOTE = "<script>window.__xss=1;alert(2)</script>已入户核查完毕"
# Elements that carry data; none may appear for a signed-out visitor.
DATA_SELECTORS = [
    '[data-testid="stDataFrame"]',
    '[data-testid="stTable"]',
    '[data-testid="stMetric"]',
    '[data-testid="stPlotlyChart"]',
    '[data-testid="stDownloadButton"]',
    '[data-testid="stIFrame"]',
    '[data-testid="stCustomComponentV1"]',
    "iframe",
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A small demo database with an XSS community name and an XSS feedback note."""
    folder = tmp_path_factory.mktemp("browser")
    path = folder / "demo.db"
    small_demo(path)
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        # The community with the most incidents, so it appears in rankings and top lists.
        busiest = s.scalar(
            select(AggIncidentDay.community_id)
            .group_by(AggIncidentDay.community_id)
            .order_by(func.sum(AggIncidentDay.n).desc())
            .limit(1)
        )
        s.execute(update(Community).where(Community.community_id == busiest).values(name=XSS_NAME))
        from fangcang.models import TaskHistory, TaskItem  # the tasks feature's tables

        fed_back = s.scalars(select(TaskItem).where(TaskItem.state == "fed_back")).all()
        assert fed_back, "the demo has no task awaiting evaluation"
        for item in fed_back:
            item.note = XSS_NOTE
        s.execute(
            update(TaskHistory)
            .where(
                TaskHistory.item_id.in_([i.id for i in fed_back]), TaskHistory.action == "feedback"
            )
            .values(note=XSS_NOTE)
        )
        s.commit()
        names = list(s.scalars(select(Community.name))) + list(s.scalars(select(Officer.name)))
        officers = set(s.scalars(select(Officer.name)))
        clear = set()
        for p in s.execute(select(Person.name, Person.id_number, Person.phone)):
            if p.name and len(p.name) >= 3 and p.name not in officers:
                clear.add(p.name)  # residents' full names (officers' are not masked)
            clear.update(v for v in (p.id_number, p.phone) if v)
    engine.dispose()
    (folder / "names.txt").write_text("\n".join(n for n in names if n != XSS_NAME))
    (folder / "personal.txt").write_text("\n".join(sorted(clear)))
    return path


@pytest.fixture(scope="module")
def server(demo_db):
    with streamlit_server(f"sqlite:///{demo_db}", demo_db.parent / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def data_names(demo_db) -> list[str]:
    return (demo_db.parent / "names.txt").read_text().splitlines()


class Watch:
    """A page with dialogs recorded (and dismissed) so an alert() cannot block the test."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def settle(self, timeout_ms: int = 60_000) -> None:
        """Wait until the script run is over (the running indicator is gone)."""
        self.page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
        time.sleep(0.5)
        self.page.wait_for_selector(
            '[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms
        )
        time.sleep(0.7)

    def close(self) -> None:
        self.context.close()


def _assert_no_data(w: Watch, names: list[str], where: str) -> None:
    for sel in DATA_SELECTORS:
        assert w.page.locator(sel).count() == 0, f"{where}: {sel} shown while signed out"
    text = w.page.inner_text("body")
    leaked = [n for n in names if n and n in text]
    assert not leaked, f"{where}: data shown while signed out: {leaked[:5]}"


PAGE_IDS = [p.id for p in nav.PAGES]


def test_deep_links_on_a_fresh_server_show_no_data(server, browser, data_names, demo_db):
    """Runs first, before anything opens the root: each page file runs in legacy mode."""
    for page_id in PAGE_IDS:
        w = Watch(browser)
        try:
            w.page.goto(f"{server}/{page_id}")
            w.page.get_by_text("请先登录").or_(
                w.page.get_by_text("登录", exact=True)
            ).first.wait_for(timeout=90_000)
            w.settle()
            _assert_no_data(w, data_names, f"/{page_id} (fresh server)")
            # Nothing but the sign-in: no list of the pages either (legacy multipage mode).
            assert w.page.locator('[data-testid="stSidebarNav"]').count() == 0, (
                f"/{page_id} (fresh server): the page list is shown while signed out"
            )
            if page_id == "admin":
                w.page.screenshot(path=str(demo_db.parent / "deep_admin_fresh.png"))
        finally:
            w.close()


def test_deep_links_after_app_ran_show_the_sign_in_form(server, browser, data_names, demo_db):
    w = Watch(browser)
    try:
        w.page.goto(server)
        w.page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=60_000)
        w.settle()
        w.page.screenshot(path=str(demo_db.parent / "login.png"))
    finally:
        w.close()
    for page_id in PAGE_IDS:
        w = Watch(browser)
        try:
            w.page.goto(f"{server}/{page_id}")
            w.page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=60_000)
            w.settle()
            for sel in DATA_SELECTORS:
                if sel == '[data-testid="stDataFrame"]':
                    continue  # the demo-accounts table on the sign-in form (a demo database)
                assert w.page.locator(sel).count() == 0, f"/{page_id}: {sel} while signed out"
            text = w.page.inner_text("body")
            assert not [n for n in data_names if n in text], f"/{page_id}: data shown"
        finally:
            w.close()


def _sign_in(w: Watch, server: str, username: str, password: str, path: str = "") -> None:
    w.page.goto(f"{server}/{path}")
    w.page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=60_000)
    w.settle()
    w.page.get_by_label("用户名").fill(username)
    w.page.get_by_label("密码").fill(password)
    w.page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    w.page.get_by_text("退出登录").wait_for(timeout=60_000)
    w.settle()


def test_deep_link_then_sign_in_lands_on_the_page(server, browser, demo_db):
    w = Watch(browser)
    try:
        _sign_in(w, server, "admin", "demo-admin-1", path="admin")
        assert w.page.url.rstrip("/").endswith("/admin")
        w.page.get_by_role("heading", name="系统管理").wait_for(timeout=30_000)
        w.page.screenshot(path=str(demo_db.parent / "admin.png"))
    finally:
        w.close()


def _visit_all(w: Watch, server: str, role, demo_db: Path, tag: str) -> str:
    """Open every page the role may use through the sidebar (same session); return all text.

    On each page: no dialog, no injected element or script, and no resident's name, ID number
    or phone in the clear."""
    personal = (demo_db.parent / "personal.txt").read_text().splitlines()
    texts = []
    pages = nav.allowed(role)
    for spec in pages:
        href = f"{server}/{spec.id}"  # every page at its own address
        more = w.page.locator('[data-testid="stSidebarNav"]').get_by_text(
            re.compile(r"^View \d+ more$")
        )
        if more.count():  # long navigation lists are folded
            more.first.dispatch_event("click")
            time.sleep(0.3)
        # dispatch_event: presentation mode may have collapsed the sidebar.
        w.page.locator(f'[data-testid="stSidebarNavLink"][href="{href}"]').first.dispatch_event(
            "click"
        )
        w.page.wait_for_url(href, timeout=30_000)
        w.settle(timeout_ms=90_000)
        time.sleep(1.0)  # iframes (maps) load after the script run
        text = _all_text(w)
        texts.append(text)
        clear = [v for v in personal if v in text]
        assert not clear, f"{tag}: personal data in the clear on /{spec.id}: {clear[:3]}"
        assert not w.dialogs, f"{tag}: a dialog opened on /{spec.id}: {w.dialogs}"
        for frame in w.page.frames:
            assert frame.locator('img[src="x"]').count() == 0, (
                f"{tag}: an injected <img> was built on /{spec.id}"
            )
            try:
                assert not frame.evaluate("() => window.__xss === 1"), (
                    f"{tag}: an injected script ran on /{spec.id}"
                )
            except playwright_api.Error:
                pass  # a frame that navigated away meanwhile
        w.page.screenshot(path=str(demo_db.parent / f"{tag}_{spec.id}.png"))
    return "\n".join(texts)


def _all_text(w: Watch) -> str:
    # Data grids draw on a canvas; their accessible cells carry the text.
    parts = [w.page.inner_text("body"), *w.page.locator('[role="gridcell"]').all_text_contents()]
    for frame in w.page.frames[1:]:
        try:
            parts.append(frame.content())
        except playwright_api.Error:
            pass
    return "\n".join(parts)


def test_officer_pages_show_no_personal_data_in_the_clear(server, browser, demo_db):
    """The community officer's pages (inbox, visits) are the most person-level ones."""
    from fangcang.access import Role

    w = Watch(browser)
    try:
        _sign_in(w, server, "officer", "demo-officer-1")
        text = _visit_all(w, server, Role.OFFICER, demo_db, "officer")
        assert "退出登录" in text
    finally:
        w.close()


def test_xss_in_community_name_and_feedback_shows_as_text(server, browser, demo_db):
    from fangcang.access import Role

    w = Watch(browser)
    try:
        _sign_in(w, server, "leader", "demo-leader-1")
        leader_text = _visit_all(w, server, Role.LEADER, demo_db, "leader")
        assert XSS_NAME in leader_text  # e.g. the red/yellow ranking on the overview
        # Open the community itself: its name is the page's heading, as text.
        w.page.locator(
            f'[data-testid="stSidebarNavLink"][href="{server}/community"]'
        ).dispatch_event("click")
        w.page.wait_for_url(f"{server}/community", timeout=30_000)
        w.settle()
        search = w.page.get_by_label("搜索社区")
        search.fill("onerror")
        search.press("Enter")
        w.settle(timeout_ms=90_000)
        time.sleep(1.0)
        w.page.screenshot(path=str(demo_db.parent / "leader_community_xss.png"))
        assert not w.dialogs
        assert XSS_NAME in w.page.inner_text("body")
        for frame in w.page.frames:
            assert frame.locator('img[src="x"]').count() == 0
    finally:
        w.close()
    w = Watch(browser)
    try:
        _sign_in(w, server, "dispatcher", "demo-dispatcher-1")
        dispatcher_text = _visit_all(w, server, Role.DISPATCHER, demo_db, "dispatcher")
        # _visit_all opened the evaluation page (fed-back items with their notes) and the
        # officer-facing pages: no dialog, no injected element, no script ran.
        assert any(p.id == "task_evaluate" for p in nav.allowed(Role.DISPATCHER))
        assert XSS_NOTE in dispatcher_text  # the feedback shows as text
    finally:
        w.close()
