"""Real browser: the presentation moves with the keyboard and a presenter's clicker (which sends
PageUp / PageDown), through the inline key script (``ui.present_keys``) under the app's CSP.

Builds a small demo (about a minute) unless ``FANGCANG_BROWSER_DEMO_DB`` names one to copy.
"""

from __future__ import annotations

import pytest

from tests.browser_support import chromium, leader_credentials, small_demo, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("present_browser")
    url = f"sqlite:///{small_demo(folder / 'demo.db')}"
    with streamlit_server(url, folder / "server.log") as base:
        yield base, leader_credentials(url)


def test_arrow_keys_and_page_keys_move_the_slides(server):
    base, (username, password) = server
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        page.goto(f"{base}/?lang=zh")
        page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=60_000)
        page.get_by_label("用户名", exact=True).fill(username)
        page.get_by_label("密码", exact=True).fill(password)
        page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
        page.get_by_text("退出登录").wait_for(timeout=60_000)
        # The sign-in cookie (serve.py) is set by a request after the form: wait for it, then
        # open the presentation by its address.
        for _ in range(80):
            if any(c["name"] == "fangcang_session" for c in context.cookies()):
                break
            page.wait_for_timeout(250)
        page.goto(f"{base}/present")
        step = page.locator("text=/第 \\d \\/ 5 页/")
        page.get_by_text("第 1 / 5 页").wait_for(timeout=120_000)  # a cold first page
        page.locator(".fc-metric").first.wait_for(timeout=60_000)
        # The key listener is installed by a hidden frame drawn after the slide (its srcdoc runs
        # once the frame loads): a key pressed before that reaches no listener (on a loaded CI
        # machine the first press came too early and was lost).
        page.wait_for_function(
            "() => !!window.__fangcangPresentKeys"
            " && !!document.getElementById('fangcang-present-keys')",
            timeout=60_000,
        )
        for key, expected, title in (
            ("ArrowRight", 2, "一图：社区预警"),
            ("PageDown", 3, "红色预警社区"),
            ("PageDown", 4, "红黄社区工作情况"),
            ("PageUp", 3, "红色预警社区"),
            ("ArrowLeft", 2, "一图：社区预警"),
        ):
            page.keyboard.press(key)
            page.get_by_text(f"第 {expected} / 5 页").wait_for(timeout=30_000)
            page.locator(".fc-title", has_text=title).wait_for(timeout=30_000)
        assert step.count() == 1
        # Keys typed into the month picker do not move the slides.
        page.locator(".st-key-present_period input").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(1500)
        assert page.get_by_text("第 2 / 5 页").count() == 1
        # A clicker pressed fast (during the reruns): every press counts, none is lost.
        page.locator(".fc-title").first.click()
        for _ in range(3):
            page.keyboard.press("PageDown")
            page.wait_for_timeout(60)
        page.get_by_text("第 5 / 5 页").wait_for(timeout=60_000)
        for _ in range(3):
            page.keyboard.press("PageUp")
            page.wait_for_timeout(60)
        page.get_by_text("第 2 / 5 页").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert page.get_by_text("第 2 / 5 页").count() == 1
