"""Writers' turns on SQLite (fangcang.writeturn): connections mark their writes, and a long
series of short writes lets the marked writers go first, without pausing when there are none."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from fangcang import db, writeturn
from fangcang.demo import builder


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  update t set x = 1", True),
        ("-- a comment\nDELETE FROM t", True),
        ("/* hint */ REPLACE INTO t VALUES (2)", True),
        ("CREATE INDEX ix ON t (x)", True),
        ("DROP TABLE t", True),
        ("BEGIN IMMEDIATE", True),
        ("BEGIN EXCLUSIVE", True),
        ("BEGIN", False),
        ("BEGIN DEFERRED", False),
        ("SELECT * FROM t", False),
        ("WITH a AS (SELECT 1) SELECT * FROM a", False),
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", True),
        ("PRAGMA wal_checkpoint(PASSIVE)", False),
        ("PRAGMA wal_checkpoint(TRUNCATE)", True),  # the importer's, after every import
        ("PRAGMA user_version = 3", True),
        ("PRAGMA incremental_vacuum", True),
        ("PRAGMA journal_mode", False),
        ("ANALYZE", True),
        ("BEGIN /* x */ IMMEDIATE", True),
        ("-- step 1; load\nINSERT INTO t VALUES (1)", True),
        ("SAVEPOINT sa_1", False),
        ("RELEASE SAVEPOINT sa_1", False),
        ("COMMIT", False),
        ("VALUES (1)", False),
        ("", False),
    ],
)
def test_writes_by_leading_keywords(sql, expected):
    assert writeturn.writes(sql) is expected


def test_turn_file_beside_the_database(tmp_path):
    path = tmp_path / "f.db"
    assert writeturn.turn_file(path) == str(path) + "-writers"
    assert writeturn.turn_file(f"file:{path}?mode=rw") == str(path) + "-writers"
    for memory in (None, "", ":memory:", "file:x?mode=memory&cache=shared"):
        assert writeturn.turn_file(memory) is None


def _held(path) -> bool:
    import fcntl
    import os

    fd = os.open(writeturn.turn_file(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_engine_connections_mark_from_first_write_to_transaction_end(tmp_path):
    path = tmp_path / "f.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert not _held(path)
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            assert not _held(path), "a read is not a write"
            conn.execute(text("INSERT INTO t VALUES (1)"))
            assert _held(path)
            conn.commit()
            assert not _held(path)
            conn.execute(text("UPDATE t SET x = 2"))
            assert _held(path)
            conn.rollback()
            assert not _held(path)
            # Raw sqlite3 use of the same connection (the importer's bulk loads) marks too.
            raw = conn.connection.driver_connection
            assert isinstance(raw, writeturn.TurnConnection)
            raw.execute("BEGIN IMMEDIATE")
            assert _held(path)
            raw.executemany("INSERT INTO t VALUES (?)", [(3,), (4,)])
            raw.commit()
            assert not _held(path)
            assert writeturn.database_path(raw) == str(path)
    finally:
        engine.dispose()


def test_a_waiting_writer_goes_first(tmp_path):
    """A long series of short writes (here: a plain sqlite3 connection, unmarked) commits and
    yields: the sign-in waiting meanwhile in SQLite's busy handler is in before it returns.
    Without the turn, the next write would begin at once and the sign-in poll again."""
    path = tmp_path / "f.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (who TEXT)")
    filler = sqlite3.connect(path, isolation_level=None, timeout=30)
    filler.execute("PRAGMA journal_mode=WAL")
    filler.execute("BEGIN IMMEDIATE")
    filler.execute("INSERT INTO t VALUES ('fill 1')")
    errors: list[BaseException] = []

    def sign_in() -> None:
        try:
            db.run_write(engine, lambda s: s.execute(text("INSERT INTO t VALUES ('sign-in')")))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    waiter = threading.Thread(target=sign_in)
    waiter.start()
    try:
        deadline = time.monotonic() + 30
        while not _held(path):  # the sign-in has marked its write and waits for the lock
            assert time.monotonic() < deadline, "the sign-in never marked its write"
            time.sleep(0.001)
        filler.execute("COMMIT")
        waited = writeturn.yield_to_writers(path, cap=30)
        rows = [r[0] for r in sqlite3.connect(path).execute("SELECT who FROM t ORDER BY rowid")]
        assert rows == ["fill 1", "sign-in"], rows
        assert waited > 0.0
    finally:
        waiter.join(30)
        filler.close()
        engine.dispose()
    assert not errors


def test_let_writers_in_does_not_pause_when_no_one_writes(tmp_path, monkeypatch):
    """Between the demo's short writes: no sleep at all when no writer waits (the old fixed
    0.15 s gaps were 24 s of a 130 s full-size build)."""
    from sqlalchemy.orm import Session

    engine = db.make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    slept: list[float] = []
    monkeypatch.setattr(writeturn.time, "sleep", slept.append)
    try:
        with Session(engine) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            for i in range(3):
                session.execute(text("INSERT INTO t VALUES (:i)"), {"i": i})
                assert builder.let_writers_in(session) < builder.WRITER_WAIT_SECONDS
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 3
    finally:
        engine.dispose()
    assert slept == []


def test_one_turn_file_through_a_symbolic_link(tmp_path):
    """A database reached through a link: the connections mark, and the yield looks at, the
    file SQLite opened (a staged import yielded on the other name and never saw a sign-in)."""
    real = tmp_path / "real.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    engine = db.make_engine(f"sqlite:///{link}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.commit()
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            raw = conn.connection.driver_connection
            assert writeturn.database_path(raw) == str(real)
            assert writeturn.turn_file(link) == writeturn.turn_file(real) == f"{real}-writers"
            assert _held(real)
            conn.commit()
            assert not _held(real)
    finally:
        engine.dispose()


def test_context_manager_and_isolation_level_end_the_mark(tmp_path):
    """Transactions ended in C (``with conn:``, setting ``isolation_level``) drop the mark too:
    a mark left held made every yield wait its full cap."""
    path = tmp_path / "f.db"
    raw = sqlite3.connect(path, factory=writeturn.TurnConnection)
    try:
        raw.execute("CREATE TABLE t (x INTEGER)")
        with raw:
            raw.execute("INSERT INTO t VALUES (1)")
            assert _held(path)
        assert not _held(path)
        with pytest.raises(ZeroDivisionError), raw:
            raw.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError
        assert not _held(path)
        raw.execute("INSERT INTO t VALUES (3)")
        assert _held(path)
        raw.isolation_level = None  # commits the open transaction
        assert not _held(path)
        assert [r[0] for r in raw.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    finally:
        raw.close()


def test_an_unusable_turn_file_never_fails_a_write(tmp_path, monkeypatch, caplog):
    """The turn file cannot be opened (here: a folder in its place; elsewhere another
    account's file): writes go on unmarked, logged once, and the yield falls back to a gap."""
    path = tmp_path / "f.db"
    (tmp_path / "f.db-writers").mkdir()
    engine = db.make_engine(f"sqlite:///{path}")
    slept: list[float] = []
    monkeypatch.setattr(writeturn.time, "sleep", slept.append)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        assert writeturn.yield_to_writers(path, fallback=0.15) == 0.15
    finally:
        engine.dispose()
    assert slept == [0.15]
    assert "unusable" in caplog.text
