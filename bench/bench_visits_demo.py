"""Run the household-visits demo extension alone on a COPY of a database and report each phase.

    python bench/bench_visits_demo.py --db sqlite:////path/to/copy.db [--json FILE]

The database must be in the state the extension starts from: a demo built up to (not
including) ``fangcang.visits:demo_prepare`` (e.g. ``fangcang.demo.EXTENSIONS`` cut before it,
or a snapshot taken there); the extension then writes, reconciles and decides in one process. The extension WRITES (about 113,000 visits, 282,000 residents
seen and 14,000 discrepancies at full size, part of them decided): never point it at a
database you want to keep. Prints wall and CPU seconds (user + system of this process) per
phase (the phases are the extension's progress messages), the total, the peak RSS and the
load average; ``--json FILE`` also writes them.

On SQLite, ``--locks`` also measures how long the extension holds the write lock: a probe
process tries ``BEGIN IMMEDIATE`` (no busy wait) every 10 ms and reports the spans in which
it could not (each is a transaction of the extension holding the lock, give or take 10 ms):
the longest, how many over 0.5 s and over 1 s, and the ten longest with when they started.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db  # noqa: E402
from fangcang.demo import DemoContext  # noqa: E402
from fangcang.timeutil import Month  # noqa: E402
from fangcang.visits import demo_extend  # noqa: E402


def _probe(path: str, stop, out) -> None:
    """Try to take SQLite's write lock every 10 ms until ``stop`` is set; put the spans
    (start epoch seconds, seconds) in which another connection held it on ``out``."""
    con = sqlite3.connect(path, timeout=0, isolation_level=None)
    spans, since = [], None
    while not stop.is_set():
        now = time.time()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            if since is not None:
                spans.append((since, now - since))
                since = None
        except sqlite3.OperationalError:  # database is locked: someone holds the write lock
            if since is None:
                since = now
        time.sleep(0.01)
    if since is not None:
        spans.append((since, time.time() - since))
    con.close()
    out.put(spans)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="URL of a database COPY (it is written to)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--locks", action="store_true", help="SQLite: measure write-lock holds")
    args = ap.parse_args()
    engine = db.make_engine(args.db)
    with Session(engine) as s:
        until = Month.parse(db.get_meta(s, "demo_until"))
        scale = db.get_meta(s, "demo_scale") or "full"
        seed = int(db.get_meta(s, "demo_seed") or 20261129)
    phases: dict[str, dict] = {}
    mark = [time.process_time(), time.perf_counter(), "start"]

    def progress(fraction: float, message: str) -> None:
        # Time since the previous message goes to the phase that message announced.
        name = "reconcile" if "reconcile" in message else mark[2]
        row = phases.setdefault(name, {"cpu_s": 0.0, "wall_s": 0.0})
        row["cpu_s"] += time.process_time() - mark[0]
        row["wall_s"] += time.perf_counter() - mark[1]
        mark[:] = [time.process_time(), time.perf_counter(), message.removeprefix("visits: ")]

    ctx = DemoContext(engine, scale, seed, until, progress)
    probe = None
    if args.locks:
        spawn = mp.get_context("spawn")
        stop, spans = spawn.Event(), spawn.Queue()
        probe = spawn.Process(target=_probe, args=(engine.url.database, stop, spans))
        probe.start()
        time.sleep(1.0)
    load = os.getloadavg()
    began = time.time()
    cpu, wall = time.process_time(), time.perf_counter()
    counts = demo_extend(ctx)
    out = {
        "scale": scale,
        "until": str(until),
        "visits": counts.get("visits"),
        "discrepancies": counts.get("discrepancies"),
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "phases": {k: {n: round(v, 2) for n, v in row.items()} for k, row in phases.items()},
    }
    if probe is not None:
        stop.set()
        held = sorted(spans.get(), key=lambda x: -x[1])
        probe.join()
        out["write_lock"] = {
            "max_s": round(held[0][1], 2) if held else 0.0,
            "spans": len(held),
            "over_0_5s": sum(1 for _, d in held if d > 0.5),
            "over_1s": sum(1 for _, d in held if d > 1.0),
            "total_s": round(sum(d for _, d in held), 1),
            "longest": [[round(at - began, 1), round(d, 2)] for at, d in held[:10]],
        }
        print(f"write lock: {out['write_lock']}")
    print(f"visits demo ({scale}, until {until}): {counts}")
    for name, row in out["phases"].items():
        print(f"  {name:36s} cpu {row['cpu_s']:7.2f} s  wall {row['wall_s']:7.2f} s")
    print(
        f"total: cpu {out['cpu_s']} s, wall {out['wall_s']} s, peak RSS {out['peak_rss_mb']} MB, "
        f"load {out['load_before']} -> {out['load_after']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
