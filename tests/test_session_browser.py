"""Real browser: sign-in that survives reloads and new tabs, ends in every tab at once, and no
request leaving the server when names carry markdown payloads.

- sign in, reload (still signed in, no form), open a second tab on a deep link with
  ``?lang=en`` (opens directly, in English), sign out in the first tab: the second tab's next
  click shows the sign-in form, and a reload there too;
- the session cookie is HttpOnly and SameSite=Strict (page scripts cannot read it);
- a community officer lands on 我的任务;
- names that carry ``![x](http://127.0.0.1:PORT/leak)`` and link syntax (community, officer,
  account display name): on every page the officer and the dispatcher open, the browser makes
  no request to that port and the little server listening there gets none.

Builds a small demo (about a minute) unless ``FANGCANG_BROWSER_DEMO_DB`` names one to copy.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from fangcang.models import Community, Officer, User
from tests.browser_support import chromium, free_port, small_demo, streamlit_server

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"


class _Leak(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Leak.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def leak_server():
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Leak)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield port
    httpd.shutdown()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, leak_server) -> Path:
    folder = tmp_path_factory.mktemp("session_browser")
    path = folder / "demo.db"
    small_demo(path)
    leak = f"http://127.0.0.1:{leak_server}"
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        officer_id = s.scalar(select(User.officer_id).where(User.username == "officer"))
        community = s.scalars(
            select(Community).where(Community.officer_id == officer_id).limit(1)
        ).first()
        s.execute(
            update(Community)
            .where(Community.community_id == community.community_id)
            .values(name=f"沿江![c]({leak}/leak-community)[点我]({leak}/link)")
        )
        s.execute(
            update(Officer)
            .where(Officer.officer_id == officer_id)
            .values(name=f"王![o]({leak}/leak-officer)")
        )
        s.execute(
            update(User)
            .where(User.username.in_(["officer", "dispatcher"]))
            .values(display_name=f"![u]({leak}/leak-user)")
        )
        s.commit()
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def server(demo_db):
    with streamlit_server(f"sqlite:///{demo_db}", demo_db.parent / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _settle(page, timeout_ms=90_000):
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    time.sleep(0.5)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)
    time.sleep(0.7)


def _sign_in(page, server, username, password, path=""):
    page.goto(f"{server}/{path}")
    page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=90_000)
    _settle(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    page.get_by_text("退出登录").wait_for(timeout=90_000)
    _settle(page)


def _session_cookie(context, timeout_s=60):
    for _ in range(int(timeout_s * 4)):
        found = [c for c in context.cookies() if c["name"] == "fangcang_session"]
        if found:
            return found[0]
        time.sleep(0.25)
    return None


def _signed_out(page, timeout_ms=90_000):
    page.get_by_label("用户名").or_(page.get_by_label("Username")).first.wait_for(
        timeout=timeout_ms
    )
    _settle(page)
    assert page.get_by_role("button", name="退出登录").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 0


def test_sign_in_survives_reload_and_new_tab_and_ends_everywhere(server, browser):
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        first = context.new_page()
        first.goto(server)
        first.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=90_000)
        _settle(first)
        first.screenshot(path=str(SHOTS / "security_sign_in.png"))
        _sign_in(first, server, "dispatcher", "demo-dispatcher-1")
        cookie = _session_cookie(context)
        assert cookie is not None, "no session cookie after signing in"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "fangcang_session" not in first.evaluate("() => document.cookie")

        first.reload()
        first.get_by_text("退出登录").wait_for(timeout=90_000)
        _settle(first)
        assert first.get_by_label("用户名").count() == 0  # no sign-in form
        first.screenshot(path=str(SHOTS / "security_reload_signed_in.png"))

        second = context.new_page()
        second.goto(f"{server}/warning?lang=en")
        second.get_by_text("Sign out").wait_for(timeout=90_000)
        _settle(second)
        assert second.url.split("?")[0].rstrip("/").endswith("/warning")
        assert second.get_by_label("Username").count() == 0  # no sign-in form

        first.get_by_text("退出登录").click()
        _signed_out(first)
        # The second tab's next interaction finds its session ended.
        second.locator('[data-testid="stSidebarNavLink"]').first.dispatch_event("click")
        _signed_out(second)
        assert second.get_by_text("ended in another tab").count() == 1
        second.reload()
        _signed_out(second)
        assert _session_cookie(context, timeout_s=1) is None  # deleted by the sign-out
    finally:
        context.close()


def test_officer_lands_on_my_tasks(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        _sign_in(page, server, "officer", "demo-officer-1")
        assert page.url.rstrip("/") == server or page.url.rstrip("/").endswith("/my_tasks")
        page.get_by_role("heading", name="我的任务").first.wait_for(timeout=60_000)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("username", "password", "path", "heading"),
    [
        ("dispatcher", "demo-dispatcher-1", "overview?span=7d", "总览"),
        ("officer", "demo-officer-1", "my_tasks", "我的任务"),
    ],
)
def test_landing_page_has_its_own_address(server, browser, username, password, path, heading):
    """A shared /overview or /my_tasks link opens that page (the landing page is also at "/"),
    never Streamlit's English "Page not found" dialog."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        _sign_in(page, server, username, password, path)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.url.split("?")[0].rstrip("/").endswith("/" + path.split("?")[0])
        page.goto(server)  # "/" opens the landing page, at its own address
        page.wait_for_url(f"**/{path.split('?')[0]}", timeout=60_000)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        _settle(page)
        assert page.get_by_text("Page not found").count() == 0
    finally:
        context.close()


def test_link_to_a_page_of_another_role_says_so_in_chinese(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        _sign_in(page, server, "officer", "demo-officer-1", "admin")
        page.get_by_text("您的角色无权访问此页面。").wait_for(timeout=60_000)
        assert page.get_by_text("Page not found").count() == 0
        # Hidden from the officer's page list all the same.
        links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        assert not any("数据" == text.strip() for text in links)
    finally:
        context.close()


@pytest.mark.parametrize(
    "who", [("officer", "demo-officer-1"), ("dispatcher", "demo-dispatcher-1")]
)
def test_markdown_payloads_in_names_fetch_nothing(server, browser, leak_server, who):
    from ui import nav

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    current = ["sign-in"]
    context.on("request", lambda r: requests.append(f"{current[0]}: {r.url}"))
    _Leak.hits.clear()
    try:
        page = context.new_page()
        _sign_in(page, server, *who)
        role = {"officer": "officer", "dispatcher": "dispatcher"}[who[0]]
        pages = nav.allowed(role)
        for spec in pages:
            if spec.id in ("present",):
                continue  # the full-screen slide deck: its own test
            href = f"{server}/{spec.id}"  # every page at its own address
            current[0] = spec.id
            page.locator(f'[data-testid="stSidebarNavLink"][href="{href}"]').first.dispatch_event(
                "click"
            )
            page.wait_for_url(href, timeout=30_000)
            _settle(page)
            time.sleep(1.0)
        if who[0] == "officer":
            page.screenshot(path=str(SHOTS / "security_markdown_officer.png"))
    finally:
        context.close()
    leaked = [u for u in requests if f":{leak_server}" in u]
    assert leaked == [] and _Leak.hits == [], (leaked, _Leak.hits)
