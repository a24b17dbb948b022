"""AppTest smoke tests for the bulletin (通报) and effect (成效) pages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import add_warning_run, small_district

from fangcang import bulletins
from fangcang.access import Role, Scope, Viewer
from fangcang.models import AuditEntry, Bulletin
from fangcang.timeutil import Month

ROOT = Path(__file__).resolve().parent.parent
BULLETINS = str(ROOT / "pages" / "bulletins.py")
EFFECT = str(ROOT / "pages" / "effect.py")


@pytest.fixture
def db_url(sqlite_engine, monkeypatch):
    url = sqlite_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("FANGCANG_DB_URL", url)
    return url


@pytest.fixture
def small(sqlite_engine, db_url):
    """test_effect's small district plus warning runs for 2026-05 and 2026-06."""
    from conftest import Factory

    with Session(sqlite_engine, expire_on_commit=False) as s:
        cs = small_district(s, Factory(s))
        ids = {k: c.community_id for k, c in cs.items()}
        add_warning_run(s, "2026-05", {ids["F"]: "red", ids["A"]: "yellow", ids["B"]: "blue"})
        add_warning_run(s, "2026-06", {ids["A"]: "red", ids["F"]: "yellow", ids["B"]: "green"})
        s.commit()
    return ids


def _app(path: str, role: Role, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.session_state["viewer"] = Viewer(f"u_{role.value}", role, Scope.district())
    at.session_state["lang"] = lang
    return at


def _texts(at: AppTest) -> str:
    parts = (
        [e.value for e in at.markdown]
        + [e.value for e in at.info]
        + [e.value for e in at.warning]
        + [e.value for e in at.success]
        + [e.value for e in at.error]
    )
    parts += [e.value for e in at.title] + [e.value for e in at.subheader]
    return "\n".join(str(p) for p in parts)


def test_bulletins_page_leader_reads_only(small):
    at = _app(BULLETINS, Role.LEADER).run()
    assert not at.exception
    assert "尚未发布任何通报" in _texts(at)
    assert not at.button  # leaders read; they do not issue


# Bulletins are numbered per year of issue: issued on a known day, whenever the test runs.
@time_machine.travel("2026-07-03T09:00:00+08:00", tick=True)
def test_bulletins_page_dispatcher_issues_and_searches(small, sqlite_engine):
    at = _app(BULLETINS, Role.DISPATCHER).run()
    assert not at.exception
    assert at.selectbox(key="bul_period").options == ["2026-06", "2026-05"]
    at.selectbox(key="bul_period").set_value("2026-05")
    at.button(key="bul_issue").click().run()
    assert not at.exception
    assert "2026" in _texts(at) and "第1期" in _texts(at)
    with Session(sqlite_engine) as s:
        b = s.scalars(select(Bulletin)).one()
        assert (b.period, b.number, b.issued_by) == ("2026-05", 1, "u_dispatcher")
    # History table names the red community; the preview iframe holds the frozen HTML.
    table = at.dataframe[0].value
    assert "F社区" in table.iloc[0].to_string()
    iframes = at.get("iframe")
    assert iframes and "F社区" in iframes[0].proto.srcdoc
    # The preview is the new issue in the official layout, with generated requirements.
    assert "鹿公预〔2026〕1号" in iframes[0].proto.srcdoc
    assert "新列为红色预警社区" in iframes[0].proto.srcdoc
    # Issuing the same month again asks for confirmation first.
    at.selectbox(key="bul_period").set_value("2026-05")
    at.run()
    assert "已发布过通报" in _texts(at)
    assert at.button(key="bul_issue").disabled
    # Search by community name.
    at.text_input(key="bul_search").input("不存在的社区").run()
    assert "没有符合条件的通报" in _texts(at)


def test_bulletins_page_english_labels(small, sqlite_engine):
    with Session(sqlite_engine) as s:
        bulletins.issue_bulletin(s, Month(2026, 6), "duty", issued_at=datetime(2026, 7, 3, 9))
        s.commit()
    at = _app(BULLETINS, Role.STATION, lang="en").run()
    assert not at.exception
    assert at.title[0].value == "Warning bulletins"
    assert "Communities named" in at.dataframe[0].value.columns


def test_effect_page_shows_before_after_and_yoy(small):
    at = _app(EFFECT, Role.LEADER).run()
    assert not at.exception
    at.selectbox(key="eff_as_of").set_value("2026-06")
    at.slider(key="eff_months").set_value(2)
    at.run()
    assert not at.exception
    text = _texts(at)
    assert "F社区" in text
    # The small case is within what comparison communities did: the warning is shown.
    assert any("不能认定是整治带来的" in w.value for w in at.warning)
    overview = at.dataframe[0].value
    assert "-36.0%" in overview.to_string() and "-40.0%" in overview.to_string()
    assert len(at.get("plotly_chart")) == 2
    # District YoY table present; no management form for leaders.
    assert any("110警情总量" in df.value.to_string() for df in at.dataframe)
    assert not at.get("form")


def test_effect_page_dispatcher_registers_focused_work(small, sqlite_engine):
    at = _app(EFFECT, Role.DISPATCHER).run()
    assert not at.exception
    forms = at.get("form")
    assert len(forms) == 2  # start, and end (D and F are open)
    at.text_area(key="eff_f_measures").input("巡逻加密")
    at.date_input(key="eff_f_start").set_value(date(2026, 6, 1))
    at.selectbox(key="eff_f_community").set_value(small["C"])
    at.button[0].click().run()
    assert not at.exception
    assert "已登记整治" in _texts(at)
    with Session(sqlite_engine) as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions.count("focus.start") == 3


def test_pages_refuse_officers(small):
    for path in (BULLETINS, EFFECT):
        at = _app(path, Role.OFFICER).run()
        assert not at.exception
        assert at.error and "无权" in at.error[0].value


def test_effect_page_station_sees_its_own_jurisdiction(small):
    at = AppTest.from_file(EFFECT, default_timeout=60)
    at.session_state["viewer"] = Viewer(
        "u_station", Role.STATION, Scope.of([small["A"], small["B"]], "station:ST")
    )
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert "尚无整治社区" in _texts(at)  # F and D are outside this station
    assert "辖区同比（按类别）" in _texts(at)
    yoy = at.dataframe[0].value
    # A and B only: 50 + 50 criminal in March 2026, nothing a year earlier.
    at.selectbox(key="eff_yoy_from").set_value("2026-03")
    at.selectbox(key="eff_yoy_to").set_value("2026-03")
    at.run()
    yoy = at.dataframe[0].value
    assert yoy.iloc[0]["本期"] == 100 and yoy.iloc[0]["去年同期"] == 0
    assert yoy.iloc[0]["同比"] == "去年同期为0"


def test_effect_page_station_sees_comparison_group_not_names_outside(small):
    at = AppTest.from_file(EFFECT, default_timeout=60)
    at.session_state["viewer"] = Viewer("u_station", Role.STATION, Scope.of([small["F"]], "st"))
    at.session_state["lang"] = "zh"
    at.run()
    at.selectbox(key="eff_as_of").set_value("2026-06")
    at.slider(key="eff_months").set_value(2)
    at.run()
    assert not at.exception, at.exception
    tables = " ".join(df.value.to_string() for df in at.dataframe)
    assert "辖区外对照社区" in tables
    outside = [k for k in small if k != "F"]
    assert not any(f"{k}社区" in tables for k in outside)  # no names outside the jurisdiction
