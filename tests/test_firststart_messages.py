"""AppTest: a month without a warning run says why: still being computed while the demo fills
in (meta ``demo_build`` = ``filling``), otherwise how to run one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import add_counts, add_residents

from fangcang import db
from fangcang.access import Role, Viewer
from fangcang.demo import builder

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    """A migrated SQLite file with one community and incidents, no warning run."""
    from tests.conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        c = Factory(s).community(name="沿江社区")
        add_residents(s, c, 100)
        add_counts(s, c, date(2026, 9, 10), n=5)
        s.commit()
    return sqlite_engine


def _warning_page(lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = lang
    at.switch_page("pages/warning.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _infos(at: AppTest) -> str:
    return "\n".join(e.value for e in at.info)


@pytest.mark.parametrize("page", ["warning", "overview", "map"])
def test_no_run_points_at_the_score_command(app_db, page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _infos(at)
    assert "python -m fangcang score" in text
    assert "正在计算" not in text


def test_while_the_demo_fills_in_the_run_is_being_computed(app_db):
    with Session(app_db) as s:
        db.set_meta(s, builder.BUILD_META, "filling")
        s.commit()
    text = _infos(_warning_page())
    assert "正在计算" in text and "python -m fangcang score" not in text
    english = _infos(_warning_page("en"))
    assert "is being computed" in english
    with Session(app_db) as s:
        db.set_meta(s, builder.BUILD_META, "done")
        s.commit()
    assert "python -m fangcang score" in _infos(_warning_page())
