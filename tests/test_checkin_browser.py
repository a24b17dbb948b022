"""Real browser: the phone check-in button sends the browser's position and the check-in is
recorded (the JS bridge in ui/geolocate.py cannot be exercised by AppTest)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangcang import auth
from fangcang.access import Role
from fangcang.models import PatrolCheckin, PatrolPlan, PatrolPoint
from tests.browser_support import chromium, streamlit_server
from tests.conftest import Factory


@pytest.mark.browser
def test_phone_checkin_sends_the_position(sqlite_engine, tmp_path):
    with Session(sqlite_engine) as s:
        f = Factory(s)
        officer = f.officer("OA")
        f.community("CA1", "沿江社区", officer=officer, bbox=(120.60, 28.00, 120.61, 28.01))
        s.add_all(
            [
                PatrolPoint(
                    point_id="PP1",
                    name="江边夜宵街",
                    community_id="CA1",
                    lon=120.605,
                    lat=28.005,
                    radius_m=100,
                    source="",
                    updated_at=datetime(2026, 1, 1),
                ),
                PatrolPlan(
                    plan_id="PL1",
                    point_id="PP1",
                    unit="护村队",
                    days="1234567",
                    start_time="00:00",
                    end_time="23:59",
                    starts_on=date(2026, 1, 1),
                    ends_on=None,
                    source="",
                    updated_at=datetime(2026, 1, 1),
                ),
            ]
        )
        auth.create_user(
            s,
            username="off",
            password="off-pass-123",
            role=Role.OFFICER,
            actor="test",
            officer_id="OA",
        )
        s.commit()
    url = sqlite_engine.url.render_as_string(False)
    with streamlit_server(url, tmp_path / "st.log") as base, chromium() as browser:
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844},
            geolocation={"longitude": 120.605, "latitude": 28.0051, "accuracy": 8},
            permissions=["geolocation"],
        )
        pg = ctx.new_page()
        pg.goto(base + "/")
        pg.get_by_label("用户名").fill("off")
        pg.get_by_label("密码").fill("off-pass-123")
        pg.get_by_role("button", name="登录", exact=True).click()
        nav = pg.locator("[data-testid='stSidebarNav']")
        nav.wait_for(state="attached", timeout=60_000)
        if not nav.is_visible():
            pg.locator("[data-testid='stExpandSidebarButton']").first.click()
        nav.get_by_text("巡查打卡", exact=True).click()
        pg.locator("h1:has-text('巡查打卡')").wait_for(timeout=60_000)
        collapse = pg.locator("[data-testid='stSidebarCollapseButton']")
        if collapse.count() and collapse.first.is_visible():
            collapse.first.click()  # on a phone the open sidebar covers the page
        pg.locator("button.fc-geo").first.click(timeout=60_000)
        pg.get_by_text("距点位").first.wait_for(timeout=60_000)
    with Session(sqlite_engine) as s:
        rows = list(s.scalars(select(PatrolCheckin)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.point_id, row.unit, row.officer_id, row.source) == ("PP1", "护村队", "OA", "phone")
    assert row.distance_m == pytest.approx(11.1, abs=1.0)
    assert row.accuracy_m == 8
    if row.checked_at.strftime("%H:%M") != "23:59":  # the plan's window ends at 23:59:00
        assert row.status.value == "valid"
