"""A demo extension's chunks leave the WAL checkpoint to the gap between writes
(``fangcang.demo.builder.checkpoint_in_gap``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.demo.builder import checkpoint_in_gap


def _autocheckpoint(raw) -> int:
    return int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_no_automatic_checkpoint_inside_and_the_setting_restored(sqlite_engine):
    path = Path(sqlite_engine.url.database)
    with Session(sqlite_engine) as session:
        raw = session.connection().connection.dbapi_connection
        raw.execute("PRAGMA wal_autocheckpoint = 1")  # outside: a checkpoint at every commit
        session.commit()
        with checkpoint_in_gap(session):
            assert _autocheckpoint(raw) == 0
            size = path.stat().st_size
            db.set_meta(session, "probe", "x" * 200_000)  # ~50 new pages, one commit
            session.commit()
            assert path.stat().st_size == size  # still only in the log
            session.connection().exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            session.commit()
            assert path.stat().st_size > size  # the gap's checkpoint copies it
        assert _autocheckpoint(raw) == 1
        with pytest.raises(RuntimeError), checkpoint_in_gap(session):
            raise RuntimeError("interrupted")
        assert _autocheckpoint(raw) == 1


def test_nothing_changes_elsewhere(engine):
    with Session(engine) as session, checkpoint_in_gap(session):
        db.set_meta(session, "probe", "y")
        session.commit()
        assert db.get_meta(session, "probe") == "y"
