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


# ---------------------------------------------------------------------------------------------
# Keyed chain, ids, and the head anchored outside the database (issue 17 §7)
# ---------------------------------------------------------------------------------------------
def _rewrite_all_unkeyed(engine, session, change_id):
    """What an attacker with write access to the database (but not the key) can do: change an
    entry, recompute every hash without the key, move the recorded head."""
    rows = session.query(AuditEntry).order_by(AuditEntry.id).all()
    prev = audit.GENESIS
    with engine.begin() as conn:
        for e in rows:
            target = "person:OTHER" if e.id == change_id else e.target
            h = audit._digest(prev, e.at, e.actor, e.action, target, e.detail)
            conn.execute(
                text(
                    "UPDATE audit_log SET target = :t, prev_hash = :p, hash = :h, mac = 'sha256' "
                    "WHERE id = :i"
                ),
                {"t": target, "p": "tmp-" + str(e.id), "h": "tmp-h-" + str(e.id), "i": e.id},
            )
            rows_new = (e.id, prev, h, target)
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": rows_new[1], "h": rows_new[2], "i": e.id},
            )
            prev = h
        conn.execute(
            text("UPDATE meta SET value = :v WHERE key = 'audit_head'"),
            {"v": f'{{"hash": "{prev}", "count": {len(rows)}}}'},
        )


def test_entries_are_keyed_and_numbered_without_gaps(session):
    _fill(session, 3)
    rows = session.query(AuditEntry).order_by(AuditEntry.id).all()
    assert [e.id for e in rows] == [1, 2, 3]
    assert {e.mac for e in rows} == {audit.MAC_SCHEME}
    # Without the key the hash cannot be recomputed: plain SHA-256 is not it.
    e = rows[0]
    assert e.hash != audit._digest(e.prev_hash, e.at, e.actor, e.action, e.target, e.detail)


def test_recomputed_chain_without_the_key_is_found(engine, session):
    _fill(session, 5)
    _drop_guards(engine)
    try:
        _rewrite_all_unkeyed(engine, session, change_id=3)
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok
    # Every link and plain hash holds, but the last committed head is anchored outside.
    assert result.first_broken_id == 5
    assert "differs from the hash anchored" in result.reason


def test_emptied_log_is_found_through_the_anchor(engine, session):
    _fill(session, 4)
    _drop_guards(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
            conn.execute(text("DELETE FROM meta WHERE key = 'audit_head'"))
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok
    assert "records entry #4" in result.reason


def test_gap_in_ids_is_found_even_when_the_links_are_rejoined(engine, session):
    _fill(session, 5)
    rows = session.query(AuditEntry).order_by(AuditEntry.id).all()
    _drop_guards(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
            # Re-link entry 4 to entry 2 (the link is visible data; the MAC is not recomputable).
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p WHERE id = 4"), {"p": rows[1].hash}
            )
        session.expire_all()
        result = audit.verify(session)
    finally:
        _restore_guards(engine)
    assert not result.ok and result.first_broken_id == 4
    assert "follows #2" in result.reason


def test_wrong_key_is_reported(session, monkeypatch, tmp_path):
    _fill(session, 2)
    monkeypatch.setenv("FANGCANG_SECRET_KEY", "another-key-" + "x" * 40)
    result = audit.verify(session)
    assert not result.ok and "audit key" in result.reason


def test_anchor_written_after_commit_only(session):
    audit.log(session, actor="a", action="person.view")
    session.rollback()
    path = audit.anchor_path(session.get_bind())
    assert not path.exists()
    audit.log(session, actor="a", action="person.view")
    audit.log(session, actor="a", action="person.view")
    session.commit()
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[1] == "2"  # last entry of the transaction
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    result = audit.verify(session)
    assert result.ok and result.anchored == 1 and result.notes == ()


def test_legacy_unkeyed_entries_are_reported_and_then_protected(engine, session):
    """A database from before migration 0010: unkeyed entries verify and are reported."""
    prev = audit.GENESIS
    at = audit.now_local()
    with engine.begin() as conn:
        for i in (1, 2):
            h = audit._digest(prev, at, "old", "person.view", str(i), "{}")
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, "
                    "hash, mac) VALUES (:i, :at, 'old', 'person.view', :t, '{}', :p, :h, "
                    "'sha256')"
                ),
                {"i": i, "at": at, "t": str(i), "p": prev, "h": h},
            )
            prev = h
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('audit_head', :v)"),
            {"v": f'{{"hash": "{prev}", "count": 2}}'},
        )
    result = audit.verify(session)
    assert result.ok and result.legacy == 2
    assert "2 unkeyed legacy entries (#1-#2)" in result.notes[0]
    assert audit.anchor_head(session) == (2, prev)
    audit.log(session, actor="new", action="person.view")
    session.commit()
    result = audit.verify(session)
    assert result.ok and result.legacy == 2 and result.checked == 3
