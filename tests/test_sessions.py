"""Persistent sign-in sessions (fangcang.sessions), atomic lockout under parallel attempts,
and sign-ins while another transaction holds the database (fangcang.db.run_write)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fangcang import audit, auth, db, sessions
from fangcang.access import Role
from fangcang.models import SignInThrottle, User, UserSession

NOW = datetime(2026, 11, 1, 9, 0)


@pytest.fixture
def alice(session):
    user = auth.create_user(
        session, username="alice", password="secret-123", role=Role.LEADER, actor="admin"
    )
    session.commit()
    return user


def _token(session, username="alice", now=NOW):
    started = sessions.start(session, username, now=now)
    session.commit()
    token, _ = sessions.redeem(session, started.handoff_code, now=now)
    session.commit()
    return started, token


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------
def test_token_round_trip_and_resume(session, alice):
    started, token = _token(session)
    assert token.count(".") == 3 and started.handoff_code not in token
    found = sessions.resume(session, token, now=NOW + timedelta(minutes=5))
    assert found is not None and found[0] == started.session_id
    assert found[1].username == "alice"
    # Only hashes are stored.
    row = session.get(UserSession, started.session_id)
    assert token.split(".")[1] not in (row.token_hash or "")
    assert row.handoff_hash is None


def test_forged_altered_or_expired_tokens_are_refused(session, alice):
    _, token = _token(session)
    version, secret, expires, sig = token.split(".")
    forged = [
        "",
        "garbage",
        f"{version}.{secret}.{expires}.AAAA",  # bad signature
        f"{version}.{secret}.{int(expires) + 3600}.{sig}",  # expiry pushed back
        f"{version}.{secret[:-2]}xx.{expires}.{sig}",  # another secret
        f"v2.{secret}.{expires}.{sig}",
        token + ".x",
        "x" * 5000,
    ]
    for bad in forged:
        assert sessions.parse_token(bad, now=NOW) is None, bad
        assert sessions.resume(session, bad, now=NOW) is None
    # Correctly signed but with a secret the database does not know.
    unknown = sessions.make_token("bm90LWEtc2Vzc2lvbg", NOW + timedelta(hours=1))
    assert sessions.parse_token(unknown, now=NOW) is not None
    assert sessions.resume(session, unknown, now=NOW) is None
    # Expired by its own expiry (no database needed) ...
    later = NOW + timedelta(hours=13)
    assert sessions.parse_token(token, now=later) is None
    # ... and idle for longer than the time-out.
    assert sessions.resume(session, token, now=NOW + timedelta(minutes=31)) is None


def test_handoff_code_works_once_and_briefly(session, alice):
    started = sessions.start(session, "alice", now=NOW)
    session.commit()
    with pytest.raises(ValueError, match="unknown, used or expired"):
        sessions.redeem(session, started.handoff_code, now=NOW + timedelta(minutes=3))
    started = sessions.start(session, "alice", now=NOW)
    session.commit()
    sessions.redeem(session, started.handoff_code, now=NOW)
    session.commit()
    with pytest.raises(ValueError, match="unknown, used or expired"):
        sessions.redeem(session, started.handoff_code, now=NOW)
    with pytest.raises(ValueError):
        sessions.redeem(session, "made-up", now=NOW)


def test_handoff_open_says_what_redeem_would_accept(session, alice):
    started = sessions.start(session, "alice", now=NOW)
    session.commit()
    code = started.handoff_code
    assert sessions.handoff_open(session, code, now=NOW)
    assert not sessions.handoff_open(session, code, now=NOW + timedelta(minutes=3))  # expired
    assert not sessions.handoff_open(session, "made-up", now=NOW)
    assert not sessions.handoff_open(session, "", now=NOW)
    sessions.revoke(session, started.session_id, "logout", now=NOW)
    session.commit()
    assert not sessions.handoff_open(session, code, now=NOW)  # its session ended
    started = sessions.start(session, "alice", now=NOW)
    session.commit()
    sessions.redeem(session, started.handoff_code, now=NOW)
    session.commit()
    assert not sessions.handoff_open(session, started.handoff_code, now=NOW)  # used


def test_two_posts_of_one_handoff_code_give_one_token(engine, alice, monkeypatch):
    """The page may post its code twice at once (it is drawn on every run until traded): both
    posts read the code while it is still open; exactly one gets a token, and that token works
    (on SQLite ``FOR UPDATE`` locks nothing: both used to succeed, one token overwritten)."""
    with Session(engine) as s:
        code = sessions.start(s, "alice").handoff_code
        s.commit()
    both_read = threading.Barrier(2, timeout=3)
    real = sessions.secrets.token_bytes

    def token_bytes(n):  # called after the code was read: let the other post read it too
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass  # PostgreSQL: the other post waits on the row lock, as it should
        return real(n)

    monkeypatch.setattr(sessions.secrets, "token_bytes", token_bytes)
    results: list = []

    def post():
        try:
            results.append(db.run_write(engine, lambda s: sessions.redeem(s, code)))
        except ValueError as exc:
            results.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    tokens = [r for r in results if isinstance(r, tuple)]
    assert len(results) == 2 and len(tokens) == 1, results
    assert "used" in str(next(r for r in results if not isinstance(r, tuple)))
    with Session(engine) as s:
        assert sessions.resume(s, tokens[0][0]) is not None


@pytest.mark.parametrize("how", ["logout", "reset", "disable"])
def test_sign_out_reset_and_disable_end_every_session(session, alice, how):
    first, token1 = _token(session)
    second, token2 = _token(session)  # another device
    bob = auth.create_user(
        session, username="bob", password="secret-123", role=Role.LEADER, actor="admin"
    )
    session.commit()
    other, token3 = _token(session, "bob")
    now = NOW + timedelta(minutes=1)
    assert sessions.open_sessions(session, "alice", now=now) == 2
    if how == "logout":
        viewer = auth.viewer_for(session, alice)
        assert auth.log_logout(session, viewer) == 2
    elif how == "reset":
        auth.reset_password(session, "alice", "new-secret-9", actor="admin")
    else:
        auth.set_disabled(session, "alice", True, actor="admin")
    session.commit()
    for sid, token in ((first.session_id, token1), (second.session_id, token2)):
        assert sessions.check(session, sid, now=now) is not None
        assert sessions.resume(session, token, now=now) is None
    assert sessions.open_sessions(session, "alice", now=now) == 0
    assert sessions.check(session, other.session_id, now=now) is None  # bob unaffected
    assert bob.username == "bob"
    expected = {"logout": "logout", "reset": "reset", "disable": "disabled"}[how]
    assert sessions.check(session, first.session_id, now=now) == expected


def test_check_reports_idle_and_touches(session, alice):
    started, _ = _token(session)
    assert sessions.check(session, started.session_id, now=NOW + timedelta(minutes=20)) is None
    # Activity at minute 20 moved the idle clock: still valid at minute 45.
    assert sessions.check(session, started.session_id, now=NOW + timedelta(minutes=45)) is None
    assert sessions.check(session, started.session_id, now=NOW + timedelta(minutes=80)) == "idle"
    assert sessions.check(session, 999999, now=NOW) == "unknown"


# ---------------------------------------------------------------------------------------------
# Atomic lockout
# ---------------------------------------------------------------------------------------------
def _parallel_sign_ins(engine, username, n, monkeypatch):
    """n threads try a wrong password at once; return (results, passwords checked)."""
    checked = []
    lock = threading.Lock()
    real_verify = auth.verify_password

    def counting_verify(password_hash, password):
        with lock:
            checked.append(password)
        time.sleep(0.05)  # widen the window a read-then-write counter would lose
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    barrier = threading.Barrier(n)
    results, errors = [], []

    def attempt(i):
        try:
            barrier.wait()
            results.append(
                db.run_write(
                    engine, lambda s: auth.authenticate(s, username, f"wrong-{i}"), wait_seconds=60
                )
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    return results, checked


@pytest.mark.parametrize("username", ["alice", "no-such-user"])
def test_parallel_wrong_passwords_check_at_most_five(engine, alice, username, monkeypatch):
    results, checked = _parallel_sign_ins(engine, username, 20, monkeypatch)
    assert len(results) == 20
    assert len(checked) <= 5, f"{len(checked)} passwords checked"
    assert len(checked) == 5  # the first five were checked, the rest refused unchecked
    reasons = [r.reason for r in results]
    assert reasons.count("bad_credentials") == 4
    assert reasons.count("locked") == 16
    with Session(engine) as s:
        model, key = (
            (User, User.username)
            if username == "alice"
            else (
                SignInThrottle,
                SignInThrottle.name,
            )
        )
        locked_until = s.scalar(select(model.locked_until).where(key == username))
        assert locked_until is not None
        assert s.scalar(select(User.username).where(User.username == "no-such-user")) is None
        fails = audit.entries(s, action="login.fail")
        assert len(fails) == 20


def test_unknown_and_real_names_answer_alike(session, alice):
    """Same answers, same lock, for an account and a name without one (no enumeration)."""
    for name in ("alice", "ghost"):
        answers = [
            auth.authenticate(session, name, "wrong-pass-1", now=NOW).reason for _ in range(6)
        ]
        session.commit()
        assert answers == ["bad_credentials"] * 4 + ["locked", "locked"], name
    # After the lock period both count afresh.
    later = NOW + timedelta(minutes=auth.LOCKOUT_MINUTES, seconds=1)
    assert auth.authenticate(session, "ghost", "x", now=later).reason == "bad_credentials"
    assert auth.authenticate(session, "alice", "secret-123", now=later).ok
    session.commit()


def test_correct_password_on_the_last_attempt_clears_the_lock(session, alice):
    for _ in range(4):
        auth.authenticate(session, "alice", "wrong-pass-1", now=NOW)
    session.commit()
    assert auth.authenticate(session, "alice", "secret-123", now=NOW).ok
    session.commit()
    user = session.get(User, "alice")
    session.refresh(user)
    assert user.failed_attempts == 0 and user.locked_until is None


def test_disabled_account_says_so_only_after_its_password(session, alice):
    auth.set_disabled(session, "alice", True, actor="admin")
    session.commit()
    assert auth.authenticate(session, "alice", "wrong-pass-1", now=NOW).reason == (
        "bad_credentials"
    )
    assert auth.authenticate(session, "alice", "secret-123", now=NOW).reason == "disabled"


# ---------------------------------------------------------------------------------------------
# Sign-ins while another write holds the database
# ---------------------------------------------------------------------------------------------
class _LongWrite:
    """Another connection holds the write lock (SQLite) / the audit chain (PostgreSQL), as a
    long import does, for ``seconds``."""

    def __init__(self, engine, seconds):
        self.engine, self.seconds = engine, seconds
        self.started = threading.Event()

    def run(self):
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(text("SELECT pg_advisory_xact_lock(424242)"))
                conn.execute(text("LOCK TABLE users IN EXCLUSIVE MODE"))
            conn.execute(text("UPDATE meta SET value = value"))
            self.started.set()
            time.sleep(self.seconds)
            conn.commit()


def _sign_ins_during(engine, hold, wait, n=4):
    writer = _LongWrite(engine, hold)
    holder = threading.Thread(target=writer.run)
    holder.start()
    writer.started.wait(10)
    outcomes = []

    def one():
        try:
            done = db.run_write(
                engine,
                lambda s: auth.authenticate(s, "alice", "secret-123"),
                wait_seconds=wait,
                what="sign-in",
            )
            outcomes.append("ok" if done.ok else done.reason)
        except db.DatabaseBusy:
            outcomes.append("busy")
        except BaseException as exc:  # anything else is the bug this test is about
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    holder.join()
    return outcomes


def test_sign_ins_wait_out_a_long_write(engine, alice, monkeypatch):
    monkeypatch.setenv("FANGCANG_WRITE_WAIT_SECONDS", "1")  # SQLite busy_timeout 1 s
    engine.dispose()  # new connections pick up the busy timeout
    assert _sign_ins_during(engine, hold=2.5, wait=15) == ["ok"] * 4
    with Session(engine) as s:
        assert audit.verify(s).ok


def test_sign_ins_get_a_retryable_answer_when_the_write_lasts(engine, alice, monkeypatch):
    monkeypatch.setenv("FANGCANG_WRITE_WAIT_SECONDS", "1")
    engine.dispose()
    outcomes = _sign_ins_during(engine, hold=4, wait=1.5)
    assert outcomes == ["busy"] * 4
    # Nothing half-done: after the write, signing in works and the chain verifies.
    done = db.run_write(engine, lambda s: auth.authenticate(s, "alice", "secret-123"))
    assert done.ok
    with Session(engine) as s:
        assert audit.verify(s).ok


def test_user_signout_command_ends_sessions(engine, session, alice, monkeypatch, capsys):
    from fangcang import cli

    started, _ = _token(session)
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    assert cli.main(["user", "signout", "alice"]) == 0
    assert "ended 1 open session(s) of alice" in capsys.readouterr().out
    session.expire_all()
    assert sessions.check(session, started.session_id, now=NOW) == "admin"
    assert list(audit.entries(session, action="user.signout")["target"]) == ["alice"]


def test_activity_touch_never_waits_out_a_long_write(engine, session, alice):
    started, _ = _token(session)
    writer = _LongWrite(engine, 3)
    holder = threading.Thread(target=writer.run)
    holder.start()
    writer.started.wait(10)
    try:
        t0 = time.monotonic()
        later = NOW + timedelta(minutes=5)
        assert sessions.check(session, started.session_id, now=later) is None
        assert time.monotonic() - t0 < 2.0  # skipped, not waited for
    finally:
        holder.join()
    sessions.touch(session, started.session_id, now=later)
    session.expire_all()
    assert session.get(UserSession, started.session_id).last_seen == later
