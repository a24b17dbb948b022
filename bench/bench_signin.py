"""How long a sign-in waits for the write lock while an import runs (SQLite, full demo copy).

A sign-in writes an audit row; on SQLite it needs the database's write lock, which an import
holds while it loads. This script copies the full demo database, starts an import of
``--rows`` incidents (re-sent stored ones and new ones, as in ``bench_feed.py``) in a separate
process, and meanwhile writes a sign-in audit entry every ``--every`` seconds from this
process (a one-row write standing in for the audit entry), recording how long each waited
(``busy_timeout`` 60 s). Prints the longest wait and
the share of sign-ins that waited more than 1 s, with the machine's load.

    python bench/bench_signin.py --db /work/fulldemo/fangcang.db --rows 100
    python bench/bench_signin.py --db /work/fulldemo/fangcang.db --rows 400000
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _import(path: str, folder: str, done) -> None:
    from fangcang import db
    from fangcang.importer import import_bundle

    engine = db.make_engine(f"sqlite:///{path}")
    t0 = time.perf_counter()
    res = import_bundle(engine, folder, actor="bench", channel="bench")
    done.put((res.status.value, time.perf_counter() - t0, dict(res.timings)))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, default=Path("/work/fulldemo/fangcang.db"))
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--every", type=float, default=0.25)
    args = p.parse_args()
    from bench.bench_feed import _frame
    from fangcang import db

    with tempfile.TemporaryDirectory(prefix="fangcang-signin-") as tmp:
        tmp = Path(tmp)
        path = tmp / "full.db"
        shutil.copyfile(args.db, path)
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        with engine.connect() as c:
            total = c.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        n_update = min(total, args.rows // 2 if args.rows < 1000 else args.rows)
        frame = _frame(engine, n_update, max(0, args.rows - n_update), 3)
        engine.dispose()
        folder = tmp / "feed"
        folder.mkdir()
        frame.to_csv(folder / "incidents.csv", index=False)
        del frame
        with sqlite3.connect(path) as c:  # a sign-in's write stands in as one small row
            c.execute("CREATE TABLE IF NOT EXISTS _bench_signin (at TEXT)")
        done: mp.Queue = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(target=_import, args=(str(path), str(folder), done))
        print(f"import of {args.rows:,} incidents starts ({load()})", flush=True)
        proc.start()
        con = sqlite3.connect(path, timeout=60, isolation_level=None)
        waits: list[float] = []
        failed: list[str] = []
        while proc.is_alive():
            t0 = time.perf_counter()
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("INSERT INTO _bench_signin (at) VALUES (datetime('now'))")
                con.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # gave up after busy_timeout
                failed.append(str(exc))
            waits.append(time.perf_counter() - t0)
            time.sleep(args.every)
        proc.join()
        status, wall, timings = done.get()
        con.close()
    long = [w for w in waits if w > 1.0]
    print(f"import {status} in {wall:.1f} s ({load()} after)")
    print(
        f"sign-ins during it: {len(waits)}; longest wait {max(waits, default=0):.2f} s; "
        f"waited > 1 s: {len(long)}; failed after the 60 s busy timeout: {len(failed)}"
    )
    print("import timings:", {k: v for k, v in timings.items() if not k.startswith("cpu")})


if __name__ == "__main__":
    main()
