"""Bulk upsert of validated frames, inside the caller's transaction.

SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` in large chunks (plain INSERT
when the table is empty). PostgreSQL: ``COPY`` into a temporary staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (``COPY`` straight into an empty table).

Conflict rule ("newer wins"): an incoming row replaces the stored one when its ``updated_at``
is later than or equal to the stored ``updated_at``; an older row leaves the stored one as is.
Equal timestamps overwrite, so re-importing a corrected file with unchanged timestamps applies
the correction, and importing the same bundle twice still leaves the same database.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Table, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHUNK = 200_000
#: Rows per ``executemany`` / COPY batch of ``append`` (its driver values are made per batch:
#: a smaller batch holds less memory at the same speed).
APPEND_CHUNK = 50_000
#: Rows above which an empty SQLite table gets its secondary indexes rebuilt after the load.
INDEX_REBUILD_ROWS = 50_000


@dataclass
class LoadCounts:
    """What an upsert did: new rows, replaced rows, rows left alone (stored one newer)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _db_values(series: pd.Series, column, dialect: str) -> list:
    """One column as a Python list the driver accepts (None for missing)."""
    ctype = column.type
    if isinstance(ctype, DateTime | Date):
        values = pd.to_datetime(series, errors="coerce").to_numpy(dtype="datetime64[us]")
        unit = "D" if isinstance(ctype, Date) and not isinstance(ctype, DateTime) else "us"
        # Format each distinct value once (dates and export stamps repeat a lot).
        codes, uniques = pd.factorize(values)
        texts = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[us]"), unit=unit)
        # SQLAlchemy's SQLite storage format: "YYYY-MM-DD HH:MM:SS.ffffff".
        formatted = np.array([t.replace("T", " ") for t in texts.tolist()] + [None], dtype=object)
        return formatted[codes].tolist()  # code -1 (NaT) picks the trailing None
    if isinstance(ctype, Boolean):
        values = series.astype(bool).tolist()
        return [int(v) for v in values] if dialect == "sqlite" else values
    if isinstance(ctype, Integer):
        return pd.Series(series).astype("Int64").to_numpy(dtype=object, na_value=None).tolist()
    if isinstance(ctype, Float):
        s = pd.to_numeric(series, errors="coerce").astype(float)
        return s.to_numpy(dtype=object, na_value=None).tolist()
    return pd.Series(series).to_numpy(dtype=object, na_value=None).tolist()


def _rows(frame: pd.DataFrame, table: Table, columns: list[str], dialect: str):
    """Row tuples, made lazily (callers run this with the cyclic GC paused: millions of new
    tuples would trigger it over and over, and they hold no cycles)."""
    cols = [_db_values(frame[c], table.c[c], dialect) for c in columns]
    return zip(*cols, strict=True)


def _copy(
    cur, target: str, col_sql: str, frame: pd.DataFrame, table: Table, columns, chunk, progress
):
    """PostgreSQL ``COPY target FROM STDIN`` of ``frame``'s rows, ``chunk`` rows converted at a
    time; ``progress(rows_done)`` after each chunk."""
    n = len(frame)
    with cur.copy(f'COPY "{target}" ({col_sql}) FROM STDIN') as copy:
        for start in range(0, n, chunk):
            for row in _rows(frame.iloc[start : start + chunk], table, columns, "postgresql"):
                copy.write_row(row)
            if progress:
                progress(min(start + chunk, n))


def conflict_clause(
    table: Table, columns: list[str], on_conflict: str, target: str | None = None
) -> str:
    """The ``ON CONFLICT`` clause of an upsert of ``columns`` into ``target`` (default
    ``table``'s name; a staging copy of it), following the ``on_conflict`` rule."""
    target = target or table.name
    keys = [c.name for c in table.primary_key.columns]
    key_sql = ", ".join(f'"{k}"' for k in keys)
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    if on_conflict == "nothing" or not sets:
        return f"ON CONFLICT ({key_sql}) DO NOTHING"
    clause = f"ON CONFLICT ({key_sql}) DO UPDATE SET {sets}"
    if on_conflict == "newer":
        clause += f' WHERE excluded."updated_at" >= "{target}"."updated_at"'
    return clause


def driver_rows(frame: pd.DataFrame, table: Table, columns: list[str], dialect: str) -> list:
    """``frame``'s rows as tuples of driver values, in ``columns`` order (made eagerly, with the
    cyclic GC paused: so a caller can prepare them before it takes a lock)."""
    gc.disable()
    try:
        return list(_rows(frame, table, columns, dialect))
    finally:
        gc.enable()


def _count(session: Session, table: Table) -> int:
    return int(session.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one())  # noqa: S608


# Table and column names come from the SQLAlchemy metadata, never from input files (S608).
def upsert(
    session: Session,
    table: Table,
    frame: pd.DataFrame,
    *,
    on_conflict: str = "newer",
    progress: Callable[[int], None] | None = None,
) -> LoadCounts:
    """Insert or update ``frame``'s rows into ``table`` by primary key.

    Parameters
    ----------
    session : Session
        Its transaction holds the load; nothing is committed here.
    table : sqlalchemy.Table
    frame : DataFrame
        Columns named like the table's (extra columns ignored); keys unique.
    on_conflict : {"newer", "update", "nothing"}
        ``newer``: replace when incoming ``updated_at`` >= stored; ``update``: always replace;
        ``nothing``: keep the stored row.
    progress : callable(rows_done), optional
    """
    if on_conflict not in ("newer", "update", "nothing"):
        raise ValueError(f"on_conflict must be newer, update or nothing, got {on_conflict!r}")
    if frame.empty:
        return LoadCounts()
    columns = [c.name for c in table.columns if c.name in frame.columns]
    keys = [c.name for c in table.primary_key.columns]
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ValueError(f"frame for {table.name} lacks key column(s) {missing}")
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"bulk load supports sqlite and postgresql, not {dialect}")
    raw = conn.connection.driver_connection
    before = _count(session, table)
    n = len(frame)

    col_sql = ", ".join(f'"{c}"' for c in columns)
    conflict = conflict_clause(table, columns, on_conflict)

    changed = 0
    # Filling an empty table: build its secondary indexes once at the end (a sort) instead of
    # maintaining them row by row (random B-tree inserts). DDL is transactional on both.
    rebuild = drop_indexes(session, table) if not before and n >= INDEX_REBUILD_ROWS else []
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({col_sql}) VALUES ({marks})'  # noqa: S608
        if before:
            sql += " " + conflict
        cur = raw.cursor()
        gc.disable()
        try:
            for start in range(0, n, CHUNK):
                part = frame.iloc[start : start + CHUNK]
                cur.executemany(sql, _rows(part, table, columns, dialect))
                changed += max(cur.rowcount, 0)
                if progress:
                    progress(min(start + CHUNK, n))
        finally:
            gc.enable()
            cur.close()
    elif dialect == "postgresql":
        with raw.cursor() as cur:
            target = table.name
            if before:
                target = f"_stage_{table.name}"
                cur.execute(
                    f'CREATE TEMP TABLE "{target}" (LIKE "{table.name}" INCLUDING DEFAULTS) '
                    "ON COMMIT DROP"
                )
            gc.disable()
            try:
                _copy(cur, target, col_sql, frame, table, columns, CHUNK, progress)
            finally:
                gc.enable()
            if before:
                cur.execute(
                    f'INSERT INTO "{table.name}" ({col_sql}) SELECT {col_sql} FROM "{target}" '  # noqa: S608
                    + conflict
                )
                changed = max(cur.rowcount, 0)
                cur.execute(f'DROP TABLE "{target}"')
            else:
                changed = n
    create_indexes(session, table, rebuild)
    if dialect == "postgresql" and n >= INDEX_REBUILD_ROWS:
        session.execute(text(f'ANALYZE "{table.name}"'))  # fresh statistics for the aggregates

    if not before:
        changed = n
    after = _count(session, table)
    inserted = after - before
    return LoadCounts(inserted=inserted, updated=changed - inserted, unchanged=n - changed)


def drop_indexes(session: Session, table: Table) -> list:
    """Drop ``table``'s secondary indexes (to fill it faster); returns the model's indexes for
    ``create_indexes``. On SQLite every named index of the table goes (a staged load may have
    left them under other names); primary keys stay."""
    indexes = list(table.indexes)
    names = [ix.name for ix in indexes]
    if session.get_bind().dialect.name == "sqlite":
        names = list(
            session.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                    "AND sql IS NOT NULL"
                ),
                {"t": table.name},
            ).scalars()
        )
    for name in names:
        session.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    return indexes


def create_indexes(session: Session, table: Table, indexes: list) -> None:
    """Create ``indexes`` (from ``drop_indexes``) with the model's names, columns and
    uniqueness (as the migrations do)."""
    if not indexes:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for ix in indexes:
        cols = ", ".join(f'"{c.name}"' for c in ix.columns)
        unique = "UNIQUE " if ix.unique else ""
        session.execute(text(f'CREATE {unique}INDEX "{ix.name}" ON "{table.name}" ({cols})'))


def append(
    session: Session,
    table: Table,
    frame: pd.DataFrame,
    *,
    progress: Callable[[int], None] | None = None,
) -> LoadCounts:
    """Append ``frame``'s rows to ``table`` with plain INSERT (SQLite ``executemany``) or
    ``COPY`` (PostgreSQL), inside the caller's transaction: for a first load into empty
    tables (``fangcang.importer.first``). A key already stored is a database error (the
    caller rolls back); nothing is counted or compared.
    """
    if frame.empty:
        return LoadCounts()
    columns = [c.name for c in table.columns if c.name in frame.columns]
    conn = session.connection()
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    col_sql = ", ".join(f'"{c}"' for c in columns)
    n = len(frame)
    gc.disable()
    try:
        if dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            sql = f'INSERT INTO "{table.name}" ({col_sql}) VALUES ({marks})'  # noqa: S608
            cur = raw.cursor()
            try:
                for start in range(0, n, APPEND_CHUNK):
                    part = frame.iloc[start : start + APPEND_CHUNK]
                    cur.executemany(sql, _rows(part, table, columns, dialect))
                    if progress:
                        progress(min(start + APPEND_CHUNK, n))
            finally:
                cur.close()
        elif dialect == "postgresql":
            with raw.cursor() as cur:
                _copy(cur, table.name, col_sql, frame, table, columns, APPEND_CHUNK, progress)
        else:
            raise ValueError(f"bulk load supports sqlite and postgresql, not {dialect}")
    finally:
        gc.enable()
    return LoadCounts(inserted=n)


# ---------------------------------------------------------------------------------------------
# Scratch files: a first load's rows written by a worker process, copied in by the loader
# ---------------------------------------------------------------------------------------------
#: Scratch databases attached to the loading connection at most (SQLite's compile-time
#: ``SQLITE_MAX_ATTACHED`` is 10 in the usual builds; an attached file stays attached until the
#: transaction ends); further scratch files are copied through Python (slower, same rows).
ATTACH_BUDGET = 10


def _arrow_column(series: pd.Series, column):
    """One column as an Arrow array of the values ``_db_values`` gives SQLite (dates and
    times as SQLAlchemy's text format, booleans as 0/1, missing as null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ctype = column.type
    if isinstance(ctype, DateTime | Date):
        values = pd.to_datetime(series, errors="coerce").to_numpy(dtype="datetime64[us]")
        date_only = isinstance(ctype, Date) and not isinstance(ctype, DateTime)
        # "%S" of a microsecond timestamp carries the fraction: "YYYY-MM-DD HH:MM:SS.ffffff".
        fmt = "%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S"
        return pc.strftime(pa.array(values, type=pa.timestamp("us")), format=fmt)
    if isinstance(ctype, Boolean):
        return pa.array(series.astype(bool).to_numpy().astype(np.int64))
    if isinstance(ctype, Integer):
        return pa.array(pd.Series(series).astype("Int64"), type=pa.int64(), from_pandas=True)
    if isinstance(ctype, Float):
        s = pd.to_numeric(series, errors="coerce").astype(float)
        return pa.array(s, type=pa.float64(), from_pandas=True)
    values = pa.array(pd.Series(series), from_pandas=True)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        if not pa.types.is_null(values.type):
            raise TypeError(f"column {column.name}: {values.type} where text is stored")
    return values


def _scratch_ddl(table: Table, columns: list[str]) -> str:
    """The scratch copy of ``table``: its columns with the same declared types (so SQLite
    gives each value the same affinity), no keys, indexes or constraints."""
    from sqlalchemy.dialects import sqlite

    cols = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=sqlite.dialect())}' for c in columns)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({cols})'


def write_scratch(path, table: Table, frame: pd.DataFrame) -> int:
    """Append ``frame``'s rows to ``table``'s copy in the scratch SQLite file ``path`` (created
    if missing), as the values the loading connection would insert. Run by a first load's
    worker process; ``copy_scratch`` then moves them into the database in SQL.

    The rows go in through ADBC's bulk ingest of an Arrow table (C, about 3 us a row) where the
    ``adbc-driver-sqlite`` package is installed and every column converts; else through
    ``executemany`` (about 8 us a row). Returns the rows written.
    """
    import sqlite3

    if frame.empty:
        return 0
    columns = [c.name for c in table.columns if c.name in frame.columns]
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute(_scratch_ddl(table, columns))
    finally:
        con.close()
    try:
        import adbc_driver_sqlite.dbapi as adbc
        import pyarrow as pa

        data = pa.table({c: _arrow_column(frame[c], table.c[c]) for c in columns})
    except (ImportError, TypeError, ValueError) as exc:  # ArrowInvalid is a ValueError
        log.info("scratch rows of %s through executemany: %s", table.name, exc)
    else:
        with adbc.connect(str(path), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.adbc_ingest(table.name, data, mode="append")
        return len(frame)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        col_sql = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({col_sql}) VALUES ({marks})'  # noqa: S608
        gc.disable()
        try:
            for start in range(0, len(frame), APPEND_CHUNK):
                part = frame.iloc[start : start + APPEND_CHUNK]
                con.executemany(sql, _rows(part, table, columns, "sqlite"))
        finally:
            gc.enable()
        con.execute("COMMIT")
    finally:
        con.close()
    return len(frame)


def copy_scratch(session: Session, path, table: Table, attached: list[str]) -> int:
    """Append the rows of ``table``'s copy in the scratch file ``path`` (``write_scratch``) to
    ``table``, in the session's transaction (SQLite): ``ATTACH`` and one ``INSERT ... SELECT``
    (keys and constraints checked as for any insert). ``attached`` collects the schema names
    attached: they can only be detached once the transaction has ended (``detach``). Past
    ``ATTACH_BUDGET`` of them the rows are copied through Python. Returns the rows copied.
    """
    import sqlite3

    raw = session.connection().connection.driver_connection
    src = sqlite3.connect(path)
    try:
        columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table.name}")')]
        if not columns:
            return 0
        col_sql = ", ".join(f'"{c}"' for c in columns)
        if len(attached) < ATTACH_BUDGET:
            alias = f"scratch{len(attached)}"
            raw.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
            attached.append(alias)
            cur = raw.execute(
                f'INSERT INTO main."{table.name}" ({col_sql}) '  # noqa: S608
                f'SELECT {col_sql} FROM {alias}."{table.name}" ORDER BY rowid'
            )
            return max(cur.rowcount, 0)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO main."{table.name}" ({col_sql}) VALUES ({marks})'  # noqa: S608
        rows = src.execute(f'SELECT {col_sql} FROM "{table.name}" ORDER BY rowid')  # noqa: S608
        n = 0
        while chunk := rows.fetchmany(APPEND_CHUNK):
            raw.executemany(sql, chunk)
            n += len(chunk)
        return n
    finally:
        src.close()


def detach(raw, attached: list[str]) -> None:
    """Detach the scratch files ``copy_scratch`` attached to the sqlite3 connection ``raw``
    (once its transaction has ended)."""
    while attached:
        raw.execute(f"DETACH DATABASE {attached.pop()}")
