"""Accounts: argon2 hashes, sign-in, lockout, disabling, reset, idle time-out, SSO mapping,
demo accounts, and the ``user`` / ``audit`` command lines."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from fangcang import audit, auth, cli, db
from fangcang.access import Role
from fangcang.models import AuditEntry, User

NOW = datetime(2026, 11, 1, 9, 0)


def _actions(session):
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


@pytest.fixture
def alice(session):
    user = auth.create_user(
        session,
        username="alice",
        password="secret-123",
        role=Role.LEADER,
        actor="admin",
        display_name="Alice",
    )
    session.commit()
    return user


def test_password_is_stored_as_argon2id(session, alice):
    stored = session.get(User, "alice").password_hash
    assert stored.startswith("$argon2id$")
    assert "secret-123" not in stored
    assert auth.verify_password(stored, "secret-123")
    assert not auth.verify_password(stored, "secret-124")
    assert not auth.verify_password("not a hash", "secret-123")
    # Same password, different salt.
    assert auth.hash_password("secret-123") != stored


@pytest.mark.parametrize("pw", ["short1", "onlyletters", "1234567890", ""])
def test_weak_passwords_refused(pw):
    with pytest.raises(ValueError, match="password"):
        auth.hash_password(pw)


def test_create_user_validates(session, factory):
    with pytest.raises(ValueError, match="username"):
        auth.create_user(
            session, username="bad name", password="secret-123", role="leader", actor="a"
        )
    with pytest.raises(ValueError, match="role 'boss'"):
        auth.create_user(session, username="bob", password="secret-123", role="boss", actor="a")
    with pytest.raises(ValueError, match="needs --station"):
        auth.create_user(session, username="bob", password="secret-123", role="station", actor="a")
    with pytest.raises(ValueError, match="station 'NOPE' does not exist"):
        auth.create_user(
            session,
            username="bob",
            password="secret-123",
            role="station",
            actor="a",
            station_id="NOPE",
        )
    with pytest.raises(ValueError, match="needs --officer"):
        auth.create_user(session, username="bob", password="secret-123", role="officer", actor="a")
    with pytest.raises(ValueError, match="needs --branch"):
        auth.create_user(session, username="bob", password="secret-123", role="branch", actor="a")
    auth.create_user(session, username="bob", password="secret-123", role="leader", actor="a")
    with pytest.raises(ValueError, match="already exists"):
        auth.create_user(session, username="bob", password="secret-123", role="leader", actor="a")


def test_good_login_returns_scoped_viewer_and_is_audited(session, factory):
    c1 = factory.community(name="沿江社区")
    factory.community()  # another station's community
    auth.create_user(
        session,
        username="st",
        password="secret-123",
        role="station",
        actor="admin",
        station_id=c1.station_id,
    )
    result = auth.authenticate(session, "st", "secret-123", now=NOW)
    session.commit()
    assert result.ok and result.reason == ""
    assert result.viewer.role is Role.STATION
    assert result.viewer.scope.community_ids == {c1.community_id}
    assert session.get(User, "st").last_login == NOW
    assert _actions(session) == ["user.add", "login.ok"]


def test_failures_are_audited_without_revealing_which_part_was_wrong(session, alice):
    unknown = auth.authenticate(session, "nobody", "secret-123", now=NOW)
    wrong = auth.authenticate(session, "alice", "wrong-123", now=NOW)
    session.commit()
    assert unknown == wrong == auth.LoginResult(False, reason="bad_credentials")
    fails = audit.entries(session, action="login.fail")
    assert set(fails["target"]) == {"nobody", "alice"}
    assert session.get(User, "alice").failed_attempts == 1


def test_lockout_after_configured_failures_then_expires(session, alice, monkeypatch):
    monkeypatch.setenv("FANGCANG_LOCKOUT_ATTEMPTS", "3")
    for _ in range(2):
        assert auth.authenticate(session, "alice", "bad-pass-1", now=NOW).reason == (
            "bad_credentials"
        )
    third = auth.authenticate(session, "alice", "bad-pass-1", now=NOW)
    assert third.reason == "locked"
    assert third.locked_until == NOW + timedelta(minutes=auth.LOCKOUT_MINUTES)
    # Even the right password is refused while locked.
    during = auth.authenticate(session, "alice", "secret-123", now=NOW + timedelta(minutes=5))
    assert not during.ok and during.reason == "locked"
    after = auth.authenticate(
        session, "alice", "secret-123", now=NOW + timedelta(minutes=auth.LOCKOUT_MINUTES + 1)
    )
    session.commit()
    assert after.ok
    assert session.get(User, "alice").failed_attempts == 0
    details = list(audit.entries(session, action="login.fail")["detail"])
    assert any('"locked_until"' in d for d in details)


def test_success_resets_failure_count(session, alice):
    auth.authenticate(session, "alice", "bad-pass-1", now=NOW, max_attempts=3)
    auth.authenticate(session, "alice", "bad-pass-1", now=NOW, max_attempts=3)
    assert auth.authenticate(session, "alice", "secret-123", now=NOW, max_attempts=3).ok
    assert (
        auth.authenticate(session, "alice", "bad-pass-1", now=NOW, max_attempts=3).reason
        == "bad_credentials"
    )


def test_disable_enable_reset_unlock(session, alice):
    auth.set_disabled(session, "alice", True, actor="admin")
    assert auth.authenticate(session, "alice", "secret-123", now=NOW).reason == "disabled"
    assert not auth.is_active(session, "alice")
    assert auth.is_active(session, "no-such-user")  # injected test viewers stay signed in
    auth.set_disabled(session, "alice", False, actor="admin")
    for _ in range(5):
        auth.authenticate(session, "alice", "bad-pass-1", now=NOW, max_attempts=5)
    assert session.get(User, "alice").locked_until is not None
    auth.unlock(session, "alice", actor="admin")
    assert auth.authenticate(session, "alice", "secret-123", now=NOW).ok
    auth.reset_password(session, "alice", "another-456", actor="admin")
    assert not auth.authenticate(session, "alice", "secret-123", now=NOW).ok
    assert auth.authenticate(session, "alice", "another-456", now=NOW).ok
    session.commit()
    for action in ("user.disable", "user.enable", "user.unlock", "user.reset"):
        assert action in _actions(session)
    with pytest.raises(ValueError, match="cannot disable your own"):
        auth.set_disabled(session, "alice", True, actor="alice")
    with pytest.raises(ValueError, match="does not exist"):
        auth.reset_password(session, "ghost", "another-456", actor="admin")


def test_idle_timeout():
    assert not auth.idle_expired(None, NOW, 30)
    assert not auth.idle_expired(NOW, NOW + timedelta(minutes=30), 30)
    assert auth.idle_expired(NOW, NOW + timedelta(minutes=30, seconds=1), 30)
    assert not auth.idle_expired(NOW, NOW + timedelta(days=9), 0)  # 0 turns it off


def test_idle_timeout_reads_settings(monkeypatch):
    monkeypatch.setenv("FANGCANG_IDLE_TIMEOUT_MINUTES", "5")
    assert auth.idle_expired(NOW, NOW + timedelta(minutes=6))
    assert not auth.idle_expired(NOW, NOW + timedelta(minutes=4))


def test_role_map_parsing_and_claims():
    role_map = auth.parse_role_map(
        '{"gaj-leaders": "leader", "pcs-1": "station:ST1", "admins": "admin",'
        ' "zhian": "branch:public_order"}'
    )
    assert role_map["pcs-1"] == auth.ClaimRole(Role.STATION, "ST1")
    claims = {"groups": ["pcs-1", "gaj-leaders", "unrelated"]}
    assert auth.role_from_claims(claims, "groups", role_map).role is Role.LEADER
    assert auth.role_from_claims({"groups": "pcs-1"}, "groups", role_map).arg == "ST1"
    assert auth.role_from_claims({"groups": ["x"]}, "groups", role_map) is None
    assert auth.role_from_claims({}, "groups", role_map) is None
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        auth.parse_role_map('{"a": "boss"}')
    with pytest.raises(ValueError, match="needs 'station:<id>'"):
        auth.parse_role_map('{"a": "station"}')
    with pytest.raises(ValueError, match="not valid JSON"):
        auth.parse_role_map("{nope")
    assert auth.parse_role_map("") == {}


def test_oidc_sign_in_creates_and_updates_an_sso_account(session, factory):
    c = factory.community()
    role_map = auth.parse_role_map({"pcs": f"station:{c.station_id}", "lead": "leader"})
    claims = {"preferred_username": "wang", "name": "王警官", "groups": ["pcs"]}
    first = auth.oidc_sign_in(session, claims, role_claim="groups", role_map=role_map, now=NOW)
    assert first.ok and first.viewer.scope.community_ids == {c.community_id}
    user = session.get(User, "wang")
    assert user.source == "oidc" and not auth.verify_password(user.password_hash, "")
    promoted = auth.oidc_sign_in(
        session, {**claims, "groups": ["lead"]}, role_claim="groups", role_map=role_map, now=NOW
    )
    assert promoted.viewer.role is Role.LEADER and promoted.viewer.scope.is_district
    none = auth.oidc_sign_in(
        session, {"sub": "x1", "groups": ["other"]}, role_claim="groups", role_map=role_map
    )
    assert none.reason == "no_role"
    auth.set_disabled(session, "wang", True, actor="admin")
    assert (
        auth.oidc_sign_in(session, claims, role_claim="groups", role_map=role_map).reason
        == "disabled"
    )
    with pytest.raises(ValueError, match="single sign-on"):
        auth.reset_password(session, "wang", "secret-123", actor="admin")


def test_oidc_cannot_take_over_a_local_account(session, alice):
    result = auth.oidc_sign_in(
        session,
        {"preferred_username": "alice", "groups": ["a"]},
        role_claim="groups",
        role_map=auth.parse_role_map({"a": "admin"}),
    )
    assert not result.ok
    assert session.get(User, "alice").role is Role.LEADER


def test_demo_extend_creates_one_account_per_role(engine, session, factory):
    target = factory.community(name="沿江社区")
    factory.community(name="别的社区")
    session.commit()

    class Ctx:
        pass

    ctx = Ctx()
    ctx.engine = engine
    assert auth.demo_extend(ctx) == {"users": 6}
    assert auth.demo_extend(ctx) == {"users": 0}  # idempotent
    session.expire_all()
    by_role = {u.role: u for u in auth.list_users(session)}
    assert set(by_role) == set(Role)
    assert by_role[Role.STATION].station_id == target.station_id
    assert by_role[Role.OFFICER].officer_id == target.officer_id
    assert by_role[Role.BRANCH].branch == "public_order"
    for username, password, role in auth.DEMO_ACCOUNTS:
        result = auth.authenticate(session, username, password, now=NOW)
        assert result.ok and result.viewer.role is role
    officer = auth.authenticate(session, "officer", "demo-officer-1", now=NOW).viewer
    assert officer.scope.community_ids == {target.community_id}
    assert [u.username for u, _ in auth.demo_accounts(session)] == [
        a[0] for a in auth.DEMO_ACCOUNTS
    ]


# --- command line -------------------------------------------------------------------------
def _cli(engine, monkeypatch, capsys, *argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    url = engine.url.render_as_string(hide_password=False)
    code = cli.main(["--db", url, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_cli(engine, session, factory, monkeypatch, capsys):
    st = factory.station(name="南汇派出所")
    session.commit()
    code, out, _ = _cli(
        engine,
        monkeypatch,
        capsys,
        "user",
        "add",
        "zhao",
        "--role",
        "station",
        "--station",
        st.station_id,
        "--name",
        "赵所长",
        "--password-stdin",
        stdin="secret-123\n",
    )
    assert code == 0 and "added zhao (station)" in out
    code, _, err = _cli(
        engine,
        monkeypatch,
        capsys,
        "user",
        "add",
        "zhao",
        "--role",
        "leader",
        "--password-stdin",
        stdin="secret-123\n",
    )
    assert code == 2 and "already exists" in err
    code, _, err = _cli(
        engine,
        monkeypatch,
        capsys,
        "user",
        "add",
        "weak",
        "--role",
        "leader",
        "--password-stdin",
        stdin="abc\n",
    )
    assert code == 2 and "at least 8" in err
    code, out, _ = _cli(engine, monkeypatch, capsys, "user", "list")
    assert "zhao" in out and "station" in out and "active" in out and "weak" not in out
    assert _cli(engine, monkeypatch, capsys, "user", "disable", "zhao")[0] == 0
    assert "disabled" in _cli(engine, monkeypatch, capsys, "user", "list")[1]
    assert _cli(engine, monkeypatch, capsys, "user", "enable", "zhao")[0] == 0
    code, out, _ = _cli(
        engine,
        monkeypatch,
        capsys,
        "user",
        "reset",
        "zhao",
        "--password-stdin",
        stdin="brand-new-9\n",
    )
    assert code == 0
    assert _cli(engine, monkeypatch, capsys, "user", "unlock", "zhao")[0] == 0
    session.expire_all()
    assert auth.authenticate(session, "zhao", "brand-new-9").ok
    actors = set(audit.entries(session, action="user.")["actor"])
    assert all(a.startswith("cli") for a in actors)


def test_audit_cli_verify_and_export(engine, session, monkeypatch, capsys, tmp_path):
    audit.log(session, actor="a", action="login.ok", target="a")
    audit.log(session, actor="b", action="export.csv", target="warning")
    session.commit()
    code, out, _ = _cli(engine, monkeypatch, capsys, "audit", "verify")
    assert code == 0 and "OK: 2 entries" in out
    dest = tmp_path / "log.csv"
    code, out, _ = _cli(
        engine, monkeypatch, capsys, "audit", "export", "--out", str(dest), "--action", "login."
    )
    assert code == 0 and "exported 1 audit entry to" in out
    text = dest.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == ",".join(audit.ENTRY_COLUMNS)
    assert "login.ok" in text and "export.csv" not in text
    code, _, err = _cli(engine, monkeypatch, capsys, "audit", "export", "--out", "x.txt")
    assert code == 2 and ".csv or .xlsx" in err
    # The export itself is audited; the chain still verifies.
    code, out, _ = _cli(engine, monkeypatch, capsys, "audit", "verify")
    assert code == 0 and "OK: 3 entries" in out


def test_audit_cli_reports_first_broken_link(engine, session, monkeypatch, capsys):
    from sqlalchemy import text

    for i in range(3):
        audit.log(session, actor="a", action="person.view", target=f"p{i}")
    session.commit()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    code, out, _ = _cli(engine, monkeypatch, capsys, "audit", "verify")
    assert code == 1
    assert "BROKEN at entry #2" in out


def test_db_helper_untouched():
    # The access migration is one of the heads the code knows.
    assert "0003" in db.head_revision().split("+")
