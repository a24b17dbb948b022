"""First load: a whole bundle, in parts, into an empty database in one transaction.

The demo (and any first start from department exports) fills empty tables with millions of
rows. The ordinary importer (``fangcang.importer.bundle``) upserts into tables that may hold
data: it compares keys, keeps every index up to date row by row and refreshes the aggregates of
what it touched. Into empty tables none of that is needed, so ``import_first``:

- validates every part exactly like any import (``validate._validate``: same reader, same
  checks, references resolved against what the earlier parts loaded in this transaction);
- appends the rows with plain INSERT (SQLite) or ``COPY`` (PostgreSQL), with the record
  tables' secondary indexes dropped at the start and built once at the end. On SQLite a
  worker process (``WORKERS``, a fresh interpreter: ``_start_pool``) validates the record
  parts and writes each kind's rows into a scratch SQLite file (``load.write_scratch``: Arrow
  and ADBC's bulk ingest, no Python row tuples), while this process copies the finished files in (``ATTACH`` and one
  ``INSERT ... SELECT`` each, ``load.copy_scratch``) and builds indexes and aggregates: the
  two cores work at once. Parts that bring divisions, stations, officers or communities are
  checked and written here (what follows them is checked against them);
- computes the aggregates once, set-wise (``aggregates.rebuild``: ``INSERT ... SELECT ...
  GROUP BY``), and the check history once (``checks.record_last_checks``);
- writes one import log row, audit entry and data-version bump for the whole bundle.

All of it is one transaction: a rejected row in any part, or a database error, rolls back
everything (the import log then records the failure, as for any import). On SQLite the load
runs with ``synchronous=OFF`` (a crash during a first load loses only that load; the WAL keeps
the file consistent) and restores the connection's settings afterwards.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .. import aggregates, checks, tempfiles
from ..config import get_settings
from ..models import Community, ImportStatus
from ..timeutil import now_local
from . import kinds as K
from . import rejected
from .bundle import _begin_write, _end_write, _load, _record, _stamp
from .geojson import GEOJSON
from .load import copy_scratch, create_indexes, detach, drop_indexes, write_scratch
from .reader import SUFFIXES, write_errors
from .report import BundleReport, ImportResult, Progress, _result_text
from .validate import _load_refs, _noop, _options, _validate

log = logging.getLogger(__name__)

Phase = Callable[[str], AbstractContextManager]
#: SQLite page cache during a first load, in KiB (an ordinary import uses
#: ``bundle.SQLITE_CACHE_KB``): appends and index builds need little, and it counts in memory.
CACHE_KB = 100_000
#: Worker processes of a first load on SQLite (``import_first(workers=...)``).
WORKERS = 1


def _database_errors() -> tuple[type[BaseException], ...]:
    """Errors of the database (a key stored twice, a constraint): raised by SQLAlchemy, or by
    the drivers themselves for the bulk statements run on the raw connection."""
    errors: list[type[BaseException]] = [DBAPIError, sqlite3.Error]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:  # no PostgreSQL driver installed: SQLite only
        log.debug("psycopg not installed")
    return tuple(errors)


def _no_phase(name: str) -> AbstractContextManager:
    return nullcontext()


def _empty(session: Session) -> list[str]:
    """Tables that already hold rows (communities and the record tables)."""
    full = []
    if session.scalar(select(func.count()).select_from(Community)):
        full.append("communities")
    for kind in K.KINDS:
        if kind.basic:
            name = kind.model.__tablename__
            if session.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first():  # noqa: S608
                full.append(name)
    return full


def _merge(total: BundleReport, part: BundleReport) -> None:
    """Add one part's report to the bundle's (files' rows added up, notes once)."""
    for name, rows in part.files.items():
        total.files[name] = total.files.get(name, 0) + rows
    for name, rows in part.accepted.items():
        total.accepted[name] = total.accepted.get(name, 0) + rows
    for name, info in part.file_info.items():
        total.file_info.setdefault(name, info)
    total.notes.extend(n for n in part.notes if n not in total.notes)


def import_first(
    engine: Engine,
    parts: Sequence[str | Path],
    *,
    folder: str | Path | None = None,
    actor: str = "cli",
    channel: str = "cli",
    progress: Progress | None = None,
    phase: Phase | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import a bundle given as ``parts`` (folders, parents first) into an empty database.

    Parameters
    ----------
    engine : Engine
        SQLite or PostgreSQL; its communities and record tables must be empty.
    parts : sequence of folders
        Each a bundle folder (any of the files ``import_bundle`` reads). The reference files
        (divisions, stations, officers, communities) come in the first part; a big record
        file may be split over several parts (one file per kind per part), so that only one
        part's rows are in memory at a time.
    folder : path, optional
        The bundle as named in the import log (default: the first part).
    actor, channel : str
        As for ``import_bundle``.
    progress : callable(fraction, message), optional
    phase : callable(name) -> context manager, optional
        Wraps each step (``validate``, ``load``, ``indexes``, ``aggregates``, ``checks``,
        ``commit``), e.g. to measure its memory.
    workers : int, optional
        SQLite: worker processes that validate the parts and write their rows to scratch
        files while this process copies the finished ones in, builds indexes and aggregates
        (default ``WORKERS`` on a machine with more than one core, else 0: all in this
        process, the next part validated in a thread). PostgreSQL: always in this process.

    Returns
    -------
    ImportResult
        As ``import_bundle``'s: ``counts`` per kind added up over the parts, ``aggregates``
        ``full`` for each kind, ``timings`` (wall seconds per step, ``cpu_*`` process CPU).
        A failed result changed nothing but its import-log row.

    Raises
    ------
    ValueError
        The database already holds communities or records, or ``parts`` is empty.
    """
    parts = [Path(p) for p in parts]
    if not parts:
        raise ValueError("import_first needs at least one part folder")
    progress = progress or _noop
    phase = phase or _no_phase
    started, started_at, stamp = time.perf_counter(), now_local(), _stamp()
    reports_dir = get_settings().reports_dir
    rejected.purge_rejected(reports_dir)
    result = ImportResult(status=ImportStatus.FAILED, folder=Path(folder or parts[0]))
    total = BundleReport(folder=result.folder)
    cpu = {"cpu_validate": 0.0, "cpu_load": 0.0}
    cpu |= {"cpu_worker_validate": 0.0, "cpu_worker_write": 0.0}
    failed: BundleReport | None = None
    # The last part holding each record kind: its table is complete after that part.
    last = {k.name: i for i, p in enumerate(parts) for k in K.KINDS if k.basic and _has(p, k.name)}
    if workers is None:
        workers = WORKERS if (os.cpu_count() or 1) > 1 else 0

    def validate(part: Path, session: Session | None, refs) -> tuple[BundleReport, float]:
        c0 = time.thread_time()
        options = _options(part, None, None)
        if isinstance(options, BundleReport):
            return options, time.thread_time() - c0
        report = _validate(session, part, False, _noop, options=options, refs=refs)
        return report, time.thread_time() - c0

    scratch_dir: Path | None = None
    attached: list[str] = []
    try:
        with (
            engine.connect() as conn,
            Session(bind=conn) as session,
            ThreadPoolExecutor(1, thread_name_prefix="first-load-validate") as ahead,
        ):
            raw = conn.connection.driver_connection
            sqlite = isinstance(raw, sqlite3.Connection)
            pool = None
            if sqlite and workers > 0:
                pool = _start_pool(workers)
                # Rows with names and ID numbers: the private temp folder (0700), named with
                # this process id so that a start-up sweep removes it if the process is killed.
                scratch_dir = tempfiles.make_dir("first-load")
            ahead_of: dict[int, Future] = {}  # part index -> its worker task
            segments: dict[int, list[tuple[str, Path]]] = {}  # part index -> scratch files done
            pending = None
            if sqlite:  # (only outside a transaction)
                raw.execute("PRAGMA synchronous=OFF")
            try:
                _begin_write(session)
                if sqlite:  # a smaller page cache than an ordinary import's: memory
                    raw.execute(f"PRAGMA cache_size=-{CACHE_KB}")
                held = _empty(session)
                if held:
                    raise ValueError(
                        "import_first loads into an empty database; these tables hold rows: "
                        + ", ".join(held)
                    )
                dropped = {
                    k.name: (k.model.__table__, drop_indexes(session, k.model.__table__))
                    for k in K.KINDS
                    if k.basic
                }
                n, refs = len(parts), None
                for i, part in enumerate(parts):
                    t0 = time.perf_counter()
                    by_worker = pool is not None and not _has_parents(part)
                    if by_worker and i not in ahead_of:
                        # This part and those after it up to the next one bringing parents go
                        # to the workers at once, checked against what exists now; each record
                        # kind's rows of the run collect in one scratch file.
                        refs = refs or _load_refs(session)
                        files = _submit_run(pool, parts, i, refs, scratch_dir, ahead_of)
                        for kind, (j, path) in files.items():
                            segments.setdefault(j, []).append((kind, path))
                    with phase("validate"):
                        if by_worker:
                            report, used = ahead_of.pop(i).result()
                            for key, seconds in used.items():
                                cpu[f"cpu_worker_{key}"] += seconds
                        elif pending is not None:  # validated while the previous part was written
                            report, used = pending.result()
                            cpu["cpu_validate"] += used
                        else:
                            report, used = validate(part, session, None)
                            cpu["cpu_validate"] += used
                    timed(result, "validate", t0)
                    progress(0.9 * (i + 0.3) / n, f"checked part {i + 1} of {n}")
                    _merge(total, report)
                    if not report.ok:
                        failed = report
                        break
                    pending = None
                    if by_worker:
                        pass
                    elif i + 1 < n and pool is None and not _has_parents(part):
                        # Validate the next part in a thread while this one is written (SQLite
                        # and psycopg release the GIL while they work): only when this part
                        # brings no parents (the next part is checked against what exists now).
                        refs = refs or _load_refs(session)
                        pending = ahead.submit(validate, parts[i + 1], None, refs)
                    else:
                        refs = None
                    t0, c0 = time.perf_counter(), time.thread_time()
                    with phase("load"):
                        if by_worker:
                            _count_part(result, report)
                            for kind, path in segments.pop(i, []):
                                _copy_in(session, kind, path, attached, result)
                        else:
                            _load(
                                session,
                                report,
                                lambda f, m, lo=i / n: progress(
                                    0.9 * (lo + (0.3 + 0.7 * f) / n), m
                                ),
                                result,
                                first=True,
                            )
                        del report
                    timed(result, "load", t0)
                    done = [k for k, j in last.items() if j == i]
                    _complete(session, done, dropped, result, phase, progress, 0.9 * (i + 1) / n)
                    cpu["cpu_load"] += time.thread_time() - c0
                if failed is None:
                    result.status = ImportStatus.OK
                    result.files = dict(total.files)
                    result.timings["aggregates"] = round(
                        sum(v for k, v in result.timings.items() if k.startswith("aggregates_")),
                        3,
                    )
                    result.duration_s = round(time.perf_counter() - started, 3)
                    result.report = _result_text(total, result)
                    result.log_id = _record(session, result, started_at, actor, channel)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    with phase("commit"):
                        session.commit()
                    timed(result, "commit", t0, c0)
                else:
                    session.rollback()
            finally:
                if pending is not None:
                    pending.cancel()
                if pool is not None:  # a failure: the part under way finishes, the rest not
                    pool.shutdown(wait=True, cancel_futures=True)
                if sqlite:
                    if raw.in_transaction:  # an error on the way: nothing stays
                        raw.rollback()
                    detach(raw, attached)
                    raw.execute("PRAGMA synchronous=NORMAL")
            if failed is None:
                t0, c0 = time.perf_counter(), time.thread_time()
                with phase("checkpoint"):
                    _end_write(session)
                timed(result, "checkpoint", t0, c0)
            elif sqlite:
                raw.execute("PRAGMA cache_size=-2000")
    except _database_errors() as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        result.status = ImportStatus.FAILED
        result.report = (
            total.text() + f"\nthe database rejected the bundle; nothing was imported: {reason}"
        )
        failed = failed or total
    finally:
        tempfiles.remove(scratch_dir)  # (logs a failure)
    result.timings.update({k: round(v, 3) for k, v in cpu.items()})
    if failed is not None:
        result.status = ImportStatus.FAILED
        result.files = dict(total.files)
        result.errors = list(failed.errors)
        result.rejected = failed.rejected
        result.counts, result.inserted = {}, {}
        if not failed.ok:
            result.error_report = write_errors(
                failed.errors, reports_dir / f"import-{stamp}-errors.csv", failed.unlisted
            )
            result.report = _result_text(failed, result)
        result.duration_s = round(time.perf_counter() - started, 3)
        with Session(engine) as session:
            result.log_id = _record(session, result, started_at, actor, channel)
            session.commit()
    progress(1.0, f"import {result.status.value}")
    log.info(
        "first load %s by %s: %s in %d parts, %d rows rejected, %.1f s, timings %s",
        result.folder.name,
        channel,
        result.status.value,
        len(parts),
        result.rejected,
        result.duration_s,
        result.timings,
    )
    return result


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh interpreters (spawn), started now.

    A spawned process first re-runs the parent's ``__main__`` module unless it is a
    package's ``__main__``; under Streamlit that is the app script (the demo builds from a
    server thread), which must not run in a worker. So the processes start while
    ``__main__`` is a placeholder without a file (the parent's own one is put back at once).
    """
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )
    saved = sys.modules.get("__main__")
    placeholder = types.ModuleType("__main__")
    sys.modules["__main__"] = placeholder
    try:
        for _ in range(workers):  # each submit with no idle worker starts one
            pool.submit(int)
    finally:
        if sys.modules.get("__main__") is placeholder and saved is not None:
            sys.modules["__main__"] = saved
    return pool


def _watch_parent(parent: int) -> None:
    """In a worker: end when the process that started it has gone (killed: a worker waiting
    for its next part would otherwise wait for ever, holding its memory)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, name="first-load-parent", daemon=True).start()


#: Record kind by name.
_KINDS = {k.name: k for k in K.KINDS if k.basic}


def _prepare(part: str, refs, scratch: dict[str, str]) -> tuple[BundleReport, dict]:
    """In a worker process: validate one part as any import (against ``refs``, what exists
    before it) and append its rows to the scratch files ``scratch`` ({kind: path}). Returns
    the report without its rows (they travel in the files) and the CPU seconds used
    (``validate``, ``write``)."""
    c0 = time.process_time()
    folder = Path(part)
    options = _options(folder, None, None)
    report = options
    if not isinstance(options, BundleReport):
        report = _validate(None, folder, False, _noop, options=options, refs=refs)
    c1 = time.process_time()
    if report.ok:
        for name, table in report.tables.items():
            write_scratch(scratch[name], _KINDS[name].model.__table__, table.valid)
    for table in report.tables.values():
        table.frame, table.raw = table.frame.iloc[0:0], None
    _release_memory()
    return report, {"validate": c1 - c0, "write": time.process_time() - c1}


def _release_memory() -> None:
    """Give the part's freed memory back to the system (Arrow's pool keeps it otherwise)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _submit_run(pool, parts: list[Path], i: int, refs, scratch_dir: Path, tasks: dict) -> dict:
    """Give the workers parts ``i``, ``i + 1``, ... up to the next part bringing parents (or
    the end); each record kind of the run gets one scratch file. Returns {kind: (index of the
    run's last part holding it, scratch file)}."""
    files: dict[str, tuple[int, Path]] = {}
    j = i
    while j < len(parts) and not _has_parents(parts[j]):
        kinds = [name for name in _KINDS if _has(parts[j], name)]
        for name in kinds:
            files[name] = (j, scratch_dir / f"{i}-{name}.db")
        scratch = {name: str(files[name][1]) for name in kinds}
        tasks[j] = pool.submit(_prepare, str(parts[j]), refs, scratch)
        j += 1
    return files


def _count_part(result: ImportResult, report: BundleReport) -> None:
    """A part's rows in the result's counts (as ``bundle._load`` counts an appended frame)."""
    for name, rows in report.accepted.items():
        result.counts[name] = result.counts.get(name, 0) + rows
        result.inserted[name] = result.inserted.get(name, 0) + rows
        result.updated[name] = result.updated.get(name, 0)
        result.unchanged[name] = result.unchanged.get(name, 0)


def _copy_in(session: Session, kind: str, path: Path, attached: list, result) -> None:
    """Append a kind's scratch file of rows to its table (``load.copy_scratch``)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    copy_scratch(session, path, _KINDS[kind].model.__table__, attached)
    timed(result, f"load_{kind}", t0, c0)


def timed(result: ImportResult, key: str, t0: float, c0: float | None = None) -> None:
    """Add the wall seconds since ``t0`` to ``result.timings[key]`` (and this thread's CPU
    seconds since ``c0`` to ``cpu_<key>``)."""
    result.timings[key] = round(result.timings.get(key, 0.0) + time.perf_counter() - t0, 3)
    if c0 is not None:
        key = f"cpu_{key}"
        result.timings[key] = round(result.timings.get(key, 0.0) + time.thread_time() - c0, 3)


def _has(part: Path, kind: str) -> bool:
    """Does the part hold a file of ``kind`` (names compared as ``validate`` does)?"""
    names = {p.name.lower() for p in part.iterdir()} if part.is_dir() else set()
    return any(f"{kind}{suffix}" in names for suffix in SUFFIXES)


def _has_parents(part: Path) -> bool:
    """Does this part bring divisions, stations, officers or communities?"""
    names = ("sub_districts", "stations", "officers")
    files = {p.name.lower() for p in part.iterdir()} if part.is_dir() else set()
    return any(_has(part, k) for k in names) or GEOJSON in files


def _complete(session, kinds, dropped, result, phase, progress, at: float) -> None:
    """A record table is complete: its aggregates (set-wise, by a plain scan before its
    indexes exist), its indexes (one sort each) and its check history, once."""
    for name in [k.name for k in K.KINDS if k.name in kinds]:
        progress(at, f"aggregates and indexes of {name}")
        t0, c0 = time.perf_counter(), time.thread_time()
        with phase("aggregates"):
            aggregates.rebuild(session, tables=[name])
        timed(result, f"aggregates_{name}", t0, c0)
        result.aggregates[name] = "full"
        t0, c0 = time.perf_counter(), time.thread_time()
        table, indexes = dropped[name]
        with phase("indexes"):
            create_indexes(session, table, indexes)
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f'ANALYZE "{table.name}"'))
        timed(result, "indexes", t0, c0)
        if name in checks.FACTOR_TABLES:
            t0, c0 = time.perf_counter(), time.thread_time()
            with phase("checks"):
                checks.record_last_checks(session, tables=[name])
            timed(result, "checks", t0, c0)
