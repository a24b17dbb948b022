"""Large loads on SQLite without holding the write lock: build beside the table, then swap.

SQLite lets one connection write at a time. A 400,000-row upsert in one transaction holds that
lock for its whole length (tens of seconds at full size) and every sign-in, task feedback or
check-in waits behind it. A *staged* load of table ``T`` instead:

1. **begin** (one short transaction): creates ``T__new`` with ``T``'s columns and constraints
   (its explicit indexes under the other of two names, ``_index_name``), a change log
   ``T__chg`` kept by triggers on ``T`` (what other writers change meanwhile), and a token in
   ``meta`` naming this load;
2. **copy** ``T``'s rows into ``T__new`` and **upsert** the incoming rows into it ("newer
   wins", ``load.conflict_clause``), in chunks of short transactions with a pause between
   them so that a waiting writer gets the lock (SQLite's busy handler polls every 100 ms);
3. **aggregates** of ``T__new`` computed by reading only (temporary tables of this connection);
   the aggregates ``T`` alone feeds are filled into ``<agg>__new`` copies in chunks too;
4. **swap**, in the caller's final transaction (``swap``): rows other writers changed meanwhile
   are re-applied (``replay``); ``T`` and its aggregate tables are renamed ``__old`` and the
   copies take their names; ``T``'s share of the shared aggregates is replaced; the caller
   adds its import log, audit entry and data version and commits;
5. **purge**: the ``__old`` tables are emptied in chunks and dropped.

Readers see the old rows until the swap commits and the new ones after (one transaction). A
crash before it leaves the live tables untouched; the leftovers (copies, change log, triggers,
token) are removed by the next staged load (``cleanup``).

Only SQLite needs this: on PostgreSQL a long import blocks no other writer (row locks), so it
stays one transaction (``fangcang.importer.bundle``).
"""

# ruff: noqa: S608  (SQL is built from table, column and index names of the schema, never input)
from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.orm import Session

from .. import aggregates, checks, writeturn
from .load import LoadCounts, conflict_clause, driver_rows

log = logging.getLogger(__name__)

#: A load of at least this many rows into a SQLite table is staged (smaller ones are quick).
MIN_ROWS = 20_000
#: Rows of the first short transaction of each kind of step (copy, upsert, fill, purge) ...
COPY_ROWS = 10_000
UPSERT_ROWS = 5_000
#: ... then sized so that each holds the lock about this long (the machine's load varies).
TARGET_S = 0.2
#: Pause after each short transaction where writers cannot mark their wait (no ``fcntl``):
#: longer than the busy handler's 100 ms poll (``fangcang.writeturn``).
PAUSE_S = 0.12
#: A token younger than this belongs to a load still running (its heartbeat); older: a crash.
STALE_S = 600
#: Suffix of the other set of index names (a copy cannot reuse the live table's index names).
ALT = "__b"
NEW, OLD, CHG = "__new", "__old", "__chg"


class StagingBusy(RuntimeError):
    """Another staged load of the same table is running; nothing was changed."""


def wanted(dialect: str, rows: int) -> bool:
    """Whether a load of ``rows`` rows should be staged on this backend."""
    return dialect == "sqlite" and rows >= MIN_ROWS


def _index_name(name: str) -> str:
    """The other name of a live index (``ix`` <-> ``ix__b``)."""
    return name[: -len(ALT)] if name.endswith(ALT) else name + ALT


class _Chunks:
    """Rows per short transaction, resized after each so that it takes about ``TARGET_S``."""

    def __init__(self, rows: int):
        self.rows = max(int(rows), 1)
        self.first = self.rows

    def took(self, seconds: float, rows: int) -> None:
        if rows < self.rows or seconds <= 0:  # a last, short chunk says little
            return
        scale = min(max(TARGET_S / seconds, 0.25), 2.0)
        self.rows = int(min(max(self.rows * scale, self.first // 20, 1), self.first * 20))


@dataclass
class Staged:
    """One table's staged load (see the module docstring)."""

    table: Table
    token: str
    pk: str
    owned: list[str] = field(default_factory=list)  # aggregates fed by this table alone
    shared: list[tuple[str, str, str]] = field(default_factory=list)  # (agg, temp, owner)
    counts: LoadCounts = field(default_factory=LoadCounts)
    timings: dict[str, float] = field(default_factory=dict)
    checks: bool = False  # check events staged in _chk_<table>

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def tables(self) -> list[str]:
        return [self.name, *self.owned]


# ---------------------------------------------------------------------------------------------
# Short write transactions on the raw connection
# ---------------------------------------------------------------------------------------------
def _write(raw: sqlite3.Connection, fn: Callable[[], None], pause: bool = True) -> float:
    """Run ``fn`` in one short write transaction, then pause so waiting writers get in.
    Returns the seconds the lock was held."""
    raw.execute("BEGIN IMMEDIATE")
    t0 = time.perf_counter()
    try:
        fn()
    except BaseException:
        raw.rollback()
        raise
    raw.commit()
    took = time.perf_counter() - t0
    if pause:
        writeturn.yield_to_writers(writeturn.database_path(raw), fallback=PAUSE_S)
    return took


def _names(raw: sqlite3.Connection, kind: str) -> set[str]:
    return {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))}


def _meta_key(table: str) -> str:
    return f"staged_load:{table}"


def _heartbeat(raw: sqlite3.Connection, table: str, token: str) -> None:
    raw.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
        "value = excluded.value",
        (_meta_key(table), f"{token} {time.time():.0f}"),
    )


def _drop_leftovers(raw: sqlite3.Connection, table: str, owned: list[str]) -> None:
    """Drop what a staged load of ``table`` left behind (emptied in chunks first)."""
    for trig in _names(raw, "trigger"):
        if trig.startswith(f"{table}{CHG}_"):
            _write(raw, lambda t=trig: raw.execute(f'DROP TRIGGER "{t}"'), pause=False)
    tables = _names(raw, "table")
    for name in (table, *owned):
        for suffix in (NEW, OLD):
            if name + suffix in tables:
                _purge(raw, name + suffix)
    if table + CHG in tables:
        _write(raw, lambda: raw.execute(f'DROP TABLE "{table}{CHG}"'), pause=False)
    _write(raw, lambda: raw.execute("DELETE FROM meta WHERE key = ?", (_meta_key(table),)))


def drop_leftovers(raw: sqlite3.Connection, staged: Staged) -> None:
    """Remove one staged load's copies, change log, triggers and token (it failed)."""
    raw.rollback()
    _drop_leftovers(raw, staged.name, staged.owned)


def cleanup(raw: sqlite3.Connection, table: str) -> None:
    """Remove a crashed staged load's leftovers for ``table`` (none: nothing happens).

    Raises
    ------
    StagingBusy
        A staged load of ``table`` is still running (its heartbeat is recent).
    """
    row = raw.execute("SELECT value FROM meta WHERE key = ?", (_meta_key(table),)).fetchone()
    if row is not None:
        _, _, beat = row[0].partition(" ")
        if beat and time.time() - float(beat) < STALE_S:
            raise StagingBusy(
                f"another large import of {table} is running; try again when it has finished"
            )
    tables = _names(raw, "table")
    owned = _owned_aggregates(table)
    left = [n + s for n in (table, *owned) for s in (NEW, OLD) if n + s in tables]
    if row is not None or left or table + CHG in tables:
        log.warning("removing the leftovers of an interrupted large import of %s", table)
        _drop_leftovers(raw, table, owned)


def _purge(raw: sqlite3.Connection, name: str) -> None:
    """Empty ``name`` in chunks of short transactions, then drop it (a single DROP of a big
    table frees every page under the lock: seconds)."""
    size = _Chunks(COPY_ROWS)
    while True:
        box = {}

        def chunk(box=box, rows=size.rows) -> None:
            cur = raw.execute(
                f'DELETE FROM "{name}" WHERE rowid IN (SELECT rowid FROM "{name}" LIMIT {rows})'
            )
            box["n"] = cur.rowcount

        size.took(_write(raw, chunk), size.rows)
        if not box["n"]:
            break
    _write(raw, lambda: raw.execute(f'DROP TABLE "{name}"'), pause=False)


def _owned_aggregates(table: str) -> list[str]:
    """Aggregate tables fed by ``table`` alone (replaced as a whole at the swap)."""
    if table not in aggregates.RECORD_TABLES:
        return []
    sql, parts = aggregates.stage_sql(table, table, "sqlite")
    return [agg for agg, _, owner in parts if not owner]


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
def _create_copy(raw: sqlite3.Connection, name: str) -> None:
    """``name__new`` with ``name``'s columns and constraints, indexes under their other names."""
    ddl = raw.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()[0]
    head, _, rest = ddl.partition("(")
    raw.execute(f'CREATE TABLE "{name}{NEW}" (' + rest)
    for ix_name, sql in raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (name,),
    ).fetchall():
        cols = sql[sql.index("(", sql.upper().index(" ON ")) :]
        unique = "UNIQUE " if sql.upper().startswith("CREATE UNIQUE") else ""
        raw.execute(f'CREATE {unique}INDEX "{_index_name(ix_name)}" ON "{name}{NEW}" {cols}')


def begin(raw: sqlite3.Connection, table: Table) -> Staged:
    """Step 1: the copy tables, the change log and its triggers, the token (one transaction).

    Raises
    ------
    StagingBusy
        Another staged load of this table is running.
    """
    name = table.name
    cleanup(raw, name)
    pk = aggregates.PRIMARY_KEYS.get(name) or next(iter(table.primary_key.columns)).name
    staged = Staged(table=table, token=uuid.uuid4().hex, pk=pk, owned=_owned_aggregates(name))

    def work() -> None:
        for t in staged.tables:
            _create_copy(raw, t)
        raw.execute(f'CREATE TABLE "{name}{CHG}" (id VARCHAR(64) PRIMARY KEY)')
        for event, ref in (
            ("INSERT", "NEW"),
            ("UPDATE", "OLD"),
            ("UPDATE", "NEW"),
            ("DELETE", "OLD"),
        ):
            trig = f"{name}{CHG}_{event.lower()}_{ref.lower()}"
            raw.execute(
                f'CREATE TRIGGER "{trig}" AFTER {event} ON "{name}" BEGIN '
                f'INSERT OR IGNORE INTO "{name}{CHG}" (id) VALUES ({ref}."{pk}"); END'
            )
        _heartbeat(raw, name, staged.token)

    _write(raw, work)
    return staged


def copy_rows(raw: sqlite3.Connection, staged: Staged, progress=None) -> None:
    """Step 2a: the live rows into the copy, in primary-key order, chunk by chunk."""
    t0 = time.perf_counter()
    name, pk = staged.name, staged.pk
    last = None
    done = 0
    size = _Chunks(COPY_ROWS)
    while True:
        ids = [
            r[0]
            for r in raw.execute(
                f'SELECT "{pk}" FROM "{name}"'
                + (f' WHERE "{pk}" > ?' if last is not None else "")
                + f' ORDER BY "{pk}" LIMIT {size.rows}',
                (last,) if last is not None else (),
            )
        ]
        if not ids:
            break
        lo, hi = ids[0], ids[-1]

        def chunk(lo=lo, hi=hi) -> None:
            raw.execute(
                f'INSERT INTO "{name}{NEW}" SELECT * FROM "{name}" '
                f'WHERE "{pk}" >= ? AND "{pk}" <= ?',
                (lo, hi),
            )
            _heartbeat(raw, name, staged.token)

        size.took(_write(raw, chunk), len(ids))
        last = hi
        done += len(ids)
        if progress:
            progress(done)
    staged.timings["copy"] = round(time.perf_counter() - t0, 3)


def upsert_rows(
    raw: sqlite3.Connection,
    staged: Staged,
    frame: pd.DataFrame,
    on_conflict: str = "newer",
    progress=None,
) -> LoadCounts:
    """Step 2b: the incoming rows into the copy ("newer wins"), chunk by chunk; their ids kept
    in a temporary table for the replay. Rows are converted before each lock is taken."""
    t0 = time.perf_counter()
    table, name = staged.table, staged.name
    columns = [c.name for c in table.columns if c.name in frame.columns]
    col_sql = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{name}{NEW}" ({col_sql}) VALUES ({marks}) ' + conflict_clause(
        table, columns, on_conflict, target=name + NEW
    )
    raw.execute(f'DROP TABLE IF EXISTS "_in_{name}"')
    raw.execute(f'CREATE TEMP TABLE "_in_{name}" (id VARCHAR(64) PRIMARY KEY)')
    raw.executemany(
        f'INSERT OR IGNORE INTO "_in_{name}" (id) VALUES (?)',
        ((str(v),) for v in frame[staged.pk]),
    )
    raw.commit()  # the temporary table only (no lock on the database)
    before = raw.execute(f'SELECT count(*) FROM "{name}{NEW}"').fetchone()[0]
    changed = 0
    n = len(frame)
    size = _Chunks(UPSERT_ROWS)
    start = 0
    while start < n:
        step = size.rows
        rows = driver_rows(frame.iloc[start : start + step], table, columns, "sqlite")
        box = {}

        def chunk(rows=rows, box=box) -> None:
            cur = raw.executemany(sql, rows)
            box["n"] = max(cur.rowcount, 0)
            _heartbeat(raw, name, staged.token)

        size.took(_write(raw, chunk), len(rows))
        changed += box["n"]
        start += step
        if progress:
            progress(min(start, n))
    inserted = raw.execute(f'SELECT count(*) FROM "{name}{NEW}"').fetchone()[0] - before
    counts = LoadCounts(inserted=inserted, updated=changed - inserted, unchanged=n - changed)
    staged.counts = counts
    staged.timings["upsert"] = round(time.perf_counter() - t0, 3)
    return counts


def stage_aggregates(raw: sqlite3.Connection, staged: Staged) -> None:
    """Step 3: the copy's aggregates by reading (temporary tables); those of the aggregates it
    alone feeds written into their ``__new`` copies in chunks."""
    t0 = time.perf_counter()
    name = staged.name
    if name not in aggregates.RECORD_TABLES:
        return
    sql, parts = aggregates.stage_sql(name, name + NEW, "sqlite")
    for stmt in sql:
        raw.execute(stmt)
    raw.commit()
    staged.shared = [p for p in parts if p[2]]
    for agg, tmp, _ in parts:
        if agg not in staged.owned:
            continue
        cols = ", ".join(aggregates.AGGS[agg].columns)
        total = raw.execute(f"SELECT max(rowid) FROM {tmp}").fetchone()[0] or 0
        size, lo = _Chunks(COPY_ROWS * 2), 0
        while lo < total:
            hi = lo + size.rows

            def chunk(lo=lo, hi=hi, agg=agg, tmp=tmp, cols=cols) -> None:
                raw.execute(
                    f'INSERT INTO "{agg}{NEW}" ({cols}) SELECT * FROM {tmp} '
                    f"WHERE rowid > {lo} AND rowid <= {hi}"
                )

            size.took(_write(raw, chunk), min(hi, total) - lo)
            lo = hi
        raw.execute(f"DROP TABLE {tmp}")
        raw.commit()
    staged.timings["aggregates"] = round(time.perf_counter() - t0, 3)


def stage_checks(raw: sqlite3.Connection, staged: Staged, source: str = "import") -> None:
    """Step 3b: the copy's last-check dates not yet on file as check events (a temporary table
    read at the swap; ``fangcang.checks``). Tables holding no factors: nothing to do."""
    name = staged.name
    if name not in checks.FACTOR_TABLES:
        return
    (sel,) = checks.new_check_events(source, [name], read_from={name: name + NEW})
    sql = str(sel.compile(dialect=sqlite_dialect(), compile_kwargs={"literal_binds": True}))
    raw.execute(f'DROP TABLE IF EXISTS "_chk_{name}"')
    raw.execute(f'CREATE TEMP TABLE "_chk_{name}" AS {sql}')
    raw.commit()
    staged.checks = True


# ---------------------------------------------------------------------------------------------
# Swap (in the caller's final transaction) and purge
# ---------------------------------------------------------------------------------------------
def swap(session: Session, staged: Staged) -> int:
    """Step 4, inside the caller's write transaction: check the token, rename, replace the
    shared aggregate rows, re-apply what other writers changed meanwhile. Returns the number
    of rows re-applied.

    Raises
    ------
    StagingBusy
        The token is gone (another load took over after this one stalled): nothing swapped.
    """
    t0 = time.perf_counter()
    raw = session.connection().connection.driver_connection
    name = staged.name
    row = raw.execute("SELECT value FROM meta WHERE key = ?", (_meta_key(name),)).fetchone()
    if row is None or row[0].split(" ")[0] != staged.token:
        raise StagingBusy(f"another large import of {name} took over; nothing was imported")
    for trig in _names(raw, "trigger"):
        if trig.startswith(f"{name}{CHG}_"):
            raw.execute(f'DROP TRIGGER "{trig}"')
    for t in staged.tables:
        raw.execute(f'ALTER TABLE "{t}" RENAME TO "{t}{OLD}"')
        raw.execute(f'ALTER TABLE "{t}{NEW}" RENAME TO "{t}"')
    aggregates.swap_in(session, staged.shared)
    if staged.checks:
        cols = ", ".join(checks.CHECK_COLUMNS)
        raw.execute(
            f'INSERT INTO factor_checks ({cols}) SELECT * FROM "_chk_{name}" c WHERE NOT EXISTS '
            "(SELECT 1 FROM factor_checks f WHERE f.kind = c.kind AND "
            "f.record_id = c.record_id AND f.checked_on = c.checked_on)"
        )
        raw.execute(f'DROP TABLE "_chk_{name}"')
    changed = [r[0] for r in raw.execute(f'SELECT id FROM "{name}{CHG}"')]
    if changed:
        _replay(session, raw, staged, changed)
    raw.execute("DELETE FROM meta WHERE key = ?", (_meta_key(name),))
    staged.timings["swap"] = round(time.perf_counter() - t0, 3)
    return len(changed)


def _replay(session: Session, raw, staged: Staged, changed: list[str]) -> None:
    """Re-apply rows other writers changed during the load (now in ``T__old``) to ``T``.

    A row the import did not bring takes the other writer's version as it is; a row it
    brought keeps the imported version unless the other writer's is strictly newer (as if the
    other write came first and the import followed it: "newer wins", ties to the import). A row
    the other writer deleted is deleted unless the import brought it. Aggregates follow
    (``aggregates.track``)."""
    name, pk = staged.name, staged.pk
    cols = [c.name for c in staged.table.columns]
    col_sql = ", ".join(f'"{c}"' for c in cols)
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != pk)
    ids = f'(SELECT id FROM "{name}{CHG}")'
    incoming = f'(SELECT id FROM "_in_{name}")'
    with aggregates.track(session, {name: changed}, full_share=1.0):
        raw.execute(
            f'INSERT INTO "{name}" ({col_sql}) SELECT {col_sql} FROM "{name}{OLD}" o '
            f'WHERE o."{pk}" IN {ids} AND o."{pk}" NOT IN {incoming} AND true '
            f'ON CONFLICT ("{pk}") DO UPDATE SET {sets}'
        )
        raw.execute(
            f'INSERT INTO "{name}" ({col_sql}) SELECT {col_sql} FROM "{name}{OLD}" o '
            f'WHERE o."{pk}" IN {ids} AND o."{pk}" IN {incoming} AND true '
            f'ON CONFLICT ("{pk}") DO UPDATE SET {sets} '
            f'WHERE excluded."updated_at" > "{name}"."updated_at"'
        )
        raw.execute(
            f'DELETE FROM "{name}" WHERE "{pk}" IN {ids} AND "{pk}" NOT IN {incoming} '
            f'AND "{pk}" NOT IN (SELECT "{pk}" FROM "{name}{OLD}" WHERE "{pk}" IN {ids})'
        )
    log.info("staged load of %s: %d rows changed by other writers re-applied", name, len(changed))


def purge(raw: sqlite3.Connection, staged: Staged) -> None:
    """Step 5, after the commit: the old tables emptied in chunks and dropped."""
    t0 = time.perf_counter()
    for t in staged.tables:
        _purge(raw, t + OLD)
    _write(raw, lambda: raw.execute(f'DROP TABLE "{staged.name}{CHG}"'), pause=False)
    raw.execute(f'DROP TABLE IF EXISTS "_in_{staged.name}"')
    staged.timings["purge"] = round(time.perf_counter() - t0, 3)
