"""The audit chain: append, verify, tamper and deletion found, append-only, concurrent writers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fangcang import audit
from fangcang.models import AuditEntry


def _fill(session, n=5):
    for i in range(n):
        audit.log(
            session, actor=f"u{i}", action="person.view", target=f"person:P{i}", detail={"rows": i}
        )
    session.commit()


def _drop_guards(engine):
    """What an attacker with database rights would do first: drop the append-only triggers."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def _restore_guards(engine):
    if engine.dialect.name == "postgresql":  # the PG test database is shared by later tests
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def test_empty_chain_verifies(session):
    assert audit.verify(session) == audit.VerifyResult(True, 0)


def test_entries_link_and_verify(session):
    _fill(session, 5)
    rows = session.query(AuditEntry).order_by(AuditEntry.id).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    result = audit.verify(session)
    assert result.ok and result.checked == 5


def test_log_requires_actor_and_action(session):
    with pytest.raises(ValueError, match="actor and an action"):
        audit.log(session, actor="", action="x")
    with pytest.raises(ValueError, match="actor and an action"):
        audit.log(session, actor="a", action="")


def test_database_refuses_update_and_delete(engine, session):
    _fill(session, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    assert audit.verify(session).ok


def test_tampered_entry_is_found(engine, session):
    _fill(session, 5)
    third = session.query(AuditEntry).order_by(AuditEntry.id).all()[2].id
    _drop_guards(engine)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET target = 'person:OTHER' WHERE id = :i"), {"i": third}
            )
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok
    assert result.first_broken_id == third
    assert result.checked == 2
    assert "does not match its hash" in result.reason


def test_deleted_entry_is_found(engine, session):
    _fill(session, 5)
    ids = [e.id for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    _drop_guards(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok
    assert result.first_broken_id == ids[2]  # the entry after the gap no longer links
    assert "link" in result.reason


def test_deleted_tail_is_found(engine, session):
    _fill(session, 4)
    last = max(e.id for e in session.query(AuditEntry))
    _drop_guards(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok and result.checked == 3
    assert "deleted" in result.reason


def test_entries_filters(session):
    audit.log(session, actor="alice", action="login.ok", target="alice")
    audit.log(session, actor="bob", action="login.fail", target="bob")
    audit.log(session, actor="alice", action="export.csv", target="warning")
    session.commit()
    assert list(audit.entries(session)["action"]) == ["export.csv", "login.fail", "login.ok"]
    assert list(audit.entries(session, action="login.")["actor"]) == ["bob", "alice"]
    assert list(audit.entries(session, actor="alice", action="login.ok")["id"]) == [1]
    assert list(audit.entries(session, target="warn")["action"]) == ["export.csv"]
    assert audit.actions(session) == ["export.csv", "login.fail", "login.ok"]
    with pytest.raises(ValueError):
        audit.entries(session, limit=0)


def test_concurrent_writers_keep_one_chain(engine):
    """Threads with their own connections append at once: no fork, nothing lost."""
    threads, per_thread = 4, 15
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(per_thread):
                with Session(engine) as s:
                    # A read first, as real callers do, then the audit write.
                    s.execute(text("SELECT COUNT(*) FROM meta"))
                    audit.log(s, actor=f"t{n}", action="person.view", target=f"{n}:{i}")
                    s.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with Session(engine) as s:
        result = audit.verify(s)
        assert result.ok, result
        assert result.checked == threads * per_thread


def test_long_lived_sessions_interleaving_keep_the_head_right(engine):
    """UI sessions keep objects across commits; the head must be read fresh every time."""
    with Session(engine, expire_on_commit=False) as a, Session(engine, expire_on_commit=False) as b:
        for i in range(3):
            audit.log(a, actor="a", action="person.view", target=str(i))
            a.commit()
            audit.log(b, actor="b", action="person.view", target=str(i))
            b.commit()
    with Session(engine) as fresh:
        result = audit.verify(fresh)
    assert result.ok, result
    assert result.checked == 6
