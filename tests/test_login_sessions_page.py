"""AppTest: sign-in opens a server-side session that another tab's sign-out ends, a busy
database gives a plain "busy, retry" message, a failing page a reference number, ``?lang=en``
selects English, and an officer lands on 我的任务 (app.py, ui.login, ui.guard, ui.errors)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import login, texts

from fangcang import auth, sessions
from fangcang.access import Role

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    from tests.conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        c = Factory(s).community(name="沿江社区")
        auth.create_user(s, username="lead", password="lead-pass-1", role=Role.LEADER, actor="test")
        auth.create_user(
            s,
            username="cop",
            password="cop-pass-1",
            role=Role.OFFICER,
            actor="test",
            officer_id=c.officer_id,
        )
        s.commit()
    return sqlite_engine


def test_sign_in_opens_a_session_that_sign_out_elsewhere_ends(app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    login(at, "lead", "lead-pass-1")
    assert not at.exception
    sid = at.session_state["session_id"]
    assert "退出登录" in [b.label for b in at.button]
    with Session(app_db) as s:
        assert sessions.check(s, sid) is None
        # Another tab signs out: every session of the account ends.
        auth.log_logout(s, auth.viewer_for(s, s.get(auth.User, "lead")))
        s.commit()
    at.run()
    assert not at.exception
    assert "其他窗口" in texts(at)  # "ended in another tab or by an administrator"
    assert "viewer" not in at.session_state


def test_busy_database_gives_a_retry_message_not_a_traceback(app_db, monkeypatch):
    monkeypatch.setenv("FANGCANG_WRITE_WAIT_SECONDS", "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    started = threading.Event()

    def hold():
        with app_db.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            started.set()
            time.sleep(4)
            conn.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    started.wait(5)
    try:
        login(at, "lead", "lead-pass-1")
    finally:
        holder.join()
    assert not at.exception
    assert "系统正忙" in texts(at)
    assert "viewer" not in at.session_state
    login(at, "lead", "lead-pass-1")  # retry once the write is over
    assert "session_id" in at.session_state


def test_failing_page_shows_a_reference_not_a_traceback():
    def script():
        from ui import errors

        class Broken:
            def run(self):
                raise RuntimeError("/srv/secret/path.py exploded")

        errors.run_page(Broken())

    at = AppTest.from_function(script).run()
    assert not at.exception
    text = at.error[0].value
    assert "E-" in text and "/srv/secret" not in text


def test_lang_in_the_link_selects_english(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    assert at.session_state["lang"] == "en"
    assert "Sign in" in texts(at)


def test_officer_lands_on_my_tasks(app_db):
    from ui.login import landing_page

    assert landing_page(Role.OFFICER) == "my_tasks"
    assert landing_page(Role.LEADER) == "overview"
    at = AppTest.from_file(APP, default_timeout=60).run()
    login(at, "cop", "cop-pass-1")
    assert not at.exception
    assert "我的任务" in [t.value for t in at.title] + [h.value for h in at.header]


def test_any_page_write_during_a_long_write_says_busy_not_traceback():
    """Feedback, evaluation, audit writes: a locked database reaching the page is a retry."""

    def script():
        import sqlite3

        from sqlalchemy.exc import OperationalError

        from ui import errors

        class Feedback:
            def run(self):
                raise OperationalError(
                    "UPDATE task_items ...", {}, sqlite3.OperationalError("database is locked")
                )

        errors.run_page(Feedback())

    at = AppTest.from_function(script).run()
    assert not at.exception and not at.error
    assert "系统正忙" in at.warning[0].value


def _draw_cookie_script() -> None:  # an AppTest script: only ui.login.render_cookie_script
    from ui import login

    login.render_cookie_script()


def _cookie_scripts(at) -> list[str]:
    """The sign-in cookie scripts the run drew (st.html elements posting to the route)."""
    return [el.proto.body for el in at.sidebar.get("html") if "/fangcang/session" in el.proto.body]


def test_cookie_script_is_drawn_until_the_code_is_traded(app_db):
    """A run cut short (``/`` switches to the landing page right after signing in) must not lose
    the hand-off: the script is drawn again on later runs until the server traded the code."""
    with Session(app_db) as s:
        code = sessions.start(s, "lead").handoff_code
        s.commit()
    at = AppTest.from_function(_draw_cookie_script, default_timeout=30)
    at.session_state["session_handoff"] = code
    at.run()
    assert not at.exception
    assert len(_cookie_scripts(at)) == 1 and code in _cookie_scripts(at)[0]
    at.run()  # the browser has not posted yet: drawn again, the code kept
    assert len(_cookie_scripts(at)) == 1
    assert at.session_state["session_handoff"] == code
    with Session(app_db) as s:
        sessions.redeem(s, code)
        s.commit()
    at.run()  # traded: no script, the code forgotten
    assert not at.exception
    assert _cookie_scripts(at) == []
    assert "session_handoff" not in at.session_state
