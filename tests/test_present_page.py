"""AppTest of the presentation page (汇报模式): slides move with the buttons, the month picker
chooses the month, the work slide shows the red/yellow communities' tasks and effect verdicts,
the key script is installed (and loads nothing), English renders."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import add_task_item, add_warning_run, small_district

from fangcang.access import Role, Scope, Viewer
from fangcang.models.tasks import ItemState

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def small(sqlite_engine, monkeypatch):
    from conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(hide_password=False))
    with Session(sqlite_engine, expire_on_commit=False) as s:
        cs = small_district(s, Factory(s))
        ids = {k: c.community_id for k, c in cs.items()}
        add_warning_run(s, "2026-05", {ids["F"]: "red", ids["A"]: "yellow", ids["B"]: "blue"})
        add_warning_run(s, "2026-06", {ids["A"]: "red", ids["F"]: "yellow", ids["B"]: "green"})
        for key, state, day in (("A", ItemState.EVALUATED, 5), ("A", ItemState.DISPATCHED, 9)):
            add_task_item(s, ids[key], state, datetime(2026, 6, day, 9))
        s.commit()
    return ids


def _app(lang="zh", query=None, viewer=None) -> AppTest:
    """The presentation page through app.py (its navigation: the exit link needs it)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["viewer"] = viewer or Viewer("u_leader", Role.LEADER, Scope.district())
    at.session_state["lang"] = lang
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("pages/present.py")
    return at


def _md(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_buttons_move_the_slides_and_the_key_script_is_installed(small):
    at = _app().run()
    assert not at.exception, at.exception
    assert "第 1 / 5 页" in _md(at) and "治安态势" in _md(at) and " · 鹿城区</div>" in _md(at)
    assert at.button(key="present_prev").disabled
    at.button(key="present_next").click().run()
    assert "第 2 / 5 页" in _md(at)
    for _ in range(3):
        at.button(key="present_next").click().run()
    assert not at.exception
    assert "第 5 / 5 页" in _md(at) and at.button(key="present_next").disabled
    at.button(key="present_prev").click().run()
    assert "第 4 / 5 页" in _md(at)
    # The key script: arrow keys and PageUp/PageDown press these two buttons; nothing remote.
    frames = [f.proto.srcdoc for f in at.get("iframe")]
    script = next(f for f in frames if "fangcang-present-keys" in f)
    cfg = json.loads(script.split("var cfg = ", 1)[1].split(";", 1)[0])
    assert cfg == {
        "keys": {"ArrowRight": "next", "PageDown": "next", "ArrowLeft": "prev", "PageUp": "prev"},
        "buttons": {"prev": "present_prev", "next": "present_next"},
        "slide": 3,  # index of the slide this run drew (page 4 / 5): queued presses apply after it
    }
    assert "http" not in script and "src=" not in script


def test_month_picker_and_work_slide(small):
    at = _app(query={"slide": "4"}).run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="present_period")
    assert picker.options[:2] == ["2026年6月", "2026年5月"] and picker.value == "2026-06"
    md = _md(at)
    assert "红黄社区工作情况" in md
    # 2026-06: A red (2 items, 1 done, the open one overdue), F yellow (no items; focused
    # work, within what comparison communities did).
    assert "A社区" in md and "F社区" in md
    assert "红色 1 个 · 黄色 1 个" in md and "完成率 50.0%" in md
    assert "2026年4月至2026年6月" in md
    assert "与可比社区无显著差异" in md or "无可比社区" in md
    assert "未登记整治" in md  # A has no focused work
    at.selectbox(key="present_period").set_value("2026-05").run()
    assert not at.exception
    assert at.query_params["period"] == ["2026-05"] or at.query_params["period"] == "2026-05"
    assert "2026年3月至2026年5月" in _md(at)


def test_english_labels(small):
    at = _app("en", {"slide": "4"}).run()
    assert not at.exception, at.exception
    md = _md(at)
    assert "Work in red and yellow communities" in md and "Slide 4 of 5" in md
    assert "1 red · 1 yellow" in md and "Tasks dispatched" in md
    assert at.selectbox(key="present_period").options[0] == "Jun 2026"


def test_scoped_viewer_sees_only_its_communities(small):
    viewer = Viewer("u_station", Role.STATION, Scope.of([small["A"], small["B"]], "station:S"))
    at = _app(query={"slide": "4"}, viewer=viewer).run()
    assert not at.exception, at.exception
    md = _md(at)
    assert "A社区" in md and "F社区" not in md  # F is yellow but outside this jurisdiction
    assert "红色 1 个 · 黄色 0 个" in md


def test_header_names_a_station_presenters_area_on_one_line(small, sqlite_engine):
    """A station's presenter sees the station's name in the header, HTML-escaped and on one
    line: a name from data with a blank line and markdown cannot start a markdown link there."""
    from fangcang.models import Community, Station

    with Session(sqlite_engine) as s:
        station_id = s.get(Community, small["A"]).station_id
        s.get(Station, station_id).name = "五马<b>\n\n[点我](http://e.invalid)派出所"
        s.commit()
    viewer = Viewer("u_station", Role.STATION, Scope.of([small["A"]]), station_id=station_id)
    at = _app(viewer=viewer).run()
    assert not at.exception, at.exception
    assert " · 五马&lt;b&gt; [点我](http://e.invalid)派出所</div>" in _md(at)
