"""The map in a real browser: every colour mode and every layer renders (Playwright + Debian's
/usr/bin/chromium against ``streamlit run app.py`` on the small demo district, tiles off).

For each view: the map iframe is taller than 100 px, Leaflet drew its community paths, the
layer's own marks are there (heat canvas, cluster bubbles, station circles, factor circles)
and neither the page nor the map frame logged a JavaScript error. Cluster mode used to die on
``L.AwesomeMarkers is undefined`` (a plugin the offline assets leave out) with a 0 px frame.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from fangcang import maps
from tests.browser_support import chromium, leader_credentials, streamlit_server

pytestmark = pytest.mark.browser

MAP_FRAME = "iframe[title='streamlit_folium.st_folium']"


def _views() -> list[tuple[str, dict, str]]:
    """(name, URL parameters, what the layer must draw): every colour mode once, with the
    layers spread over them, and every layer (incidents both ways) at least once."""
    layers = [
        ({"layers": "incidents", "mode": "clusters"}, "clusters"),
        ({"layers": "incidents", "mode": "heat"}, "heat"),
        ({"layers": "factors"}, "factors"),
        ({"layers": "stations"}, "stations"),
        ({}, ""),
    ]
    out = []
    for i, colour in enumerate(maps.COLOUR_BY):
        params, check = layers[i % len(layers)]
        out.append((f"{colour}-{check or 'plain'}", {"colour": colour, **params}, check))
    seen = {check for _, _, check in out}
    for params, check in layers:
        if check not in seen:
            out.append((f"level-{check}", {"colour": "level", **params}, check))
    return out


VIEWS = _views()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from fangcang import db, demo

    path = tmp_path_factory.mktemp("mapbrowser") / "demo.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    demo.build(engine, scale="small")
    engine.dispose()
    with streamlit_server(url, path.parent / "streamlit.log") as base:
        yield {"base": base, "db_url": url}


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _open(pg, server, path: str) -> None:
    """Open ``path``, signing in as the demo leader if the app asks for it (a page load keeps
    the session where the sign-in cookie is supported)."""
    pg.goto(server["base"] + path, wait_until="commit")
    login = pg.get_by_label("用户名")
    nav = pg.locator("[data-testid='stSidebarNav']")
    login.or_(nav).first.wait_for(timeout=90_000)
    if login.count() and login.is_visible():
        username, password = leader_credentials(server["db_url"])
        login.fill(username)
        pg.get_by_label("密码").fill(password)
        pg.get_by_role("button", name="登录", exact=True).click()
    nav.wait_for(timeout=90_000)


def _js_errors(messages: list) -> list[str]:
    """Console errors and uncaught exceptions, without Streamlit's own probing of a deep
    link's path prefix (``/map/_stcore/health`` 404s before it finds the right base)."""
    return [
        text
        for kind, text, url in messages
        if kind in ("error", "pageerror") and "/_stcore/" not in url
    ]


@pytest.mark.parametrize("name,params,check", VIEWS, ids=[v[0] for v in VIEWS])
def test_map_renders_every_colour_mode_and_layer(browser, server, name, params, check):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    messages: list[tuple[str, str, str]] = []
    pg.on("console", lambda m: messages.append((m.type, m.text, m.location.get("url", ""))))
    pg.on("pageerror", lambda e: messages.append(("pageerror", str(e), "")))
    try:
        _open(pg, server, "/")  # the server runs app.py once before a deep link
        _open(pg, server, "/map?" + urlencode(params))
        frame = pg.frame_locator(MAP_FRAME)
        paths = frame.locator("path.leaflet-interactive")
        paths.first.wait_for(timeout=90_000)
        pg.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000
        )
        box = pg.locator(MAP_FRAME).bounding_box()
        assert box and box["height"] > 100, (name, box)
        polygons = paths.count()
        assert polygons >= 120, (name, polygons)
        if check == "clusters":
            frame.locator(".fc-cluster").first.wait_for(timeout=30_000)
        elif check == "heat":
            frame.locator("canvas.leaflet-heatmap-layer").wait_for(timeout=30_000)
        elif check == "stations":
            assert paths.count() > 120  # station circles are paths too
        elif check == "factors":
            # factor layers start hidden: switch every overlay on in the layer control
            frame.locator(".leaflet-control-layers").hover()
            boxes = frame.locator("input.leaflet-control-layers-selector:not(:checked)")
            assert boxes.count() >= 1
            while boxes.count():
                boxes.first.check(force=True)
            pg.wait_for_timeout(500)
            assert paths.count() > polygons + 10, (paths.count(), polygons)
        assert not _js_errors(messages), (name, _js_errors(messages))
    finally:
        ctx.close()


def test_a_map_click_filters_to_the_community_and_a_chip_clears_it(browser, server):
    """Cross-filtering (issue 13 item 4): clicking a community selects it, a chip shows it with
    the chosen period's comparison beside the map, and the chip's button clears it."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    try:
        _open(pg, server, "/")
        _open(pg, server, "/map?span=28d")
        frame = pg.frame_locator(MAP_FRAME)
        paths = frame.locator("path.leaflet-interactive")
        paths.first.wait_for(timeout=90_000)
        chip = pg.get_by_role("button", name=re.compile("^社区："))
        assert chip.count() == 0
        paths.nth(10).click(force=True)  # one community polygon
        chip.wait_for(timeout=60_000)
        name = chip.inner_text().split("：", 1)[1].split()[0]  # "社区：XX close" (icon)
        assert name and name in pg.locator("[data-testid='stMain']").inner_text()
        pg.get_by_text("时段对比").first.wait_for(timeout=30_000)
        assert "community=" in pg.url
        chip.click()
        chip.wait_for(state="detached", timeout=60_000)
        assert "community=" not in pg.url
    finally:
        ctx.close()
