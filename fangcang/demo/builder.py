"""Generate the demo bundle and load it through the ordinary importer.

Size: 580 lines because it is the one way the demo database is built: write the bundle, import it
in stages, run and record the extensions, resume an interrupted build; every step reads the same
build state (meta ``demo_build``).
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .. import db, tempfiles, writeturn
from ..timeutil import Month, last_complete_month, month_range
from . import DemoContext, idcard, names
from .bundle import to_arrow, write_csv, write_geojson
from .geography import build_geography, relocate
from .incidents import make_incidents
from .peak import PeakRSS, release_memory
from .people import make_houses, make_people
from .places import make_events, make_objects, make_places
from .story import SCALES, community_profile

#: The geography does not change with the seed: everyone's map of the demo district is the same.
GEOGRAPHY_SEED = 20261129
#: Bundle files in the order they are written (and, for the importer, loaded).
FILES = (
    "sub_districts.csv",
    "stations.csv",
    "officers.csv",
    "communities.geojson",
    "houses.csv",
    "people.csv",
    "places.csv",
    "objects.csv",
    "events.csv",
    "incidents.csv",
)

Progress = Callable[[float, str], None]


def _quiet(fraction: float, message: str) -> None:
    return None


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")


def _check_until(until: Month) -> Month:
    latest = last_complete_month()
    if until > latest:
        raise ValueError(
            f"until {until} has not ended yet: the demo's last month can be {latest} at the latest"
        )
    return until


def write_bundle(
    folder: str | Path,
    *,
    scale: str = "full",
    seed: int = 20261129,
    until: Month | None = None,
    progress: Progress | None = None,
    district: int = 0,
) -> dict:
    """Generate the Lucheng demo district and write it as an import bundle.

    Parameters
    ----------
    folder
        Created if missing; existing bundle files in it are overwritten.
    scale
        ``small`` (a few thousand records, for tests), ``medium`` (a tenth) or ``full``
        (about 3.8 million records).
    seed
        Same seed, same scale and same ``until`` give byte-identical files.
    until
        The last month of data (default: the last complete month).
    progress
        ``progress(fraction, message)``.
    district
        0: Lucheng. 1..9: another district of a synthetic city (``bench/bench_city.py``):
        Lucheng's geography moved and recoded (``geography.relocate``), record keys prefixed
        with its region code; pass a different ``seed`` for different records.

    Returns
    -------
    dict
        ``{"files": {file name: rows}, "records": total rows, "until": "YYYY-MM",
        "seconds": {step: seconds}}``.
    """
    _check_scale(scale)
    progress = progress or _quiet
    until = _check_until(until or last_complete_month())
    months = month_range(until.shift(-23), until)
    end = np.datetime64(until.last_day, "D")
    spec = SCALES[scale]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(seed).spawn(8)
    rngs = [np.random.default_rng(s) for s in streams]
    seconds: dict[str, float] = {}
    files: dict[str, int] = {}
    clock = time.perf_counter()

    def step(name: str, fraction: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now
        progress(fraction, name)

    geo = build_geography(np.random.default_rng(GEOGRAPHY_SEED))
    prof = community_profile(geo, np.random.default_rng(GEOGRAPHY_SEED + 1))
    geo = relocate(geo, district)
    prefix = str(geo.region) if district else ""
    comm = geo.communities
    step("geography", 0.03)

    updated = pd.Timestamp(until.last_day) + pd.Timedelta(hours=9)
    divs = geo.divisions
    files["sub_districts.csv"] = write_csv(
        folder / "sub_districts.csv",
        {
            "code": divs["code"].to_numpy(),
            "name": divs["name"].to_numpy(),
            "kind": divs["kind"].to_numpy(),
            "label_lon": divs["lon"].to_numpy(),
            "label_lat": divs["lat"].to_numpy(),
        },
    )
    st = geo.stations
    files["stations.csv"] = write_csv(
        folder / "stations.csv",
        {
            "station_id": st["station_id"].to_numpy(),
            "name": st["name"].to_numpy(),
            "lon": st["lon"].to_numpy(),
            "lat": st["lat"].to_numpy(),
        },
    )
    r = rngs[0]
    n_off = len(comm)
    files["officers.csv"] = write_csv(
        folder / "officers.csv",
        {
            "officer_id": comm["officer_id"].to_numpy(),
            "name": names.person_names(r.random(n_off) < 0.85, r),
            "station": comm["station_id"].to_numpy(),
            "phone": idcard.phones(n_off, r),
            "source": np.full(n_off, "政治处"),
            "updated_at": np.full(n_off, np.datetime64(updated, "s")),
        },
    )
    comm_out = comm.assign(
        street=comm["sub_district_code"],
        station=comm["station_id"],
        source="分局指挥中心",
        updated_at=str(updated),
    )
    files["communities.geojson"] = write_geojson(
        folder / "communities.geojson",
        comm_out,
        ["community_id", "name", "street", "station", "officer_id", "source", "updated_at"],
    )
    step("communities", 0.05)

    # Files are written by a background thread while the next kinds are generated (Arrow's
    # CSV writer and most numpy work release the GIL, so the two overlap).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-writer") as writer:
        pending = {}

        def write(name: str, columns: dict) -> None:
            columns = _prefixed(columns, prefix)
            pending[name] = writer.submit(write_csv, folder / name, columns)

        houses = make_houses(geo, prof, spec, end, rngs[1])
        people = make_people(geo, prof, houses, end, rngs[2])  # fills registered_residents
        write("houses.csv", houses)
        write("people.csv", people)
        del people
        step("houses and people", 0.35)
        places = make_places(geo, prof, spec, end, rngs[3])
        write("places.csv", places)
        # Memory: people (the widest table) written and freed before objects (the longest)
        # are made; the places are made while people are written.
        pending["people.csv"].result()
        write("objects.csv", make_objects(geo, prof, houses, spec, end, rngs[4]))
        step("places and objects", 0.65)
        write("events.csv", make_events(geo, prof, houses, spec, months, end, rngs[5]))
        write("incidents.csv", make_incidents(geo, prof, houses, places, spec, months, rngs[6]))
        step("events and incidents", 0.85)
        for name, future in pending.items():
            files[name] = future.result()
    step("files written", 1.0)
    return {
        "files": files,
        "records": sum(files.values()),
        "until": str(until),
        "scale": scale,
        "seed": seed,
        "seconds": seconds,
    }


#: Record key columns (prefixed in another district of a city: ``write_bundle(district=...)``).
KEY_COLUMNS = ("house_id", "person_id", "place_id", "object_id", "event_id", "incident_id")


def _prefixed(columns: dict, prefix: str) -> dict:
    """``columns`` with every record key (and reference to one) starting with ``prefix``."""
    if not prefix:
        return columns
    out = dict(columns)
    for name in KEY_COLUMNS:
        if name in out:
            keys = pc.cast(to_arrow(out[name]), pa.string())
            out[name] = pc.binary_join_element_wise(prefix, keys, "")
    return out


def _importer():
    try:
        module = importlib.import_module("fangcang.importer")
        return module.import_bundle
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            "the bundle importer (fangcang.importer.import_bundle) is not available"
        ) from exc


#: Bundle files imported together into an empty database, in order: one stage's tables in
#: memory at a time (the whole bundle validated at once held about 2 GB at full size). The
#: reference files come alone (the first load checks and writes them itself; the record parts
#: after them go to its worker process). Incidents before objects: the loader's work on the
#: last table (its aggregates, indexes) is what remains after the worker has finished, and
#: the incidents' aggregates cost the most (about 12 s of CPU at full size), the objects' 2 s.
STAGES: tuple[tuple[str, ...], ...] = (
    ("sub_districts.csv", "stations.csv", "officers.csv", "communities.geojson"),
    ("houses.csv",),
    ("people.csv",),
    ("places.csv",),
    ("events.csv", "incidents.csv"),
    ("objects.csv",),
)


#: CSV files larger than this are imported in parts of ``PART_ROWS`` rows (people, objects,
#: events at full size): validation holds one part in memory, not 1.2 million rows. 150,000:
#: the loader and its worker process together peaked at 971 MiB (200,000: 1,029 MiB).
PART_BYTES = 40_000_000
PART_ROWS = 150_000
#: The record files that may be split (the reference files come whole, first).
SPLITTABLE = {
    "houses.csv",
    "people.csv",
    "places.csv",
    "objects.csv",
    "events.csv",
    "incidents.csv",
}


def _split_csv(path: Path, folders: list[Path], rows: int) -> int:
    """Split a demo CSV (one record per line: the generator writes no line breaks inside
    values) into parts of ``rows`` records, each with the header line, written under its own
    name into ``folders[0]``, ``folders[1]``, ... (created; more appended as needed)."""
    n = 0
    with path.open("rb") as f:
        header = f.readline()
        while True:
            lines = list(itertools.islice(f, rows))
            if not lines:
                break
            if n == len(folders):
                folders.append(folders[0].with_name(f"{folders[0].name}.{n}"))
            folders[n].mkdir(parents=True, exist_ok=True)
            with (folders[n] / path.name).open("wb") as w:
                w.write(header)
                w.writelines(lines)
            n += 1
    return n


def _is_empty(engine: Engine) -> bool:
    from ..models import Community

    with Session(engine) as session:
        return not session.scalar(select(func.count()).select_from(Community))


def _parts(folder: Path, present: list[str], out: Path) -> list[Path]:
    """The bundle as part folders for ``import_first``: the reference files and every file
    under ``PART_BYTES`` in ``STAGES`` order, big record files split into ``PART_ROWS`` rows;
    part k of each big file of a stage shares a folder (hard links, no copies, for whole
    files)."""
    parts: list[Path] = []
    for stage in STAGES:
        files = [folder / f for f in stage if f in present]
        if not files:
            continue
        first = len(parts)
        folders = [out / f"part-{first}"]
        for path in files:
            if path.name in SPLITTABLE and path.stat().st_size >= PART_BYTES:
                _split_csv(path, folders, PART_ROWS)
                continue
            folders[0].mkdir(parents=True, exist_ok=True)
            target = folders[0] / path.name
            target.unlink(missing_ok=True)
            try:
                os.link(path, target)
            except OSError:  # no hard links here: copy
                shutil.copyfile(path, target)
        parts.extend(folders)
    return parts


def _import(engine: Engine, folder: Path, import_bundle, progress: Progress, phase=None):
    """Import the bundle: into an empty database in parts of one transaction
    (``fangcang.importer.first.import_first``), else with ``import_bundle`` in one
    transaction. Returns the ``ImportResult``."""
    present = [f for f in FILES if (folder / f).exists()]
    if not _is_empty(engine):
        return import_bundle(
            engine,
            folder,
            actor="demo",
            channel="demo",
            partial=False,
            progress=progress,
            stage=False,
        )
    from ..importer.first import import_first

    out = folder / "parts"
    shutil.rmtree(out, ignore_errors=True)
    try:
        parts = _parts(folder, present, out)
        return import_first(
            engine,
            parts,
            folder=folder,
            actor="demo",
            channel="demo",
            progress=progress,
            phase=phase,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run_extensions(
    ctx: DemoContext, extensions: list[str], seconds: dict[str, float] | None = None
) -> dict[str, dict]:
    """Run each ``"module:function"`` in order; returns ``{entry: counts}``.

    Each extension gets the context with its own slice of the progress range, so the bar moves
    forward steadily however each one reports. Seconds per extension go into ``seconds``.
    """
    out: dict[str, dict] = {}
    n = max(len(extensions), 1)
    base = ctx.progress
    for i, entry in enumerate(extensions):
        module_name, _, func_name = entry.partition(":")
        if not func_name:
            raise ValueError(f"demo extension {entry!r} must look like 'module:function'")
        func = getattr(importlib.import_module(module_name), func_name)
        lo, hi = i / n, (i + 1) / n

        def sub(f: float, m: str, lo=lo, hi=hi) -> None:
            base(lo + (hi - lo) * min(max(f, 0.0), 1.0), m)

        sub(0.0, entry)
        t0 = time.perf_counter()
        out[entry] = dict(func(dataclasses.replace(ctx, progress=sub)) or {})
        if seconds is not None:
            seconds[entry] = round(time.perf_counter() - t0, 2)
    return out


#: A demo extension writes in short transactions (about this many seconds of holding SQLite's
#: write lock each) while the dashboard is open: a sign-in or a task feedback must not wait
#: more than a second (issue 16, item 4).
SHORT_WRITE_SECONDS = 0.25
#: Where a writer cannot mark that it is waiting (no ``fcntl``: Windows), the lock is left free
#: this long after each short write: SQLite's busy handler does not queue waiting writers, it
#: polls (every 100 ms at most), so a gap shorter than one poll could be missed again and
#: again by a waiting sign-in.
WRITE_GAP_SECONDS = 0.15
#: At most this long a demo extension waits, between two short writes, for the writers that
#: are waiting or writing meanwhile (a long import keeps writing; the next short write then
#: waits for SQLite's lock as any writer does).
WRITER_WAIT_SECONDS = 1.0


def let_writers_in(session: Session) -> float:
    """Commit a demo extension's short transaction and, on SQLite, let the writers that are
    waiting for the lock meanwhile (a sign-in, a task feedback) go first
    (``fangcang.writeturn.yield_to_writers``: no wait at all when there are none).

    Extensions call it between chunks of their writes; each must be safe to rerun from any
    of these points (tests interrupt them here). Returns the seconds waited for writers.
    """
    session.commit()
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return 0.0
    # Copy the chunk's pages from the write-ahead log into the database here, outside the
    # write lock: left to SQLite's automatic checkpoint (at 1,000 pages) it falls to
    # whichever commit crosses that size, often a sign-in's (measured: 2-3 s at full size).
    conn = session.connection()
    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    database = writeturn.database_path(conn.connection.driver_connection)
    session.commit()
    return writeturn.yield_to_writers(database, cap=WRITER_WAIT_SECONDS, fallback=WRITE_GAP_SECONDS)


@contextmanager
def checkpoint_in_gap(session: Session) -> Iterator[None]:
    """No automatic WAL checkpoint at the commits of this connection inside the block (SQLite;
    the connection's setting, restored when the block ends, also on an error).

    A demo extension's chunk (check events, visits, a reconciliation batch) dirties more than
    the 1,000 pages at which SQLite checkpoints by itself when a commit ends, so that commit
    copied the chunk into the database while it still held the write lock (0.12 s of 0.37 s
    per history chunk at full size, up to 2.2 s), before ``let_writers_in`` began its gap,
    whose own checkpoint then found nothing to do. Inside this block that copy is the gap's
    checkpoint, with the lock free.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    before = int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    raw.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA wal_autocheckpoint = {before}")


class ChunkSize:
    """Rows per short write, adapted to the time the last one took so that each holds the
    lock about ``SHORT_WRITE_SECONDS`` (the machine's speed and load vary)."""

    def __init__(self, start: int = 5_000, lo: int = 500, hi: int = 200_000) -> None:
        self.n, self.lo, self.hi = start, lo, hi

    def took(self, seconds: float) -> None:
        scale = SHORT_WRITE_SECONDS / max(seconds, 1e-3)
        self.n = int(min(max(self.n * min(max(scale, 0.5), 2.0), self.lo), self.hi))


#: The extension that creates the demo accounts: once it has run, people can sign in and use
#: the dashboard while the other extensions fill in (see ``build(ready=...)``).
ACCOUNTS_EXTENSION = "fangcang.auth:demo_extend"
#: meta ``demo_build``: ``filling`` while extensions run after the base import, then ``done``.
BUILD_META = "demo_build"
#: meta ``demo_extensions_done``: the extensions finished so far, one per line.
DONE_META = "demo_extensions_done"


def build(
    engine: Engine,
    *,
    scale: str = "full",
    seed: int = 20261129,
    until: Month | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
    ready: Callable[[], None] | None = None,
) -> dict:
    """Build the demo district into ``engine``'s database.

    Migrates the schema, writes the bundle (to ``out``, kept, or to a temporary folder),
    imports it through ``fangcang.importer.import_bundle`` (every row must be accepted), marks
    the database as a demo (meta ``demo`` = ``lucheng``, ``demo_build`` = ``filling``) and
    runs the registered ``EXTENSIONS`` in order, the accounts first; each finished extension
    is recorded (meta ``demo_extensions_done``) so that ``finish_extensions`` can complete an
    interrupted build. ``ready()`` is called as soon as the base records and the accounts are
    committed: the dashboard is usable from then on while the rest fills in.

    Returns
    -------
    dict
        ``bundle`` (what ``write_bundle`` returned), ``import`` (the importer's
        ``ImportResult``), ``extensions`` ({entry: counts}), ``seconds`` (per phase),
        ``extension_seconds`` ({entry: seconds}) and ``until``.

    Raises
    ------
    RuntimeError
        When the importer rejects any row (the demo must load completely).
    """
    from . import EXTENSIONS

    _check_scale(scale)
    progress = progress or _quiet
    until = _check_until(until or last_complete_month())
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    import_bundle = _importer()

    def part(lo: float, hi: float, prefix: str) -> Progress:
        return lambda f, m: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), f"{prefix}: {m}")

    with PeakRSS() as rss:

        def sub_phase(name: str):
            return rss.phase(f"import: {name}")

        with tempfiles.temp_dir("demo") as tmp:  # private, swept if the build is killed
            with rss.phase("generate"):
                db.upgrade(engine)
                folder = Path(out) if out else Path(tmp)
                bundle = write_bundle(
                    folder, scale=scale, seed=seed, until=until, progress=part(0.0, 0.1, "generate")
                )
            release_memory()  # the generated tables are written out: give their memory back
            seconds["generate"] = round(time.perf_counter() - t0, 2)
            t1 = time.perf_counter()
            with rss.phase("import"):
                result = _import(
                    engine, folder, import_bundle, part(0.1, 0.6, "import"), phase=sub_phase
                )
            seconds["import"] = round(time.perf_counter() - t1, 2)
            release_memory()
        if not result.ok or result.rejected:
            raise RuntimeError(
                f"the importer rejected the demo bundle ({result.rejected} rows): "
                f"{(result.report or '')[:2000]}"
            )
        with Session(engine) as session:
            db.set_meta(session, "demo", "lucheng")
            db.set_meta(session, "demo_scale", scale)
            db.set_meta(session, "demo_seed", str(seed))
            db.set_meta(session, "demo_until", str(until))
            db.set_meta(session, BUILD_META, "filling")
            db.set_meta(session, DONE_META, "")
            db.bump_data_version(session)
            session.commit()
        t2 = time.perf_counter()
        ctx = DemoContext(engine, scale, seed, until, part(0.6, 1.0, "extensions"))
        ext_seconds: dict[str, float] = {}
        with rss.phase("extensions"):
            ext = _run_recorded(ctx, list(EXTENSIONS), ext_seconds, ready, rss.phase)
        seconds["extensions"] = round(time.perf_counter() - t2, 2)
        if engine.dialect.name == "sqlite":
            # Fold the write-ahead log into the file: the build wrote gigabytes through it.
            t3 = time.perf_counter()
            with rss.phase("checkpoint"), engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            seconds["checkpoint"] = round(time.perf_counter() - t3, 2)
    seconds["total"] = round(time.perf_counter() - t0, 2)
    progress(1.0, "done")
    return {
        "bundle": bundle,
        "import": result,
        "extensions": ext,
        "seconds": seconds,
        "extension_seconds": ext_seconds,
        "peak_rss_mb": rss.rounded(),
        "until": str(until),
    }


def _run_recorded(
    ctx: DemoContext,
    extensions: list[str],
    seconds: dict[str, float],
    ready: Callable[[], None] | None,
    phase=None,
    done: list[str] | None = None,
) -> dict[str, dict]:
    """Run the extensions (accounts first), record each one done (after those in ``done``,
    finished by an earlier run), call ``ready`` after the accounts (at once when they are not
    to run), and mark the build ``done`` at the end (``phase(entry)``: a context manager
    around each, e.g. ``PeakRSS.phase``). The ``SIDE_EXTENSIONS`` whose two ends are both to
    run start and end with them (``fangcang.demo.side``)."""
    from . import SIDE_EXTENSIONS
    from .side import Side, exclusive

    order = [e for e in extensions if e == ACCOUNTS_EXTENSION] + [
        e for e in extensions if e != ACCOUNTS_EXTENSION
    ]
    out: dict[str, dict] = {}
    n = max(len(order), 1)
    done = list(done or [])
    first = len(done)
    sides = [x for x in SIDE_EXTENSIONS if x.after in order and x.before in order]
    for x in sides:
        if order.index(x.before) <= order.index(x.after):
            raise ValueError(
                f"demo side extension {x.entry!r}: {x.before!r} runs before {x.after!r}"
            )
    waits = {x.before for x in SIDE_EXTENSIONS}  # (one left by an earlier build, too)
    running: dict[str, list[Side]] = {}  # by the extension that waits for them
    if ready is not None and ACCOUNTS_EXTENSION not in order:
        ready()
    try:
        for i, entry in enumerate(order):

            def sub(f: float, m: str, lo=i / n, hi=(i + 1) / n) -> None:
                ctx.progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), m)

            if running.get(entry):
                sub(0.0, entry)  # the step shown while it waits is this extension
            for side in running.get(entry, []):  # part of this extension's work: wait for it
                counts = side.join(lambda f, m: sub(0.8 * f, m))
                out[side.entry] = counts if counts is not None else {"failed": True}
                seconds[side.entry] = side.seconds
            running.pop(entry, None)
            with (
                phase(entry) if phase else nullcontext(),
                exclusive(ctx.engine) if entry in waits else nullcontext(),
            ):
                out.update(run_extensions(dataclasses.replace(ctx, progress=sub), [entry], seconds))
            release_memory()  # each extension's working set is its own
            done.append(entry)
            with Session(ctx.engine) as session:
                db.set_meta(session, DONE_META, "\n".join(done))
                if len(done) == first + len(order):
                    db.set_meta(session, BUILD_META, "done")
                db.bump_data_version(session)
                session.commit()
            if entry == ACCOUNTS_EXTENSION and ready is not None:
                ready()
            for x in sides:
                if x.after == entry:
                    side = Side(x.entry, ctx)
                    if side.start():
                        running.setdefault(x.before, []).append(side)
    finally:
        for side in (s for waiting in running.values() for s in waiting):
            side.stop()  # the build failed or was interrupted (also while waiting for it)
    if not order:
        with Session(ctx.engine) as session:
            db.set_meta(session, BUILD_META, "done")
            session.commit()
    return out


def build_state(engine: Engine) -> str | None:
    """``None`` (not a demo built here), ``filling`` (extensions still to run) or ``done``."""
    with Session(engine) as session:
        return db.get_meta(session, BUILD_META)


def accounts_in(engine: Engine) -> bool:
    """Whether people can sign in: the build is ``done``, or ``filling`` with the accounts
    extension recorded done; True for a database that is not a demo built here."""
    with Session(engine) as session:
        state = db.get_meta(session, BUILD_META)
        if state != "filling":
            return True
        done = (db.get_meta(session, DONE_META) or "").splitlines()
    return ACCOUNTS_EXTENSION in done


def finish_extensions(
    engine: Engine, progress: Progress | None = None, ready: Callable[[], None] | None = None
) -> dict[str, dict]:
    """Run the extensions an interrupted build did not finish (server stopped while filling).

    An extension stopped half-way may have committed part of its work; it runs again from
    the start (the demo's extensions write demo rows only). ``ready()`` is called once the
    accounts are in (at once when the interrupted build had created them).
    """
    from . import EXTENSIONS

    with Session(engine) as session:
        scale = db.get_meta(session, "demo_scale") or "full"
        seed = int(db.get_meta(session, "demo_seed") or 20261129)
        until = Month.parse(db.get_meta(session, "demo_until") or str(last_complete_month()))
        done = [e for e in (db.get_meta(session, DONE_META) or "").splitlines() if e]
    todo = [e for e in EXTENSIONS if e not in done]
    ctx = DemoContext(engine, scale, seed, until, progress or _quiet)
    out = _run_recorded(ctx, todo, {}, ready, done=done)
    ctx.progress(1.0, "done")
    return out
