"""City scale on PostgreSQL: N demo districts built by the importer, then scoring, pages, queries.

Each district is the Lucheng demo generator moved and recoded (``write_bundle(district=i)``,
``fangcang.demo.geography.relocate``): 14 sub-districts, 120 communities, about 3.8 million
records, its own codes, keys, ID-number region and place. The districts are imported one after
the other into ONE database through ``fangcang.importer.import_bundle`` in parts of
``PART_ROWS`` rows (as the demo builder does), so the database ends up as one jurisdiction of
14 x N sub-districts and 120 x N communities (the product has no level above a sub-district).

At each checkpoint (``--pages-at``) the latest month is scored through the real ``score``
command, then every page is timed cold and warm (``bench/bench_pages.py``'s child runs,
AppTest through app.py) and the dashboards' key incident queries (``bench/bench_incidents.py``'s
cases) are timed, the slowest SQL statement of each slow case explained (EXPLAIN ANALYZE).

Recorded per district: generate and import wall, this process's CPU and the PostgreSQL
backends' CPU (from /proc), rows, database size and growth, per-table sizes. Everything goes
to ``--out`` as JSON lines (one object per step); ``--summary FILE`` prints them as tables.

    # PostgreSQL role that may create databases; the database is created (``--fresh`` drops it)
    nice -n 10 python bench/bench_city.py --districts 10 --pages-at 1,2,5,10 \\
        --pg postgresql+psycopg://fangcang:fangcang@127.0.0.1:5432/fangcang_city \\
        --out bench/results/city.jsonl --fresh
    python bench/bench_city.py --smoke    # two small districts into fangcang_city_smoke
"""

# ruff: noqa: E402, S608
from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.demo.builder import FILES, _parts, write_bundle
from fangcang.importer import import_bundle
from fangcang.importer.first import import_first
from fangcang.timeutil import last_complete_month

DEFAULT_PG = "postgresql+psycopg://fangcang:fangcang@127.0.0.1:5432/fangcang_city"
#: Import order: parents and houses first, then each big record file in parts.
STAGES = (
    ("sub_districts.csv", "stations.csv", "officers.csv", "communities.geojson"),
    ("houses.csv",),
    ("people.csv",),
    ("places.csv",),
    ("objects.csv",),
    ("events.csv",),
    ("incidents.csv",),
)
PART_ROWS = 300_000
PAGES = ("overview", "map", "community", "trends", "warning", "present")
#: A key query slower than this (warm, ms) gets its slowest statement explained.
EXPLAIN_MS = 100.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _emit(out: Path, record: dict) -> None:
    record = {"at": datetime.now(UTC).strftime("%H:%M:%S"), "load": _load(), **record}
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    print(json.dumps(record, ensure_ascii=False, default=str)[:600], flush=True)


def _admin_url(url: str) -> tuple[str, str]:
    """(libpq URL of the server's ``postgres`` database, the target database's name)."""
    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), u.database


def create_database(url: str, fresh: bool) -> None:
    admin, name = _admin_url(url)
    if not name.startswith("fangcang_city"):
        raise ValueError(f"the city database must be named fangcang_city*, got {name!r}")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def bulk_engine(url: str):
    """An engine whose sessions are tuned for a bulk load (per session, not the server's
    config): no wait for the WAL flush at commit, more memory for index builds and sorts."""
    engine = db.make_engine(url)

    @event.listens_for(engine, "connect")
    def _tune(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
            cur.execute("SET work_mem = '64MB'")
        dbapi_conn.commit()

    return engine


class ServerCpu:
    """CPU seconds of the PostgreSQL processes serving this database (backends and autovacuum
    workers seen in pg_stat_activity), read from /proc; a process gone between two samples
    keeps its last reading."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen: dict[int, float] = {}
        self.tick = os.sysconf("SC_CLK_TCK")

    def sample(self) -> float:
        with self.engine.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.tick
        return sum(self.seen.values())


def sizes(engine) -> dict:
    with engine.connect() as conn:
        total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples::bigint "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' "
                "ORDER BY 2 DESC LIMIT 16"
            )
        ).all()
    return {
        "db_bytes": int(total),
        "tables": {r[0]: {"bytes": int(r[1]), "rows_est": int(r[2])} for r in rows},
    }


def _split(path: Path, out: Path, rows: int) -> list[Path]:
    """Parts of ``rows`` records with the header (the generator writes one record a line)."""
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    with path.open("rb") as f:
        header = f.readline()
        while lines := list(itertools.islice(f, rows)):
            part = out / f"{path.stem}.part{len(parts)}{path.suffix}"
            with part.open("wb") as w:
                w.write(header)
                w.writelines(lines)
            parts.append(part)
    return parts


def import_district(engine, bundle: Path, cpu: ServerCpu, out: Path, index: int) -> dict:
    """Import one district's bundle in parts; every row must be accepted."""
    stages: list[list[Path]] = []
    for names in STAGES:
        files = [bundle / n for n in names if (bundle / n).exists()]
        if len(files) == 1 and files[0].suffix == ".csv":
            stages += [[p] for p in _split(files[0], bundle / "parts", PART_ROWS)]
        elif files:
            stages.append(files)
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}
    for k, stage in enumerate(stages):
        sub = bundle / f"stage-{k}"
        sub.mkdir()
        for path in stage:
            os.link(path, sub / (path.name.split(".", 1)[0] + path.suffix))
        t0, c0 = time.perf_counter(), time.process_time()
        result = import_bundle(engine, sub, actor="bench", channel="bench", stage=False)
        shutil.rmtree(sub)
        if not result.ok or result.rejected:
            raise RuntimeError(
                f"district {index} stage {k} rejected: {(result.report or '')[:3000]}"
            )
        for name, n in result.counts.items():
            counts[name] = counts.get(name, 0) + n
        for name, v in result.timings.items():
            timings[name] = round(timings.get(name, 0.0) + v, 3)
        _emit(
            out,
            {
                "step": "part",
                "district": index,
                "files": [p.name for p in stage],
                "wall_s": round(time.perf_counter() - t0, 2),
                "cpu_s": round(time.process_time() - c0, 2),
                "aggregates": result.aggregates,
            },
        )
        cpu.sample()
    shutil.rmtree(bundle / "parts", ignore_errors=True)
    return {"rows": counts, "timings": timings}


def first_load(engine, args, cpu: ServerCpu, out: Path, until, work: Path) -> int:
    """All districts as ONE first load (``fangcang.importer.first.import_first``): each
    district's bundle generated and cut into parts (``demo.builder._parts``, as the demo's own
    first load), the parts of every district in district order loaded in one transaction into
    the empty database; each part's files are deleted as soon as it is loaded. Returns the
    number of districts loaded (0 if the load failed)."""
    parts: list[Path] = []
    gen = {"wall_s": 0.0, "cpu_s": 0.0, "records": 0}
    for i in range(args.first, args.districts):
        folder = work / f"district-{i}"
        t0, c0 = time.perf_counter(), time.process_time()
        if args.reuse and (folder / "parts").is_dir():  # parts left by a stopped run
            mine = sorted((folder / "parts").iterdir(), key=_part_order)
            bundle = {"records": None}
        else:
            shutil.rmtree(folder, ignore_errors=True)
            bundle = write_bundle(
                folder, scale=args.scale, seed=20261129 + i, until=until, district=i
            )
            present = [f for f in FILES if (folder / f).exists()]
            mine = _parts(folder, present, folder / "parts")
            for f in present:  # the parts hold links or copies: the whole files can go
                (folder / f).unlink()
        parts += mine
        wall, own = time.perf_counter() - t0, time.process_time() - c0
        gen["wall_s"] += wall
        gen["cpu_s"] += own
        gen["records"] += bundle["records"] or 0
        _emit(
            out,
            {
                "step": "generate",
                "district": i,
                "records": bundle["records"],
                "parts": len(mine),
                "wall_s": round(wall, 2),
                "cpu_s": round(own, 2),
                "disk_free_gb": round(shutil.disk_usage(work).free / 1024**3, 1),
            },
        )
    loaded = {"n": 0}
    t_start, c_start, s_start = time.perf_counter(), time.process_time(), cpu.sample()
    state = {"t": t_start, "c": c_start}

    @contextmanager
    def phase(name: str):
        yield
        if name != "load":
            return
        k = loaded["n"]
        loaded["n"] += 1
        shutil.rmtree(parts[k], ignore_errors=True)
        now, c = time.perf_counter(), time.process_time()
        _emit(
            out,
            {
                "step": "first_part",
                "part": k,
                "of": len(parts),
                "name": f"{parts[k].parent.parent.name}/{parts[k].name}",
                "files": sorted({f.split(".")[0] for f in present_files[k]}),
                "wall_s": round(now - state["t"], 2),
                "cpu_s": round(c - state["c"], 2),
                "elapsed_s": round(now - t_start, 1),
                "server_cpu_s": round(cpu.sample() - s_start, 1),
            },
        )
        state["t"], state["c"] = time.perf_counter(), time.process_time()

    present_files = [sorted(p.name for p in part.iterdir()) for part in parts]
    before = sizes(engine)["db_bytes"]
    result = import_first(engine, parts, folder=work, actor="bench", channel="bench", phase=phase)
    wall, own = time.perf_counter() - t_start, time.process_time() - c_start
    server = cpu.sample() - s_start
    after = sizes(engine)
    n = args.districts - args.first
    _emit(
        out,
        {
            "step": "first_load",
            "districts": n,
            "status": result.status.value,
            "records": gen["records"] or sum(result.counts.values()),
            "generate_wall_s": round(gen["wall_s"], 2),
            "generate_cpu_s": round(gen["cpu_s"], 2),
            "import_wall_s": round(wall, 2),
            "import_cpu_s": round(own, 2),
            "server_cpu_s": round(server, 2),
            "db_growth_bytes": after["db_bytes"] - before,
            "rows": result.counts,
            "rejected": result.rejected,
            "timings": result.timings,
            "sizes": after,
            "report": (result.report or "")[-3000:] if not result.ok else "",
        },
    )
    return n if result.ok and not result.rejected else 0


def _part_order(path: Path) -> tuple[int, int]:
    """``part-9.3`` -> (9, 3): the order ``demo.builder._parts`` made them in."""
    first, _, sub = path.name.removeprefix("part-").partition(".")
    return int(first), int(sub or 0)


def score(url: str, period: str) -> dict:
    """The real ``score`` command for ``period`` (a new version if already scored)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fangcang", "--db", url, "score", "--period", period]
        + ["--rerun", "--since", period],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "rc": proc.returncode,
        "out": (proc.stdout or proc.stderr).strip().splitlines()[:3],
    }


def pages(url: str, runs: int, names=PAGES) -> list[dict]:
    """Each page cold and warm in a fresh process (``bench_pages.py --child PAGE``)."""
    env = {**os.environ, "FANGCANG_DB_URL": url}
    out = []
    for page in names:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "bench_pages.py"), "--child", page]
            + ["--runs", str(runs)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        r = json.loads(line[-1]) if line else {"page": page, "failed": proc.stderr[-1500:]}
        r["process_s"] = round(time.perf_counter() - t0, 2)
        out.append(r)
    return out


def queries(engine, runs: int) -> list[dict]:
    """The dashboards' incident queries (bench_incidents' cases, the fangcang calls only),
    cold and warm, and EXPLAIN ANALYZE of the slowest statement of each slow one."""
    from bench.bench_incidents import cases
    from fangcang.models import Incident

    with Session(engine) as s:
        last = s.scalar(text(f"SELECT max(occurred_at) FROM {Incident.__tablename__}"))
    last = last.date() if isinstance(last, datetime) else date.fromisoformat(str(last)[:10])
    statements: list[tuple[float, str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((time.perf_counter() - conn.info["t0"], statement, parameters))

    out = []
    for label, call, *_ in cases(last):
        with Session(engine) as s:
            t0 = time.perf_counter()
            call(s)
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(runs):
                t0 = time.perf_counter()
                call(s)
                warm.append(time.perf_counter() - t0)
            statements.clear()
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
            try:
                call(s)
            finally:
                event.remove(engine, "before_cursor_execute", before)
                event.remove(engine, "after_cursor_execute", after)
        row = {
            "query": label,
            "cold_ms": round(cold * 1e3, 1),
            "warm_ms": round(min(warm) * 1e3, 1),
        }
        if min(warm) * 1e3 >= EXPLAIN_MS and statements:
            _, sql, params = max(statements, key=lambda x: x[0])
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    row["plan"] = [r[0] for r in cur.fetchall()]
                raw.rollback()
        out.append(row)
    return out


def raw_queries(engine, runs: int) -> list[dict]:
    """The same district-wide question on the raw incidents (what an aggregate table saves)."""
    sql = {
        "raw: 24 months by community x month, count": (
            "SELECT community_id, date_trunc('month', occurred_at) m, count(*) FROM incidents "
            "WHERE occurred_at >= (SELECT max(occurred_at) FROM incidents) - interval '24 months' "
            "GROUP BY 1, 2"
        ),
        "raw: 28 days by community, count": (
            "SELECT community_id, count(*) FROM incidents "
            "WHERE occurred_at >= (SELECT max(occurred_at) FROM incidents) - interval '28 days' "
            "GROUP BY 1"
        ),
    }
    out = []
    with engine.connect() as conn:
        for label, q in sql.items():
            times = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                conn.execute(text(q)).all()
                times.append(time.perf_counter() - t0)
            out.append(
                {
                    "query": label,
                    "cold_ms": round(times[0] * 1e3, 1),
                    "warm_ms": round(min(times[1:]) * 1e3, 1),
                }
            )
    return out


PARTITIONED = "bench_incidents_by_month"
#: The same questions on the plain incidents table and on a copy partitioned by month.
PARTITION_QUERIES = {
    "28 days by community": (
        "SELECT community_id, count(*) FROM {t} WHERE occurred_at >= :last - interval '28 days' "
        "GROUP BY 1"
    ),
    "one month by category": (
        "SELECT category, count(*) FROM {t} WHERE occurred_at >= date_trunc('month', :last) "
        "GROUP BY 1"
    ),
    "24 months by community x month": (
        "SELECT community_id, date_trunc('month', occurred_at), count(*) FROM {t} "
        "WHERE occurred_at >= :last - interval '24 months' GROUP BY 1, 2"
    ),
    "one community, 12 months": (
        "SELECT date_trunc('month', occurred_at), count(*) FROM {t} WHERE community_id = :c "
        "AND occurred_at >= :last - interval '12 months' GROUP BY 1"
    ),
}


def partition_test(engine, runs: int) -> dict:
    """Incidents copied into a table partitioned by month (same indexes), the same raw
    queries timed on both, and removing the oldest month (DELETE vs DETACH, rolled back).
    The copy is dropped at the end."""
    out: dict = {"queries": []}
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        lo, hi, c = conn.execute(
            text("SELECT min(occurred_at), max(occurred_at), min(community_id) FROM incidents")
        ).one()
        conn.execute(text(f"DROP TABLE IF EXISTS {PARTITIONED}"))
        conn.execute(
            text(
                f"CREATE TABLE {PARTITIONED} (LIKE incidents INCLUDING DEFAULTS) "
                "PARTITION BY RANGE (occurred_at)"
            )
        )
        month = date(lo.year, lo.month, 1)
        months = 0
        while month <= hi.date():
            nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            conn.execute(
                text(
                    f"CREATE TABLE {PARTITIONED}_{month:%Y%m} PARTITION OF {PARTITIONED} "
                    f"FOR VALUES FROM ('{month}') TO ('{nxt}')"
                )
            )
            month, months = nxt, months + 1
        t0 = time.perf_counter()
        conn.execute(text(f"INSERT INTO {PARTITIONED} SELECT * FROM incidents"))
        conn.execute(text(f"ALTER TABLE {PARTITIONED} ADD PRIMARY KEY (incident_id, occurred_at)"))
        conn.execute(text(f"CREATE INDEX ON {PARTITIONED} (community_id, occurred_at)"))
        conn.execute(text(f"CREATE INDEX ON {PARTITIONED} (occurred_at)"))
        conn.execute(text(f"ANALYZE {PARTITIONED}"))
        out["copy_s"] = round(time.perf_counter() - t0, 2)
        out["partitions"] = months
        params = {"last": hi, "c": c}
        for label, sql in PARTITION_QUERIES.items():
            row = {"query": label}
            for name, table in (("plain", "incidents"), ("by_month", PARTITIONED)):
                q = text(sql.format(t=table))
                times = []
                for _ in range(runs + 1):
                    t0 = time.perf_counter()
                    conn.execute(q, params).all()
                    times.append(time.perf_counter() - t0)
                row[f"{name}_cold_ms"] = round(times[0] * 1e3, 1)
                row[f"{name}_warm_ms"] = round(min(times[1:]) * 1e3, 1)
            out["queries"].append(row)
        first = date(lo.year, lo.month, 1)
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        for name, sql in (
            ("delete_oldest_month_plain_s", f"DELETE FROM incidents WHERE occurred_at < '{nxt}'"),
            (
                "detach_oldest_month_s",
                f"ALTER TABLE {PARTITIONED} DETACH PARTITION {PARTITIONED}_{first:%Y%m}",
            ),
        ):
            t0 = time.perf_counter()
            conn.execute(text("BEGIN"))
            conn.execute(text(sql))
            out[name] = round(time.perf_counter() - t0, 3)
            conn.execute(text("ROLLBACK"))
        conn.execute(text(f"DROP TABLE {PARTITIONED}"))
    return out


def checkpoint(url: str, engine, args, n: int, out: Path) -> None:
    period = str(last_complete_month())
    with engine.connect() as conn:  # fresh statistics for the planner before timing
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    _emit(out, {"step": "sizes", "districts": n, "sizes": sizes(engine)})
    _emit(out, {"step": "score", "districts": n, **score(url, period)})
    names = tuple(x for x in args.pages.split(",") if x)
    _emit(out, {"step": "pages", "districts": n, "pages": pages(url, args.runs, names)})
    _emit(out, {"step": "queries", "districts": n, "queries": queries(engine, args.runs)})
    _emit(out, {"step": "raw_queries", "districts": n, "queries": raw_queries(engine, args.runs)})


def summary(path: Path) -> str:
    """Markdown tables of a run's JSON lines (several runs appended: resumed with --first)."""
    recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    gb = 1024**3
    lines = []
    if any(r["step"] == "district" for r in recs):
        lines += [
            "| district | records | cumulative | generate s | import wall s | CPU s (client + PG) "
            "| DB growth GB | DB size GB | load (1-min) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    cum = 0
    for r in (r for r in recs if r["step"] == "district"):
        cum += r["records"]
        cpu = r["generate_cpu_s"] + r["import_cpu_s"]
        lines.append(
            f"| {r['district'] + 1} | {r['records']:,} | {cum:,} | {r['generate_wall_s']:.0f} "
            f"| {r['import_wall_s']:.0f} | {cpu:.0f} + {r['server_cpu_s']:.0f} "
            f"| {r['db_growth_bytes'] / gb:.2f} | {r['sizes']['db_bytes'] / gb:.2f} "
            f"| {r['load'][0]:.1f} |"
        )
    parts = [r for r in recs if r["step"] == "first_part"]
    if parts:  # a first load: each district's parts (validation + COPY, one transaction)
        lines += [
            "",
            "First load, per district's parts (validate + append; wall s, CPU s client + PG):",
            "",
        ]
        lines += ["| district | parts | wall s | CPU s (client + PG) | load (1-min) at end |"]
        lines += ["|---|---|---|---|---|"]
        by: dict[str, list[dict]] = {}
        for r in parts:
            by.setdefault(r["name"].split("/")[0], []).append(r)
        server = 0.0
        for name, rs in by.items():
            pg = rs[-1]["server_cpu_s"] - server
            server = rs[-1]["server_cpu_s"]
            lines.append(
                f"| {int(name.split('-')[1]) + 1} | {len(rs)} | {sum(r['wall_s'] for r in rs):.0f} "
                f"| {sum(r['cpu_s'] for r in rs):.0f} + {pg:.0f} | {rs[-1]['load'][0]:.1f} |"
            )
    for r in (r for r in recs if r["step"] == "first_load"):
        gen = [g for g in recs if g["step"] == "generate"]
        lines += [
            "",
            f"First load of {r['districts']} districts ({r['status']}): {r['records']:,} records; "
            f"generate {r['generate_wall_s']:.0f} s wall, {r['generate_cpu_s']:.0f} s CPU "
            f"({len(gen)} bundles); import {r['import_wall_s']:.0f} s wall, "
            f"{r['import_cpu_s']:.0f} s client CPU + {r['server_cpu_s']:.0f} s PostgreSQL CPU; "
            f"database {r['sizes']['db_bytes'] / gb:.2f} GB; load (1-min) {r['load'][0]:.1f} "
            "at the end.",
            "",
            "Steps (wall s): "
            + ", ".join(
                f"{k} {v:.0f}"
                for k, v in r["timings"].items()
                if not k.startswith(("load_", "aggregates_"))
            ),
        ]
    last = [r for r in recs if r["step"] in ("district", "first_load", "sizes")][-1:]
    if last:
        lines += ["", "Largest tables at the end (GB, estimated rows):", ""]
        for name, t in list(last[0]["sizes"]["tables"].items())[:10]:
            lines.append(f"- {name}: {t['bytes'] / gb:.2f} GB, {t['rows_est']:,} rows")
    pages = [r for r in recs if r["step"] == "pages"]
    if pages:
        names = [p["page"] for p in pages[0]["pages"]]
        lines += ["", "| districts | " + " | ".join(names) + " | load |"]
        lines.append("|---" * (len(names) + 2) + "|")
        for r in pages:
            cells = [
                f"{p.get('cold_s', float('nan')):.2f} / {p.get('warm_s', float('nan')):.2f}"
                + (" (errors)" if p.get("errors") or p.get("failed") else "")
                for p in r["pages"]
            ]
            lines.append(f"| {r['districts']} | " + " | ".join(cells) + f" | {r['load'][0]:.1f} |")
    for step in ("score", "queries", "raw_queries"):
        rows = [r for r in recs if r["step"] == step]
        if not rows:
            continue
        lines += ["", f"{step}:", ""]
        for r in rows:
            if step == "score":
                lines.append(
                    f"- {r['districts']} districts: {r['wall_s']} s wall, {r['cpu_s']} s CPU"
                )
                continue
            for q in r["queries"]:
                lines.append(
                    f"- {r['districts']} districts, {q['query']}: cold {q['cold_ms']} ms, "
                    f"warm {q['warm_ms']} ms"
                )
    for r in (r for r in recs if r["step"] == "partition_test"):
        lines += ["", f"partition test (copy {r['copy_s']} s, {r['partitions']} partitions):", ""]
        for q in r["queries"]:
            lines.append(
                f"- {q['query']}: plain {q['plain_cold_ms']} / {q['plain_warm_ms']} ms, by month "
                f"{q['by_month_cold_ms']} / {q['by_month_warm_ms']} ms (cold / warm)"
            )
        lines.append(
            f"- oldest month out: DELETE {r['delete_oldest_month_plain_s']} s, "
            f"DETACH {r['detach_oldest_month_s']} s"
        )
    return "\n".join(lines)


def _past(stop_by: str, seconds: float) -> bool:
    """Would ``seconds`` from now end after ``stop_by`` (HH:MM UTC, today)?"""
    now = datetime.now(UTC)
    hh, mm = (int(x) for x in stop_by.split(":"))
    return now.timestamp() + seconds > now.replace(hour=hh, minute=mm, second=0).timestamp()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--districts", type=int, default=10, help="districts to build (1..10)")
    p.add_argument("--first", type=int, default=0, help="first district index (resume)")
    p.add_argument("--scale", default="full", help="demo scale of each district")
    p.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL (database fangcang_city*)")
    p.add_argument("--pages-at", default="1,2,5,10", help="district counts with page timings")
    p.add_argument("--runs", type=int, default=3, help="warm runs per page and query")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "city.jsonl")
    p.add_argument("--work", type=Path, help="folder for the bundles (default: a temp folder)")
    p.add_argument(
        "--stop-by",
        metavar="HH:MM",
        help="UTC: start no district that would end after this (by the last one's time); the "
        "last district built then gets a checkpoint",
    )
    p.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    p.add_argument("--summary", type=Path, metavar="JSONL", help="print a run's tables and stop")
    p.add_argument("--partition-test", action="store_true", help="only the partitioning comparison")
    p.add_argument("--smoke", action="store_true", help="2 small districts, fangcang_city_smoke")
    p.add_argument(
        "--reuse", action="store_true", help="--first-load: use a district's parts left on disk"
    )
    p.add_argument("--pages", default=",".join(PAGES), help="pages timed at a checkpoint")
    p.add_argument(
        "--checkpoint-only",
        action="store_true",
        help="only the checkpoint (score, pages, queries) on the database as it is, labelled "
        "--districts",
    )
    p.add_argument(
        "--first-load",
        action="store_true",
        help="all districts as ONE first load into the empty database (import_first), then "
        "one checkpoint",
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.districts, args.scale, args.pages_at, args.runs, args.fresh = 2, "small", "2", 1, True
        args.pg = DEFAULT_PG.replace("fangcang_city", "fangcang_city_smoke")
    if args.summary:
        print(summary(args.summary))
        return 0
    if not 1 <= args.districts <= 10:
        p.error("--districts must be 1..10")
    at = {int(x) for x in args.pages_at.split(",") if x}
    if args.partition_test:
        engine = db.make_engine(args.pg)
        _emit(args.out, {"step": "partition_test", **partition_test(engine, args.runs)})
        engine.dispose()
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.checkpoint_only:
        engine = db.make_engine(args.pg)
        _emit(args.out, {"step": "sizes", "districts": args.districts, "sizes": sizes(engine)})
        checkpoint(args.pg, engine, args, args.districts, args.out)
        engine.dispose()
        return 0
    create_database(args.pg, args.fresh)
    engine = bulk_engine(args.pg)
    db.upgrade(engine)
    cpu = ServerCpu(engine)
    _emit(args.out, {"step": "start", "args": vars(args), "sizes": sizes(engine)})
    until = last_complete_month()
    work = args.work or Path(tempfile.mkdtemp(prefix="fangcang-city-"))
    total = {"wall_s": 0.0, "cpu_s": 0.0, "server_cpu_s": 0.0}
    last_s, built = 0.0, 0
    if args.first_load:
        built = first_load(engine, args, cpu, args.out, until, work)
        if built:
            checkpoint(args.pg, engine, args, built, args.out)
        if args.smoke:
            _emit(args.out, {"step": "partition_test", **partition_test(engine, args.runs)})
        engine.dispose()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        _emit(args.out, {"step": "done"})
        return 0 if built else 1
    for i in range(args.first, args.districts):
        if args.stop_by and _past(args.stop_by, last_s):
            _emit(args.out, {"step": "stopped", "before_district": i, "stop_by": args.stop_by})
            break
        folder = work / f"district-{i}"
        shutil.rmtree(folder, ignore_errors=True)
        before = sizes(engine)["db_bytes"]
        s0, t0, c0 = cpu.sample(), time.perf_counter(), time.process_time()
        bundle = write_bundle(folder, scale=args.scale, seed=20261129 + i, until=until, district=i)
        gen = (round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2))
        t1, c1 = time.perf_counter(), time.process_time()
        result = import_district(engine, folder, cpu, args.out, i)
        wall, own = time.perf_counter() - t1, time.process_time() - c1
        server = cpu.sample() - s0
        shutil.rmtree(folder, ignore_errors=True)
        after = sizes(engine)
        last_s, built = gen[0] + wall, i + 1
        total["wall_s"] += gen[0] + wall
        total["cpu_s"] += gen[1] + own
        total["server_cpu_s"] += server
        _emit(
            args.out,
            {
                "step": "district",
                "district": i,
                "records": bundle["records"],
                "generate_wall_s": gen[0],
                "generate_cpu_s": gen[1],
                "import_wall_s": round(wall, 2),
                "import_cpu_s": round(own, 2),
                "server_cpu_s": round(server, 2),
                "db_growth_bytes": after["db_bytes"] - before,
                "rows": result["rows"],
                "timings": result["timings"],
                "sizes": after,
                "total": {k: round(v, 2) for k, v in total.items()},
            },
        )
        if i + 1 in at:
            checkpoint(args.pg, engine, args, i + 1, args.out)
    if built and built not in at:
        checkpoint(args.pg, engine, args, built, args.out)
    if args.smoke:
        _emit(args.out, {"step": "partition_test", **partition_test(engine, args.runs)})
    engine.dispose()
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    _emit(args.out, {"step": "done"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
