"""The first-start progress page in a real browser (ui.firststart): what only a browser shows.

A shared link opened while the demo is still being built keeps its address and shows the
progress, never Streamlit's English "Page not found" dialog (which also dropped the address,
so the link no longer opened its page after sign-in).
"""

from __future__ import annotations

import pytest

from tests.browser_support import chromium, streamlit_server

pytestmark = pytest.mark.browser

PROGRESS = "首次启动：正在生成鹿城区演示数据…"


def test_a_page_link_opened_during_the_build_keeps_its_address(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_DEMO_SCALE", "small")  # the server's build child inherits it
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with streamlit_server(url, tmp_path / "server.log") as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            first = context.new_page()
            first.goto(base)  # the first visit starts the build
            first.get_by_role("heading", name=PROGRESS).wait_for(timeout=60_000)
            for path in ("warning", "map"):
                page = context.new_page()
                page.goto(f"{base}/{path}")
                page.get_by_role("heading", name=PROGRESS).wait_for(timeout=60_000)
                page.wait_for_timeout(1_500)  # the dialog, when shown, comes with the first run
                assert page.get_by_text("Page not found").count() == 0, path
                assert page.url.split("?")[0].rstrip("/").endswith("/" + path), page.url
        finally:
            context.close()
