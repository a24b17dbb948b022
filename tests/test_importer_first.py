"""First load (fangcang.importer.first): a bundle in parts into an empty database, in one
transaction, gives exactly what the ordinary importer gives; a rejected row anywhere leaves
nothing (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from fangcang import aggregates, demo, tempfiles
from fangcang.demo import builder
from fangcang.importer import first, import_bundle, load
from fangcang.importer.first import import_first
from fangcang.models import Base
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)
RECORDS = ["sub_districts", "stations", "officers", "communities", "houses", "people"]
RECORDS += ["places", "objects", "events", "incidents", "factor_checks"]
#: Columns that differ between two loads by design (when the row was written).
VOLATILE = {"factor_checks": {"id", "recorded_at"}}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    demo.write_bundle(folder, scale="small", seed=7, until=UNTIL)
    return folder


def _parts(bundle: Path, out: Path, monkeypatch, rows: int = 600) -> list[Path]:
    monkeypatch.setattr(builder, "PART_BYTES", 1)
    present = [f for f in builder.FILES if (bundle / f).exists()]
    monkeypatch.setattr(builder, "PART_ROWS", rows)
    return builder._parts(bundle, present, out)


def _snapshot(engine) -> dict[str, list]:
    """Every record and aggregate row, as sorted tuples of text."""
    out = {}
    with Session(engine) as s:
        for name in RECORDS + list(aggregates.AGGS):
            table = Base.metadata.tables[name]
            cols = [c.name for c in table.columns if c.name not in VOLATILE.get(name, ())]
            if name in aggregates.AGGS:
                cols = list(aggregates.AGGS[name].columns)
            rows = s.execute(text(f"SELECT {', '.join(cols)} FROM {name}")).all()  # noqa: S608
            out[name] = sorted(tuple("" if v is None else str(v) for v in r) for r in rows)
    return out


def _wipe(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in RECORDS or table.name in aggregates.AGGS:
                conn.execute(table.delete())


def _count(engine, table: str) -> int:
    with Session(engine) as s:
        return int(s.scalar(text(f"SELECT count(*) FROM {table}")))  # noqa: S608


def _spy_scratch(monkeypatch) -> list:
    """Record the scratch folders the first load makes (rows with personal data)."""
    made: list = []
    real = tempfiles.make_dir

    def spy(kind: str):
        path = real(kind)
        made.append(path)
        return path

    monkeypatch.setattr(tempfiles, "make_dir", spy)
    return made


def _assert_scratch_private_and_gone(engine, made: list) -> None:
    if engine.dialect.name != "sqlite":  # PostgreSQL: COPY in-process, no scratch files
        assert made == []
        return
    assert len(made) == 1  # the SQLite first load's worker wrote its rows there ...
    folder = made[0]
    assert folder.parent == tempfiles.private_dir()  # ... in the private 0700 folder,
    assert folder.name.startswith(f"fangcang-first-load-{os.getpid()}-")  # swept if killed
    assert not folder.exists()  # and removed at the end


def test_a_part_with_the_communities_file_in_capitals_brings_reference_data(tmp_path):
    part = tmp_path / "part-0"
    part.mkdir()
    (part / "Communities.GeoJSON").write_text("{}", encoding="utf-8")
    assert first._has_parents(part)  # compared as validation compares names
    (part / "Communities.GeoJSON").unlink()
    (part / "houses.csv").write_text("", encoding="utf-8")
    assert not first._has_parents(part)


def test_first_load_in_parts_equals_the_ordinary_import(engine, bundle, tmp_path, monkeypatch):
    ordinary = import_bundle(engine, bundle, actor="t", channel="test", stage=False)
    assert ordinary.ok and not ordinary.rejected
    expected = _snapshot(engine)
    assert len(expected["people"]) > 1000 and expected["agg_incident_day"]
    _wipe(engine)

    parts = _parts(bundle, tmp_path / "parts", monkeypatch)
    assert len(parts) > len(builder.STAGES)  # big files really came in several parts
    made = _spy_scratch(monkeypatch)
    result = import_first(engine, parts, folder=bundle, actor="t", channel="test")
    assert result.ok, result.report
    _assert_scratch_private_and_gone(engine, made)
    assert result.counts == ordinary.counts
    assert result.files == ordinary.files
    assert _snapshot(engine) == expected
    with Session(engine) as s:  # the aggregates are what a full rebuild makes
        aggregates.rebuild(s)
        s.commit()
    assert _snapshot(engine) == expected
    with Session(engine) as s:  # one import log row and one audit entry, as any import
        logs = s.execute(
            text("SELECT status, files, counts, bundle FROM import_log ORDER BY id")
        ).all()
        assert len(logs) == 2
        status, files, counts, folder = logs[-1]
        assert status.lower() == "ok"
        assert json.loads(files) == ordinary.files and json.loads(counts) == ordinary.counts
        assert folder == str(bundle)
        audit = s.execute(text("SELECT action FROM audit_log")).scalars().all()
        assert audit == ["import.bundle", "import.bundle"]
    # The indexes dropped for the load are back, under the model's names.
    from sqlalchemy import inspect

    names = {ix["name"] for ix in inspect(engine).get_indexes("people")}
    assert {ix.name for ix in Base.metadata.tables["people"].indexes} <= names


def test_several_districts_with_their_own_reference_files_load_as_one_first_load(
    engine, bundle, tmp_path, monkeypatch
):
    """A city's first load (bench/bench_city.py --first-load): each district's parts, its
    divisions, stations, officers and communities in its own first part, one after the other
    in one first load, give what the ordinary importer gives for the districts in turn."""
    other = tmp_path / "district1"
    builder.write_bundle(other, scale="small", seed=8, until=UNTIL, district=1)
    counts: dict[str, int] = {}
    for folder in (bundle, other):
        ordinary = import_bundle(engine, folder, actor="t", channel="test", stage=False)
        assert ordinary.ok and not ordinary.rejected
        for name, n in ordinary.counts.items():
            counts[name] = counts.get(name, 0) + n
    expected = _snapshot(engine)
    _wipe(engine)

    parts = _parts(bundle, tmp_path / "parts0", monkeypatch)
    parts += _parts(other, tmp_path / "parts1", monkeypatch)
    result = import_first(engine, parts, folder=tmp_path, actor="t", channel="test")
    assert result.ok, result.report
    assert result.counts == counts
    assert _count(engine, "communities") == len(expected["communities"]) > 120
    assert _snapshot(engine) == expected


def test_a_rejected_row_in_a_later_part_leaves_the_database_empty(
    engine, bundle, tmp_path, monkeypatch
):
    parts = _parts(bundle, tmp_path / "parts", monkeypatch)
    last = next(p for p in reversed(parts) if (p / "incidents.csv").exists())
    assert last != parts[0]
    with open(last / "incidents.csv", "a", encoding="utf-8") as f:
        f.write(
            '"JQ999999999",2026-10-01 10:00:00,"no_such_category","",120.66,28.03,'
            '"330302006001",0,false,"110",2026-10-01 11:00:00\n'
        )
    made = _spy_scratch(monkeypatch)
    result = import_first(engine, parts, folder=bundle, actor="t", channel="test")
    assert not result.ok and result.rejected == 1
    _assert_scratch_private_and_gone(engine, made)
    assert "no_such_category" in result.report and result.error_report.exists()
    for name in RECORDS + list(aggregates.AGGS):
        assert _count(engine, name) == 0, name
    with Session(engine) as s:
        logs = s.execute(text("SELECT status, counts FROM import_log")).all()
    assert len(logs) == 1 and logs[0][0].lower() == "failed" and json.loads(logs[0][1]) == {}
    # The connection settings are back: an ordinary import works on the same engine.
    again = import_bundle(engine, bundle, actor="t", channel="test", stage=False)
    assert again.ok and _count(engine, "people") == again.counts["people"]


def test_a_duplicate_key_across_parts_is_a_clear_failure(engine, bundle, tmp_path, monkeypatch):
    """Within a file the reader rejects repeated keys; across parts the database does."""
    parts = _parts(bundle, tmp_path / "parts", monkeypatch)
    people = [p for p in parts if (p / "people.csv").exists()]
    assert len(people) > 1
    first_row = (people[0] / "people.csv").read_text(encoding="utf-8").splitlines()[1]
    with open(people[-1] / "people.csv", "a", encoding="utf-8") as f:
        f.write(first_row + "\n")
    result = import_first(engine, parts, folder=bundle, actor="t", channel="test")
    assert not result.ok
    assert "nothing was imported" in result.report
    assert _count(engine, "people") == 0 and _count(engine, "communities") == 0


def test_first_load_refuses_a_database_that_holds_records(engine, bundle, tmp_path, monkeypatch):
    assert import_bundle(engine, bundle, actor="t", channel="test", stage=False).ok
    parts = _parts(bundle, tmp_path / "parts", monkeypatch)
    with pytest.raises(ValueError, match="empty database"):
        import_first(engine, parts, folder=bundle)
    with pytest.raises(ValueError, match="at least one part"):
        import_first(engine, [])


def _quoted(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as con:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
        sql = f"SELECT {', '.join(f'quote({c})' for c in cols)} FROM {table} ORDER BY rowid"  # noqa: S608
        return con.execute(sql).fetchall()


def test_scratch_rows_are_the_values_the_loader_would_insert(tmp_path, monkeypatch, caplog):
    """The worker's scratch rows (Arrow + ADBC, or executemany without ADBC) hold exactly what
    the loader's own executemany stores: text times, 0/1 booleans, NULL for missing, REAL."""
    table = Base.metadata.tables["incidents"]
    frame = pd.DataFrame(
        {
            "incident_id": ["JQ1", "JQ2", "JQ3"],
            "occurred_at": pd.to_datetime(
                ["2026-10-01 10:00:00", "2025-01-31 23:59:59.500", None], format="ISO8601"
            ),
            "category": ["criminal", "public_order", "traffic"],
            "subtype": ["assault", None, "其他"],
            "lon": [120.66, float("nan"), 120.7],
            "lat": [28.03, 28.0, float("nan")],
            "community_id": ["330302006001", "330302006002", None],
            "loss_yuan": [0.0, 1500.25, float("nan")],
            "alcohol_related": [True, False, True],
            "source": ["110", "110", ""],
            "updated_at": pd.to_datetime(["2026-10-01 11:00:00"] * 3),
        }
    )
    columns = list(frame.columns)
    expected = tmp_path / "expected.db"
    with sqlite3.connect(expected) as con:
        con.execute(load._scratch_ddl(table, columns))
        marks = ", ".join("?" for _ in columns)
        con.executemany(
            f"INSERT INTO incidents VALUES ({marks})",  # noqa: S608
            list(load._rows(frame, table, columns, "sqlite")),
        )
    caplog.set_level("INFO", logger="fangcang.importer.load")
    assert load.write_scratch(tmp_path / "adbc.db", table, frame) == 3
    assert "through executemany" not in caplog.text  # the Arrow route was taken
    assert _quoted(tmp_path / "adbc.db", "incidents") == _quoted(expected, "incidents")
    monkeypatch.setitem(sys.modules, "adbc_driver_sqlite.dbapi", None)  # not installed
    assert load.write_scratch(tmp_path / "plain.db", table, frame) == 3
    assert "through executemany" in caplog.text
    assert _quoted(tmp_path / "plain.db", "incidents") == _quoted(expected, "incidents")
    assert _quoted(expected, "incidents")[1][1] == "'2025-01-31 23:59:59.500000'"
