"""AppTest: the sign-in page (app.py) and the admin page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import login, texts

from fangcang import audit, auth, db
from fangcang.access import Role, Viewer
from fangcang.models import User
from fangcang.timeutil import now_local

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
ADMIN = str(ROOT / "pages" / "admin.py")


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    """A migrated SQLite file with one community (so app.py does not build the demo)."""
    from tests.conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        Factory(s).community(name="沿江社区")
        auth.create_user(
            s,
            username="root",
            password="root-pass-1",
            role=Role.ADMIN,
            actor="test",
            display_name="管理员",
        )
        s.commit()
    return sqlite_engine


def _session(engine):
    return Session(engine, expire_on_commit=False)


def test_login_page_signs_in_and_audits(app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "登录" in texts(at)
    assert "演示账号" not in texts(at)  # not a demo database: no demo accounts offered
    login(at, "root", "wrong-pass-1")
    assert "用户名或密码错误" in texts(at)
    assert at.session_state["viewer"] if "viewer" in at.session_state else True
    assert "viewer" not in at.session_state
    login(at, "root", "root-pass-1")
    assert not at.exception
    viewer = at.session_state["viewer"]
    assert viewer.role is Role.ADMIN and viewer.username == "root"
    with _session(app_db) as s:
        actions = list(audit.entries(s, action="login.")["action"])
    assert actions == ["login.ok", "login.fail"]


def test_login_page_shows_lockout(app_db, monkeypatch):
    monkeypatch.setenv("FANGCANG_LOCKOUT_ATTEMPTS", "2")
    at = AppTest.from_file(APP, default_timeout=60).run()
    login(at, "root", "wrong-pass-1")
    login(at, "root", "wrong-pass-1")
    assert "已锁定" in texts(at)
    login(at, "root", "root-pass-1")  # the right password does not help while locked
    assert "viewer" not in at.session_state
    assert "已锁定" in texts(at)


def test_demo_accounts_offered_only_in_a_demo(app_db):
    class Ctx:
        engine = app_db

    auth.demo_extend(Ctx())
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "演示账号" not in texts(at)  # accounts exist, but the database is not a demo
    with _session(app_db) as s:
        db.set_meta(s, "demo", "small")
        s.commit()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "演示账号" in texts(at)
    assert "demo-leader-1" in list(at.dataframe[0].value.iloc[:, 2])
    table = at.dataframe[0].value
    assert list(table.iloc[:, 1]) == [u for u, _, _ in auth.DEMO_ACCOUNTS]
    at.selectbox(key="demo_account").set_value("admin")
    at.button(key="demo_sign_in").click()
    at.run()
    assert at.session_state["viewer"].username == "admin"


def test_idle_timeout_signs_out(app_db, monkeypatch):
    monkeypatch.setenv("FANGCANG_IDLE_TIMEOUT_MINUTES", "30")
    at = AppTest.from_file(APP, default_timeout=60)
    with _session(app_db) as s:
        viewer = auth.viewer_for(s, s.get(User, "root"))
    at.session_state["viewer"] = viewer
    at.session_state["last_active"] = now_local() - timedelta(minutes=31)
    at.run()
    assert not at.exception
    assert "viewer" not in at.session_state
    assert "30 分钟未操作" in texts(at)
    with _session(app_db) as s:
        assert list(audit.entries(s)["action"])[0] == "logout.idle"


def test_disabled_account_is_signed_out_at_once(app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    login(at, "root", "root-pass-1")
    assert "viewer" in at.session_state
    with _session(app_db) as s:
        auth.create_user(
            s, username="other", password="other-pass-1", role=Role.ADMIN, actor="test"
        )
        auth.set_disabled(s, "root", True, actor="other")
        s.commit()
    at.run()  # AppTest reruns the current page only: its guard signs the account out
    assert "viewer" not in at.session_state
    assert "已停用" in texts(at)
    assert len(at.metric) == len(at.dataframe) == 0


# --- admin page -----------------------------------------------------------------------------
def _admin_page(viewer=None):
    at = AppTest.from_file(ADMIN, default_timeout=60)
    if viewer is not None:
        at.session_state["viewer"] = viewer
    return at.run()


def test_admin_page_refuses_without_login_and_for_other_roles(app_db):
    at = _admin_page()
    assert not at.exception
    assert "请先登录" in texts(at)
    assert len(at.dataframe) == 0 and len(at.tabs) == 0
    for role in (Role.LEADER, Role.DISPATCHER, Role.STATION, Role.OFFICER, Role.BRANCH):
        at = _admin_page(Viewer(username="x", role=role))
        assert "无权访问" in texts(at)
        assert len(at.dataframe) == 0 and len(at.tabs) == 0


def test_admin_adds_disables_and_sees_the_audit_log(app_db):
    admin = Viewer(username="root", role=Role.ADMIN)
    at = _admin_page(admin)
    assert not at.exception
    users = at.dataframe[0].value
    assert list(users.iloc[:, 0]) == ["root"]
    form = {w.label: w for w in at.text_input}
    form["用户名"].set_value("lead1")
    form["显示名称"].set_value("王局")
    at.selectbox[0].set_value(Role.LEADER)
    form["初始密码"].set_value("lead-pass-1")
    next(b for b in at.button if b.label == "新增").click()
    at.run()
    assert not at.exception
    assert "已新增用户 lead1" in texts(at)
    with _session(app_db) as s:
        assert s.get(User, "lead1").role is Role.LEADER
        entry = audit.entries(s, action="user.add").iloc[0]
        assert entry["actor"] == "root" and entry["target"] == "lead1"
    # A weak password is refused with the reason, and nothing is added.
    form = {w.label: w for w in at.text_input}
    form["用户名"].set_value("weak")
    form["初始密码"].set_value("abc")
    next(b for b in at.button if b.label == "新增").click()
    at.run()
    assert "at least 8" in texts(at)
    with _session(app_db) as s:
        assert s.get(User, "weak") is None
    # Disable lead1.
    at.selectbox(key="manage_who").set_value("lead1")
    next(b for b in at.button if b.label == "停用").click()
    at.run()
    with _session(app_db) as s:
        assert s.get(User, "lead1").disabled
    # The audit tab lists the changes, newest first.
    log = next(df for df in at.dataframe if "#" in df.value.columns).value
    assert list(log["操作"])[:2] == ["user.disable", "user.add"]


def test_admin_verifies_the_chain(app_db):
    at = _admin_page(Viewer(username="root", role=Role.ADMIN))
    next(b for b in at.button if b.label == "校验日志链").click()
    at.run()
    assert "日志链完整" in texts(at)
    with _session(app_db) as s:
        detail = json.loads(audit.entries(s, action="audit.verify").iloc[0]["detail"])
    assert detail["ok"] is True and detail["checked"] == 1


def test_account_box_escapes_display_names(app_db):
    with _session(app_db) as s:
        auth.create_user(
            s,
            username="evil",
            password="evil-pass-1",
            role=Role.ADMIN,
            actor="test",
            display_name="![x](http://evil/x.png)<b>hi</b>",
        )
        s.commit()
    at = AppTest.from_file(APP, default_timeout=60).run()
    login(at, "evil", "evil-pass-1")
    shown = [m.value for m in at.sidebar.markdown]
    assert any("\\!\\[x\\]" in v and "&lt;b&gt;" in v for v in shown), shown


def test_sso_button_only_when_configured(app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "统一身份认证登录" not in [b.label for b in at.button]
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "fangcang",
        "client_secret": "s",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert "统一身份认证登录" in [b.label for b in at.button]


def test_sign_in_page_in_english(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert [w.label for w in at.text_input] == ["Username", "Password"]
    login(at, "root", "nope-nope-1")
    assert "Wrong username or password." in texts(at)


class _FakeUser:
    """Stands in for st.user after the identity provider signed the user in."""

    def __init__(self, claims):
        self._claims = claims
        self.is_logged_in = True

    def to_dict(self):
        return dict(self._claims)


def _sso_app(monkeypatch, claims):
    import streamlit

    monkeypatch.setattr(streamlit, "user", _FakeUser(claims))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "fangcang",
        "client_secret": "s",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    return at.run()


def test_sso_claims_map_to_a_role(app_db, monkeypatch):
    monkeypatch.setenv("FANGCANG_OIDC_ROLE_MAP", '{"gaj-admins": "admin"}')
    at = _sso_app(
        monkeypatch, {"preferred_username": "li.si", "name": "李四", "groups": ["gaj-admins"]}
    )
    assert not at.exception
    viewer = at.session_state["viewer"]
    assert viewer.username == "li.si" and viewer.role is Role.ADMIN
    with _session(app_db) as s:
        assert s.get(User, "li.si").source == "oidc"
        assert json.loads(audit.entries(s, action="login.ok").iloc[0]["detail"])["method"] == (
            "oidc"
        )


def test_sso_without_a_mapped_role_is_refused(app_db, monkeypatch):
    monkeypatch.setenv("FANGCANG_OIDC_ROLE_MAP", '{"gaj-admins": "admin"}')
    at = _sso_app(monkeypatch, {"preferred_username": "wang", "groups": ["other"]})
    assert "viewer" not in at.session_state
    assert "未分配本平台角色" in texts(at)
    monkeypatch.setenv("FANGCANG_OIDC_ROLE_MAP", "{broken")
    at = _sso_app(monkeypatch, {"preferred_username": "wang", "groups": ["other"]})
    assert not at.exception and "not valid JSON" in texts(at)
