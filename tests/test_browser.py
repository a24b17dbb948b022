"""Real-browser tests: Playwright + Debian's /usr/bin/chromium against a running
``streamlit run app.py`` on a free port with the small demo district (tiles off).

Checks: every dashboard page renders; the map iframe is taller than 100 px and shows 120
community polygons in the warning colours; no request goes to any host but the server;
clicking a community opens its details; deep links restore a view.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser_support import chromium, leader_credentials, streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
MAP_FRAME = "iframe[title='streamlit_folium.st_folium']"
LEVEL_RGB = {
    "rgb(215, 38, 61)",  # red   #d7263d
    "rgb(242, 183, 5)",  # yellow #f2b705
    "rgb(47, 111, 208)",  # blue  #2f6fd0
    "rgb(46, 158, 68)",  # green #2e9e44
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    from fangcang import db, demo

    path = tmp_path_factory.mktemp("browser") / "demo.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    demo.build(engine, scale="small")
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(demo_url, tmp_path_factory):
    """A fresh server (so deep links hit a server that has not run app.py yet)."""
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with streamlit_server(demo_url, log) as base:
        yield {"base": base, "db_url": demo_url}


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = ctx.new_page()
    pg.requests_seen = []
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    yield pg
    ctx.close()


def sign_in(pg, server, path: str = "/") -> None:
    """Open ``path`` and sign in as the demo leader through whatever ui/login.py offers
    (kept in one place so a new sign-in page only changes this function)."""
    pg.goto(server["base"] + path)
    username, password = leader_credentials(server["db_url"])
    pg.get_by_label("用户名").fill(username)
    pg.get_by_label("密码").fill(password)
    pg.get_by_role("button", name="登录", exact=True).click()
    pg.wait_for_selector("[data-testid='stSidebarNav']", timeout=30_000)


def wait_idle(pg, timeout: float = 30_000) -> None:
    """Wait until the script has finished (no running indicator) and the page has a title."""
    pg.wait_for_selector("h1", timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )


def open_in_app(pg, server, path: str) -> None:
    """Navigate inside the signed-in session (a full page load would start a new session)."""
    pg.evaluate(
        "p => { window.history.pushState({}, '', p); window.dispatchEvent(new PopStateEvent('popstate')); }",
        path,
    )


def go(pg, server, label: str) -> None:
    pg.locator("[data-testid='stSidebarNav']").get_by_text(label, exact=True).click()
    wait_idle(pg)


def map_polygons(pg):
    frame = pg.frame_locator(MAP_FRAME)
    paths = frame.locator("path.leaflet-interactive")
    paths.first.wait_for(timeout=90_000)  # a cold map page on a loaded machine
    return frame, paths


def test_fresh_server_deep_link_is_guarded(browser, server):
    """Runs first (module-scoped server): a deep link to a server that has not run app.py yet
    executes the page file alone; its guard must show nothing but the sign-in prompt."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.goto(server["base"] + "/trends")
    pg.wait_for_selector("text=请先登录", timeout=30_000)
    assert not pg.locator("h1:has-text('趋势分析')").count()
    ctx.close()


def test_pages_render_and_stay_on_the_server(page, server):
    sign_in(page, server)
    for label in ("总览", "一图", "预警", "社区", "趋势"):
        go(page, server, label)
        assert page.locator("h1").first.inner_text().strip()
        assert not page.locator("[data-testid='stException']").count(), label
    hosts = {urlparse(u).netloc for u in page.requests_seen if u.startswith("http")}
    assert hosts == {urlparse(server["base"]).netloc}, hosts


def test_map_polygons_in_level_colours_and_click(page, server):
    sign_in(page, server)
    go(page, server, "一图")
    frame, paths = map_polygons(page)
    box = page.locator(MAP_FRAME).bounding_box()
    assert box and box["height"] > 100
    fills = frame.locator("path.leaflet-interactive").evaluate_all(
        "els => els.map(e => getComputedStyle(e).fill || e.getAttribute('fill'))"
    )
    coloured = [
        f
        for f in fills
        if f in LEVEL_RGB or f.lower() in {"#d7263d", "#f2b705", "#2f6fd0", "#2e9e44"}
    ]
    assert len(coloured) == 120, (len(coloured), len(fills))
    assert len({f for f in coloured}) == 4
    # click one community: its details open beside the map. Under load the first click can
    # land before the map component listens for clicks (seen once in a run beside the other
    # suite; passed alone): click again, three times at most.
    for attempt in range(3):
        paths.nth(5).click(force=True)
        try:
            page.wait_for_selector("text=打开社区详情", timeout=15_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    hosts = {urlparse(u).netloc for u in page.requests_seen if u.startswith("http")}
    assert hosts == {urlparse(server["base"]).netloc}, hosts


def test_deep_link_restores_view(page, server):
    """A link to "red communities in 五马街道, September" opens that view after sign-in."""
    target = "/warning?level=red&period=2026-09&street=" + quote("五马街道")
    # the server must have run app.py once (see test_fresh_server_deep_link_is_guarded)
    page.goto(server["base"] + "/")
    page.get_by_label("用户名").wait_for(timeout=30_000)
    sign_in(page, server, target)
    wait_idle(page)
    assert "level=red" in page.url and "period=2026-09" in page.url
    js = (
        "() => [...document.querySelectorAll(\"[data-testid='stSidebar'] [data-testid='stSelectbox'] input\")]"
        ".map(e => e.value)"
    )
    page.wait_for_function(
        js.replace(".map(e => e.value)", ".some(e => e.value === '五马街道')"), timeout=30_000
    )
    values = page.evaluate(js)
    assert "五马街道" in values and "2026-09" in values
    assert page.locator("h1").first.inner_text().strip() == "靶向预警"
    caption = page.get_by_text(re.compile(r"2026-09 · 共 \d+ 个社区")).first.inner_text()
    assert caption.startswith("2026-09")


def test_map_click_then_community_page(page, server):
    sign_in(page, server)
    go(page, server, "一图")
    frame, paths = map_polygons(page)
    wait_idle(page)  # the map drawn and the script done: a click now reaches the page
    link = page.get_by_text("打开社区详情")
    for attempt in range(2):  # a user clicks again when a click on a cold map is not taken
        paths.nth(0).click(force=True)
        try:
            link.wait_for(timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    link.click()
    page.wait_for_selector("h2", timeout=30_000)
    wait_idle(page)
    assert "community=" in page.url
    assert page.locator("h1").first.inner_text().strip() == "社区详情"
