"""Staged loads (fangcang.importer.staged): large record files built beside their tables in
short transactions and swapped in at once, on SQLite; the same result as one transaction."""

from __future__ import annotations

import sqlite3
import time

import pytest
from importer_support import snapshot
from sqlalchemy import text
from sqlalchemy.orm import Session

from fangcang import aggregates, db
from fangcang.importer import import_bundle, staged
from fangcang.importer.example import frames, write_example_bundle
from fangcang.models import ImportStatus

RECORDS = ("houses.csv", "people.csv", "places.csv", "objects.csv", "events.csv", "incidents.csv")


@pytest.fixture(autouse=True)
def _reports(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setattr(staged, "PAUSE_S", 0)
    monkeypatch.setattr(staged, "COPY_ROWS", 3)  # several chunks on tiny data
    monkeypatch.setattr(staged, "UPSERT_ROWS", 2)
    monkeypatch.setattr(staged, "TARGET_S", 1e-6)  # chunks shrink to single rows


def _records_only(tmp_path, name="feed", **changes) -> object:
    """The example bundle's record files alone (no parents), people P001 changed."""
    folder = write_example_bundle(tmp_path / name)
    for p in folder.iterdir():
        if p.name not in RECORDS:
            p.unlink()
    people = frames()["people"]
    for col, value in changes.items():
        people.loc[people["person_id"] == "P001", col] = value
    people.to_csv(folder / "people.csv", index=False)
    return folder


def _sqlite(engine) -> bool:
    return engine.dialect.name == "sqlite"


def _leftovers(engine) -> list[str]:
    if not _sqlite(engine):
        return []
    with engine.connect() as c:
        names = c.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        meta = c.execute(text("SELECT key FROM meta WHERE key LIKE 'staged_load:%'")).all()
    return [n for n in names if "__new" in n or "__old" in n or "__chg" in n] + [m[0] for m in meta]


def _consistent(engine) -> None:
    """The aggregates equal a full rebuild from the records."""
    before = snapshot(engine)
    with Session(engine) as s:
        aggregates.rebuild(s)
        s.commit()
    assert snapshot(engine) == before


def test_staged_load_gives_the_same_database_as_one_transaction(engine, tmp_path):
    base = write_example_bundle(tmp_path / "base")
    feed = _records_only(tmp_path, updated_at="2026-11-01 09:00:00", community_id="C002")
    # the reference: the same two imports, one transaction each, in a second database
    ref = db.make_engine(f"sqlite:///{tmp_path / 'ref.db'}")
    db.upgrade(ref)
    for e, stage in ((ref, False), (engine, True)):
        assert import_bundle(e, base, stage=False).status == ImportStatus.OK
        e.dispose()  # a fresh connection: no pragma of the first import carried over
        result = import_bundle(e, feed, stage=stage)
        assert result.status == ImportStatus.OK, result.report
    if _sqlite(engine):  # (the two backends format values differently: compare on one)
        assert snapshot(engine) == snapshot(ref)
        assert result.aggregates["people"] == "staged"
    else:  # PostgreSQL writers do not wait for an import: one transaction, as asked not to
        assert "staged" not in result.aggregates.values()
    assert result.updated["people"] == 8 and result.inserted["people"] == 0
    _consistent(engine)
    assert _leftovers(engine) == []
    ref.dispose()


def test_second_staged_load_returns_the_index_names(engine, tmp_path):
    if not _sqlite(engine):
        pytest.skip("staged loads are SQLite only (PostgreSQL writers do not wait)")

    def indexes():
        with engine.connect() as c:
            return dict(
                c.execute(
                    text(
                        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
                        "AND sql IS NOT NULL AND tbl_name IN ('people', 'agg_population')"
                    )
                ).all()
            )

    import_bundle(engine, write_example_bundle(tmp_path / "base"), stage=False)
    live = indexes()
    assert import_bundle(engine, _records_only(tmp_path, "a"), stage=True).ok
    assert indexes() == {staged._index_name(k): v for k, v in live.items()}
    assert import_bundle(engine, _records_only(tmp_path, "b"), stage=True).ok
    assert indexes() == live
    _consistent(engine)


def test_writes_by_others_during_a_staged_load_are_kept(engine, tmp_path, monkeypatch):
    if not _sqlite(engine):
        pytest.skip("staged loads are SQLite only (PostgreSQL writers do not wait)")
    import_bundle(engine, write_example_bundle(tmp_path / "base"), stage=False)
    feed = _records_only(tmp_path, updated_at="2026-11-01 09:00:00")
    people = frames()["people"]
    people["updated_at"] = "2026-11-01 09:00:00"
    people[people["person_id"].isin(["P001", "P003"])].to_csv(feed / "people.csv", index=False)
    stage_aggregates = staged.stage_aggregates

    def meanwhile(raw, st):
        # another writer (a visit, a correction) while the copy is being built
        if st.name == "people":
            with Session(engine) as s, aggregates.track(s, {"people": ["P001", "P002", "P003"]}):
                s.execute(text("UPDATE people SET community_id = 'C004' WHERE person_id = 'P002'"))
                s.execute(text("UPDATE people SET name = 'older' WHERE person_id = 'P001'"))
                s.execute(
                    text(
                        "UPDATE people SET name = 'newer', "
                        "updated_at = '2027-01-01 00:00:00.000000' WHERE person_id = 'P003'"
                    )
                )
                s.commit()
        return stage_aggregates(raw, st)

    monkeypatch.setattr(staged, "stage_aggregates", meanwhile)
    result = import_bundle(engine, feed, stage=True)
    assert result.ok, result.report
    with engine.connect() as c:
        rows = dict(c.execute(text("SELECT person_id, community_id FROM people")).all())
        names = dict(c.execute(text("SELECT person_id, name FROM people")).all())
    assert rows["P002"] == "C004"  # not in the feed: the other write stands
    assert names["P003"] == "newer"  # strictly newer than the feed's copy: kept
    assert names["P001"] == people.set_index("person_id").loc["P001", "name"]  # feed newer
    _consistent(engine)
    assert _leftovers(engine) == []


def test_a_failing_staged_load_changes_nothing_and_leaves_nothing(engine, tmp_path, monkeypatch):
    import_bundle(engine, write_example_bundle(tmp_path / "base"), stage=False)
    before = snapshot(engine)

    def broken(raw, st):
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr(staged, "stage_aggregates", broken)
    result = import_bundle(engine, _records_only(tmp_path, name="x"), stage=True)
    if _sqlite(engine):
        assert result.status == ImportStatus.FAILED and "simulated" in result.report
    assert snapshot(engine) == before or not _sqlite(engine)
    assert _leftovers(engine) == []


def test_a_failing_swap_changes_nothing_and_leaves_nothing(engine, tmp_path, monkeypatch):
    import_bundle(engine, write_example_bundle(tmp_path / "base"), stage=False)
    before = snapshot(engine)
    swap_in = aggregates.swap_in

    def broken(session, parts):  # after the renames, inside the final transaction
        swap_in(session, parts)
        raise sqlite3.OperationalError("database disk image is malformed (simulated)")

    monkeypatch.setattr(aggregates, "swap_in", broken)
    result = import_bundle(engine, _records_only(tmp_path, name="x"), stage=True)
    if _sqlite(engine):
        assert result.status == ImportStatus.FAILED and "simulated" in result.report
        assert snapshot(engine) == before
    assert _leftovers(engine) == []


def test_an_interrupted_load_is_cleaned_up_or_waited_for(engine, tmp_path):
    if not _sqlite(engine):
        pytest.skip("staged loads are SQLite only")
    import_bundle(engine, write_example_bundle(tmp_path / "base"), stage=False)
    before = snapshot(engine)
    from fangcang.models import Person

    with engine.connect() as conn:  # a load that stopped after its copy was begun
        raw = conn.connection.driver_connection
        raw.commit()
        staged.begin(raw, Person.__table__)
    assert _leftovers(engine)
    busy = import_bundle(engine, _records_only(tmp_path, "busy"), stage=True)
    assert busy.status == ImportStatus.FAILED and "another large import" in busy.report
    assert snapshot(engine) == before
    with engine.begin() as c:  # its heartbeat stops: a crash
        old = time.time() - staged.STALE_S - 1
        c.execute(
            text("UPDATE meta SET value = 'x ' || :t WHERE key = 'staged_load:people'"),
            {"t": f"{old:.0f}"},
        )
    assert import_bundle(engine, _records_only(tmp_path, "after"), stage=True).ok
    assert _leftovers(engine) == []
    _consistent(engine)


def test_small_files_and_postgresql_are_not_staged(engine):
    assert staged.wanted("sqlite", staged.MIN_ROWS)
    assert not staged.wanted("sqlite", staged.MIN_ROWS - 1)
    assert not staged.wanted("postgresql", 10 * staged.MIN_ROWS)
