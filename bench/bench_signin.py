"""How long a sign-in waits while a full-size import runs (SQLite, full demo copy).

A sign-in writes an audit entry and a session row: on SQLite it needs the database's write
lock. This script copies the full demo database, starts an import in a separate process and
meanwhile signs ``admin`` in every ``--every`` seconds from this process, through the app's
own path (``db.run_write`` with ``auth.authenticate`` + ``sessions.start``, as
``ui/login.py``). It reports each sign-in's time (max, p95, median), how many took over 1 s and
how many failed ("database is locked" / busy), with the idle sign-in time for comparison
(argon2 checks the password: that part is not waiting) and the machine's load.

The import (``--kind``):

- ``incidents``: ``--rows`` incidents, every stored one re-sent with corrections plus new
  ones up to the count (as ``bench_feed.py``);
- ``people``: the whole register (1.2 M people) re-sent with a later ``updated_at``.

``--stage`` on / off / auto picks the import's write path (``fangcang.importer.staged``).

    python bench/bench_signin.py --db /work/fulldemo2/fangcang.db --kind incidents --rows 400000
    python bench/bench_signin.py --db /work/fulldemo2/fangcang.db --kind people
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

USER, PASSWORD = "admin", "demo-admin-1"


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _import(path: str, folder: str, stage, done) -> None:
    from fangcang import db
    from fangcang.importer import import_bundle

    engine = db.make_engine(f"sqlite:///{path}")
    t0, c0 = time.perf_counter(), time.process_time()
    res = import_bundle(engine, folder, actor="bench", channel="bench", stage=stage)
    done.put(
        (
            res.status.value,
            time.perf_counter() - t0,
            time.process_time() - c0,
            dict(res.timings),
            res.report[-400:],
        )
    )


_VERIFY: list[float] = []


def _timed_verify():
    """auth.verify_password, timed: argon2's CPU time is not waiting for the lock."""
    from fangcang import auth

    plain = auth.verify_password

    def verify(*a, **kw):
        t0 = time.perf_counter()
        try:
            return plain(*a, **kw)
        finally:
            _VERIFY.append(time.perf_counter() - t0)

    auth.verify_password = verify


def _sign_in(engine) -> float:
    """One sign-in through the app's path; returns the time not spent in argon2."""
    from fangcang import auth, db, sessions

    def work(s):
        result = auth.authenticate(s, USER, PASSWORD)
        if not result.ok:
            raise RuntimeError(f"sign-in refused: {result.reason}")
        return sessions.start(s, USER, method="password")

    _VERIFY.clear()
    t0 = time.perf_counter()
    db.run_write(engine, work, what="sign-in")
    return time.perf_counter() - t0 - sum(_VERIFY)


def _write_feed(engine, kind: str, rows: int, folder: Path) -> int:
    import pandas as pd
    from sqlalchemy import text

    if kind == "incidents":
        from bench.bench_feed import _frame

        with engine.connect() as c:
            total = c.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        n_update = min(total, rows)
        frame = _frame(engine, n_update, max(0, rows - n_update), 3)
    else:
        from fangcang.models import Person

        cols = [c.name for c in Person.__table__.columns]
        with engine.connect() as c:
            frame = pd.read_sql(text(f"SELECT {', '.join(cols)} FROM people"), c)  # noqa: S608
        frame["updated_at"] = "2026-11-29 08:00:00"
    frame.to_csv(folder / f"{kind}.csv", index=False)
    return len(frame)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, default=Path("/work/fulldemo2/fangcang.db"))
    p.add_argument("--kind", choices=["incidents", "people"], default="incidents")
    p.add_argument("--rows", type=int, default=400_000, help="incidents only")
    p.add_argument("--every", type=float, default=0.5)
    p.add_argument("--stage", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--tmp", type=Path, default=None, help="folder for the database copy")
    args = p.parse_args()
    stage = {"auto": None, "on": True, "off": False}[args.stage]
    from fangcang import db

    with tempfile.TemporaryDirectory(prefix="fangcang-signin-", dir=args.tmp) as tmp:
        tmp = Path(tmp)
        path = tmp / "full.db"
        shutil.copyfile(args.db, path)
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        folder = tmp / "feed"
        folder.mkdir()
        n = _write_feed(engine, args.kind, args.rows, folder)
        _timed_verify()
        idle = [_sign_in(engine) for _ in range(3)]
        ctx = mp.get_context("spawn")
        done: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_import, args=(str(path), str(folder), stage, done))
        print(f"import of {n:,} {args.kind} (stage={args.stage}) starts ({load()})", flush=True)
        t_start, cpu0 = time.perf_counter(), _cpu()
        proc.start()
        waits: list[float] = []  # sign-in time less argon2's
        totals: list[float] = []  # whole sign-in
        failed: list[str] = []
        while proc.is_alive():
            t0 = time.perf_counter()
            try:
                waits.append(_sign_in(engine))
            except Exception as exc:  # busy after run_write's budget, or locked
                failed.append(f"{type(exc).__name__}: {exc}"[:200])
                waits.append(time.perf_counter() - t0)
            totals.append(time.perf_counter() - t0)
            time.sleep(max(args.every - (time.perf_counter() - t0), 0.05))
        status, wall, cpu_import, timings, tail = done.get()
        proc.join()
        engine.dispose()
    w = np.array(waits) if waits else np.zeros(1)
    tot = np.array(totals) if totals else np.zeros(1)
    print(f"import {status} in {wall:.1f} s wall, {cpu_import:.1f} s CPU ({load()} after)")
    print(
        f"sign-ins during it: {len(waits)}; time less argon2: max {w.max():.2f} s, "
        f"p95 {np.percentile(w, 95):.2f} s, median {np.median(w):.2f} s, over 1 s: "
        f"{int((w > 1).sum())}; failed: {len(failed)}; idle (no import) "
        f"{min(idle):.3f}-{max(idle):.3f} s"
    )
    print(
        f"whole sign-in (with argon2): max {tot.max():.2f} s, p95 {np.percentile(tot, 95):.2f} s, "
        f"median {np.median(tot):.2f} s"
    )
    print(
        f"CPU user+sys of bench + import: {_cpu() - cpu0:.1f} s over {time.perf_counter() - t_start:.1f} s"
    )
    for f in failed[:3]:
        print("  failed:", f)
    print("import timings:", {k: v for k, v in timings.items() if not k.startswith("cpu")})
    if status != "ok":
        print(tail)


if __name__ == "__main__":
    main()
