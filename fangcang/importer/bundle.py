"""Import a bundle (a folder of department files) in one transaction.

``import_bundle`` validates (``fangcang.importer.validate``; GeoJSON in ``geojson``), then
loads the accepted rows, keeps the aggregates in step (``aggregates.track``), writes the import
log and an audit entry and bumps the data version, all in one transaction. A bundle with
errors changes nothing (unless ``partial=True``: then the good rows are loaded and the rejected
ones written to a folder for correction, ``report``). Either way the outcome is recorded in
``import_log``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Collection
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .. import aggregates, audit, checks, db, geo
from ..config import get_settings
from ..models import (
    Community,
    ImportLog,
    ImportStatus,
    Officer,
    Station,
    SubDistrict,
)
from ..timeutil import now_local
from . import kinds as K
from . import rejected, staged
from .load import LoadCounts, append, upsert
from .reader import write_errors
from .report import BundleError, BundleReport, ImportResult, Progress, _result_text, _write_rejected
from .validate import _noop, _options, _validate, stable_station_id, validate_bundle

__all__ = [
    "BundleError",
    "BundleReport",
    "ImportResult",
    "import_bundle",
    "stable_station_id",
    "validate_bundle",
]

log = logging.getLogger(__name__)

#: SQLite page cache during an import, in KiB.
SQLITE_CACHE_KB = 512_000


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------
def _begin_write(session: Session) -> None:
    """Open the write transaction now (SQLite: BEGIN IMMEDIATE takes the write lock up front,
    and makes the bulk statements on the raw connection part of the same transaction)."""
    conn = session.connection()
    raw = conn.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        # A big page cache keeps index B-trees in memory during the bulk load (default 2 MB).
        raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        raw.execute("PRAGMA temp_store=MEMORY")
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")


def _end_write(session: Session, passive: bool = False) -> None:
    raw = session.connection().connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        raw.execute("PRAGMA cache_size=-2000")  # back to SQLite's default for pooled reuse
        # A big import leaves a WAL file as large as the data it wrote; fold it into the
        # database and truncate it (after the commit, so the data is safe either way).
        # TRUNCATE holds off other writers while it copies; after a staged load (many small
        # commits, the WAL already folded as it went) a PASSIVE checkpoint never blocks them.
        raw.execute(f"PRAGMA wal_checkpoint({'PASSIVE' if passive else 'TRUNCATE'})")


def _stamp() -> str:
    return now_local().strftime("%Y%m%d-%H%M%S-%f")[:-3]


def _accepted_frames(report: BundleReport) -> dict[str, pd.DataFrame]:
    return {name: t.valid for name, t in report.tables.items()}


def _update_sub_district_geometry(session: Session) -> None:
    """Each sub-district's geometry = the union of its communities (small: ~100 polygons)."""
    polys = geo.communities_frame(session)
    if polys.empty:
        return
    merged = polys.dissolve(by="sub_district_code")
    for code, geom in merged.geometry.items():
        sd = session.get(SubDistrict, code)
        if sd is None:
            continue
        sd.geometry = geo.to_geojson(geom)
        if sd.label_lon is None or sd.label_lat is None:
            point = geom.representative_point()
            sd.label_lon, sd.label_lat = point.x, point.y
    session.flush()


def _load(
    session: Session,
    report: BundleReport,
    progress: Progress,
    result: ImportResult,
    skip: Collection[str] = (),
    first: bool = False,
):
    """Load the accepted rows in ``session``'s transaction, parents first; ``skip``: record
    kinds loaded by a staged load instead (``fangcang.importer.staged``); ``first``: a first
    load into empty record tables (``fangcang.importer.first``): their rows appended, their
    aggregates left to the caller (computed once at the end)."""
    frames = {k: v for k, v in _accepted_frames(report).items() if k not in skip}
    tables = {m.__tablename__: m.__table__ for m in (SubDistrict, Station, Officer, Community)}
    total = sum(len(f) for f in frames.values()) + 1
    done = 0

    def run(name: str, table, frame: pd.DataFrame, mode: str) -> None:
        nonlocal done
        if frame is None or frame.empty:
            return
        base = done
        t0 = time.perf_counter()

        def step(n: int) -> None:
            progress((base + n) / total, f"loading {name}: {n:,} rows")

        counts: LoadCounts = (
            append(session, table, frame, progress=step)
            if mode == "append"
            else upsert(session, table, frame, on_conflict=mode, progress=step)
        )
        key = f"load_{name}"
        result.timings[key] = round(result.timings.get(key, 0.0) + time.perf_counter() - t0, 3)
        if name in report.tables:
            done += len(frame)
            result.counts[name] = result.counts.get(name, 0) + len(frame)
            result.inserted[name] = result.inserted.get(name, 0) + counts.inserted
            result.updated[name] = result.updated.get(name, 0) + counts.updated
            result.unchanged[name] = result.unchanged.get(name, 0) + counts.unchanged

    # Parents first: divisions, stations, officers, communities.
    run("sub_districts", tables["sub_districts"], report.new_sub_districts, "nothing")
    run("sub_districts", tables["sub_districts"], frames.get("sub_districts"), "update")
    run("stations", tables["stations"], report.new_stations, "nothing")
    run("stations", tables["stations"], frames.get("stations"), "update")
    run("officers", tables["officers"], frames.get("officers"), "newer")
    run("communities", tables["communities"], frames.get("communities"), "newer")
    if frames.get("communities") is not None and len(frames["communities"]):
        _update_sub_district_geometry(session)
    # Each record table's aggregates follow its load: the touched records' old contributions
    # out, the new ones in (or the table's aggregates in full when the load is large).
    for kind in K.KINDS:
        if kind.basic:
            frame = frames.get(kind.name)
            if frame is None or frame.empty:
                continue
            if first:
                run(kind.name, kind.model.__table__, frame, "append")
                continue
            pk = aggregates.PRIMARY_KEYS[kind.model.__tablename__]
            with aggregates.track(session, {kind.model.__tablename__: frame[pk]}) as tracked:
                run(kind.name, kind.model.__table__, frame, "newer")
            result.timings[f"aggregates_{kind.name}"] = tracked.seconds
            result.aggregates[kind.name] = "full" if tracked.full else "incremental"


@contextmanager
def _dropped_on_failure(conn, stages: list):
    """On an error in the final transaction (rolled back: the live tables as they were),
    remove the staged copies too, then let the error go on."""
    try:
        yield
    except BaseException:
        raw = conn.connection.driver_connection
        for st in stages:
            try:
                staged.drop_leftovers(raw, st)
            except Exception:  # the next staged load removes them (staged.cleanup)
                log.exception("removing the copies of %s failed", st.name)
        raise


def _stage(conn, report: BundleReport, result: ImportResult, progress: Progress, stage) -> list:
    """Staged loads (SQLite, large record files; ``fangcang.importer.staged``): each built beside
    its table in short transactions, ready for the swap in the final one. None when the bundle
    also brings parents (divisions, stations, officers, communities: children must see them)
    or ``stage`` is False. On failure the copies are removed and the error raised."""
    frames = _accepted_frames(report)
    parents = ("sub_districts", "stations", "officers", "communities")
    has_parents = any(frames.get(k) is not None and len(frames[k]) for k in parents) or any(
        f is not None and len(f) for f in (report.new_stations, report.new_sub_districts)
    )
    dialect = conn.dialect.name
    kinds = [
        k
        for k in K.KINDS
        if k.basic
        and frames.get(k.name) is not None
        and (stage or (stage is None and staged.wanted(dialect, len(frames[k.name]))))
        and dialect == "sqlite"
    ]
    if stage is False or has_parents or not kinds:
        result.lock_from = time.perf_counter()
        return []
    raw = conn.connection.driver_connection
    # Set before any temporary table exists: changing temp_store drops them all. The copy's
    # index B-trees need a big page cache as much as a one-transaction load does.
    raw.execute("PRAGMA temp_store=MEMORY")
    raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
    stages = []
    total = sum(len(frames[k.name]) for k in kinds) * 2 or 1
    done = 0
    try:
        for kind in kinds:
            frame = frames[kind.name]
            t0 = time.perf_counter()
            st = staged.begin(raw, kind.model.__table__)
            stages.append(st)
            base = done
            staged.copy_rows(
                raw,
                st,
                lambda n, b=base, k=kind.name: progress(
                    0.4 + 0.5 * (b + n) / total, f"copying {k}: {n:,} rows"
                ),
            )
            done += len(frame)
            base = done
            counts = staged.upsert_rows(
                raw,
                st,
                frame,
                progress=lambda n, b=base, k=kind.name: progress(
                    0.4 + 0.5 * (b + n) / total, f"loading {k}: {n:,} rows"
                ),
            )
            done += len(frame)
            staged.stage_aggregates(raw, st)
            staged.stage_checks(raw, st)
            result.counts[kind.name] = len(frame)
            result.inserted[kind.name] = counts.inserted
            result.updated[kind.name] = counts.updated
            result.unchanged[kind.name] = counts.unchanged
            result.aggregates[kind.name] = "staged"
            result.timings[f"load_{kind.name}"] = round(time.perf_counter() - t0, 3)
    except BaseException:
        raw.execute("PRAGMA cache_size=-2000")  # back to SQLite's default for pooled reuse
        for st in stages:
            try:
                staged.drop_leftovers(raw, st)
            except Exception:  # the next staged load removes them (staged.cleanup)
                log.exception("removing the copies of %s failed", st.name)
        raise
    result.lock_from = time.perf_counter()
    return stages


def import_bundle(
    engine: Engine,
    folder: str | Path,
    *,
    actor: str = "cli",
    channel: str = "cli",
    partial: bool = False,
    progress: Progress | None = None,
    raise_on_error: bool = False,
    default_source: str = "",
    coord_system: str | None = None,
    ignore_columns: dict[str, list[str]] | None = None,
    stage: bool | None = None,
) -> ImportResult:
    """Import a bundle folder in one transaction (records, aggregates, log, audit, version).

    Parameters
    ----------
    engine : Engine
    folder : path
        Holds any of communities.geojson, sub_districts.csv, stations.csv, officers.csv,
        people.csv, houses.csv, places.csv, objects.csv, events.csv, incidents.csv (.xlsx
        accepted wherever .csv is). See docs/data-contract.md.
    actor : str
        Who imports (import log and audit entry).
    channel : str
        ``cli``, ``upload``, ``inbox``, ``demo`` ...
    partial : bool
        Load the good rows and write the rejected rows to ``<reports_dir>/<stamp>-rejected/``
        (one CSV per file, original columns plus ``_row`` and ``_errors``) for correction.
        Default: any error and nothing changes.
    progress : callable(fraction, message), optional
        Called as work proceeds (fraction 0..1 over the whole import).
    raise_on_error : bool
        Raise ``BundleError`` (carrying the result) instead of returning a failed result.
    default_source : str
        Source department written where a row's ``source`` is empty (department feeds).
    coord_system : {"wgs84", "gcj02", "bd09"}, optional
        Coordinate system of every file's points (overrides ``bundle.toml``); rows with a
        ``coord_system`` column keep their own.
    ignore_columns : dict, optional
        File kind -> headers declared as not wanted (added to ``bundle.toml``'s).
    stage : bool, optional
        SQLite: build large record files beside their tables in short transactions and swap
        them in at the end (``fangcang.importer.staged``: other writers never wait long).
        Default: when a file has ``staged.MIN_ROWS`` rows or more and the bundle brings no
        parents; False: one transaction (a first load nobody waits for); True: always.

    Returns
    -------
    ImportResult
        status ok / partial / failed; a failed import changed nothing but its import-log row.
        The full error list is written to ``<reports_dir>/import-<stamp>-errors.csv``.

    Raises
    ------
    FileNotFoundError
        When ``folder`` is not a folder.
    """
    progress = progress or _noop
    started = time.perf_counter()
    started_at = now_local()
    folder = Path(folder)
    stamp = _stamp()
    reports_dir = get_settings().reports_dir
    result = ImportResult(status=ImportStatus.FAILED, folder=folder)
    rejected.purge_rejected(reports_dir)

    options = _options(folder, coord_system, ignore_columns)
    with Session(engine) as session:
        t0, c0 = time.perf_counter(), time.process_time()
        if isinstance(options, BundleReport):
            report = options
        else:
            report = _validate(
                session,
                folder,
                partial,
                lambda f, m: progress(0.4 * f, m),
                default_source,
                options=options,
            )
        result.timings["validate"] = round(time.perf_counter() - t0, 3)
        result.timings["cpu_validate"] = round(time.process_time() - c0, 3)
    result.files = dict(report.files)
    result.errors = list(report.errors)
    result.rejected = report.rejected
    if not report.ok:
        result.error_report = write_errors(
            report.errors, reports_dir / f"import-{stamp}-errors.csv", report.unlisted
        )

    fatal = not report.ok and not partial
    if partial and not report.ok and not any(report.accepted.values()):
        fatal = True
    if not fatal:
        try:
            with engine.connect() as conn:  # one connection: a staged load's temporary tables
                stages = _stage(conn, report, result, progress, stage)
                with Session(bind=conn) as session, _dropped_on_failure(conn, stages):
                    _begin_write(session)
                    c0 = time.process_time()
                    for st in stages:  # the staged tables take their new rows (short)
                        staged.swap(session, st)
                    # Loads each other table and keeps its aggregates in step (see _load).
                    _load(
                        session,
                        report,
                        lambda f, m: progress(0.4 + 0.57 * f, m),
                        result,
                        skip=[st.name for st in stages],
                    )
                    loaded = [k for k, f in _accepted_frames(report).items() if len(f)]
                    done = {st.name for st in stages}
                    # check history (fangcang.checks) of the tables loaded here
                    checks.record_last_checks(session, tables=[t for t in loaded if t not in done])
                    # CPU of this process (Python + SQLite; not a PostgreSQL server's)
                    result.timings["cpu_load"] = round(time.process_time() - c0, 3)
                    result.timings["aggregates"] = round(
                        sum(v for k, v in result.timings.items() if k.startswith("aggregates_")),
                        3,
                    )
                    result.status = ImportStatus.PARTIAL if not report.ok else ImportStatus.OK
                    if not report.ok:
                        result.rejected_dir = _write_rejected(
                            report, reports_dir / f"import-{stamp}-rejected"
                        )
                    result.duration_s = round(time.perf_counter() - started, 3)
                    result.report = _result_text(report, result)
                    result.log_id = _record(session, result, started_at, actor, channel)
                    t0 = time.perf_counter()
                    session.commit()
                    result.timings["commit"] = round(time.perf_counter() - t0, 3)
                    result.timings["lock"] = round(time.perf_counter() - result.lock_from, 3)
                    raw = conn.connection.driver_connection
                    for st in stages:  # the replaced tables dropped, in short transactions
                        staged.purge(raw, st)
                        result.timings.update({f"{k}_{st.name}": v for k, v in st.timings.items()})
                    _end_write(session, passive=bool(stages))
        except (DBAPIError, sqlite3.Error, staged.StagingBusy) as exc:
            result.status = ImportStatus.FAILED
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            result.report = (
                report.text(report_path=result.error_report)
                + f"\nthe database rejected the bundle; nothing was imported: {reason}"
            )
            fatal = True
    if fatal:
        result.status = ImportStatus.FAILED
        result.counts = {}
        result.duration_s = round(time.perf_counter() - started, 3)
        if not result.report:
            result.report = _result_text(report, result)
        with Session(engine) as session:
            result.log_id = _record(session, result, started_at, actor, channel)
            session.commit()
    progress(1.0, f"import {result.status.value}")
    log.info(
        "import %s by %s: %s, %d rows rejected, %.1f s, timings %s",
        folder.name,
        channel,
        result.status.value,
        result.rejected,
        result.duration_s,
        result.timings,
    )
    if raise_on_error and result.status == ImportStatus.FAILED:
        raise BundleError(result)
    return result


def _record(
    session: Session, result: ImportResult, started_at: datetime, actor: str, channel: str
) -> int:
    """Import log row, audit entry and data-version bump, in ``session``'s transaction."""
    log = ImportLog(
        started_at=started_at,
        finished_at=now_local(),
        actor=actor,
        bundle=str(result.folder)[:500],
        channel=channel,
        files=json.dumps(result.files, ensure_ascii=False),
        counts=json.dumps(result.counts, ensure_ascii=False),
        rejected=result.rejected,
        status=result.status,
        error_report=str(result.error_report) if result.error_report else None,
        message=result.report[:20000],
        duration_s=result.duration_s,
    )
    session.add(log)
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="import.bundle",
        target=str(result.folder)[:200],
        detail={
            "import_log_id": log.id,
            "status": result.status.value,
            "channel": channel,
            "files": result.files,
            "counts": result.counts,
            "rejected": result.rejected,
        },
    )
    db.bump_data_version(session)
    return log.id
