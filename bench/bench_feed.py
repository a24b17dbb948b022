"""A small department feed into the full-size demo database, against a large upsert.

Copies the full demo database (``--db``, never written), applies migrations, then imports:

1. a feed of ``--n`` incidents (half new, half corrections of stored ones, spread over the
   district, as the 110 centre sends every few minutes): wall time, the aggregate work
   (``aggregates.track``: old contributions out, new in) and whether it was incremental;
2. (unless ``--no-upsert``) ``--upsert`` incidents (every stored one re-sent with a later
   ``updated_at``, plus new ones up to the count): the large case, whose aggregates are
   refreshed in full.

It then checks that the incrementally kept aggregates equal a full rebuild (in a transaction
that is rolled back; the copy's aggregates are rebuilt in full before the feed). Prints the machine's load with each figure (shared machine).

    python bench/bench_feed.py --db /work/fulldemo/fangcang.db
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from fangcang import aggregates, db  # noqa: E402
from fangcang.importer import import_bundle  # noqa: E402

COLUMNS = [
    "incident_id",
    "occurred_at",
    "category",
    "subtype",
    "lon",
    "lat",
    "community_id",
    "loss_yuan",
    "alcohol_related",
    "source",
    "updated_at",
]


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _frame(engine, n_update: int, n_new: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    with engine.connect() as c:
        total = c.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        stored = pd.read_sql(
            text(f"SELECT {', '.join(COLUMNS)} FROM incidents"),  # noqa: S608
            c,
        )
    n_update = min(n_update, total)
    old = stored.iloc[np.sort(rng.choice(total, n_update, replace=False))].copy()
    # corrections: a new category for a third, a new time for a third
    third = len(old) // 3
    old.iloc[:third, old.columns.get_loc("category")] = "dispute"
    occurred = pd.to_datetime(old["occurred_at"])
    old["occurred_at"] = occurred.where(
        np.arange(len(old)) % 3 != 1, occurred + pd.Timedelta(hours=5)
    ).dt.strftime("%Y-%m-%d %H:%M:%S")
    new = stored.iloc[rng.choice(total, n_new, replace=True)].copy()
    new["incident_id"] = [f"FEED{seed}-{i:07d}" for i in range(n_new)]
    last = pd.to_datetime(stored["occurred_at"]).max()
    new["occurred_at"] = (
        last - pd.to_timedelta(rng.integers(0, 3 * 86400, n_new), unit="s")
    ).strftime("%Y-%m-%d %H:%M:%S")
    out = pd.concat([old, new], ignore_index=True)
    out["updated_at"] = pd.Timestamp.now().floor("s").strftime("%Y-%m-%d %H:%M:%S")
    out["alcohol_related"] = out["alcohol_related"].astype(int)
    return out


def _import(engine, frame: pd.DataFrame, folder: Path, label: str):
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "incidents.csv", index=False)
    print(f"\n{label}: {len(frame):,} incidents ({load()} before)", flush=True)
    t0 = time.perf_counter()
    res = import_bundle(engine, folder, actor="bench", channel="bench")
    wall = time.perf_counter() - t0
    if not res.ok:
        print(res.report[:3000])
        raise SystemExit(1)
    t = res.timings
    print(
        f"  {res.status.value} in {wall:.2f} s wall: validate {t.get('validate', 0):.2f} s, "
        f"load {t.get('load_incidents', 0):.2f} s, aggregates {t.get('aggregates', 0):.3f} s "
        f"({res.aggregates.get('incidents')}), commit {t.get('commit', 0):.2f} s; "
        f"{res.inserted.get('incidents', 0):,} new, {res.updated.get('incidents', 0):,} updated"
    )
    print(f"  ({load()} after)", flush=True)
    return wall, res


def _check(engine) -> None:
    """Incrementally kept aggregates == a full rebuild (rolled back)."""
    names = [m.__tablename__ for m in aggregates.TABLES]

    def snap(s):
        out = {}
        for name in names:
            cols = [c for c in aggregates.AGGS[name].columns]
            q = f"SELECT {', '.join(cols)} FROM {name} ORDER BY {', '.join(cols[:4])}"  # noqa: S608
            frame = pd.read_sql(text(q), s.connection())
            out[name] = sorted(
                "|".join(map(str, r)) for r in frame.round(4).itertuples(index=False)
            )
        return out

    t0 = time.perf_counter()
    with Session(engine) as s:
        before = snap(s)
        aggregates.rebuild(s)
        after = snap(s)
        s.rollback()
    bad = [n for n in names if before[n] != after[n]]
    print(
        f"\ncheck: incremental == full rebuild: {'yes' if not bad else 'NO: ' + ', '.join(bad)}"
        f" ({sum(len(v) for v in after.values()):,} aggregate rows, "
        f"{time.perf_counter() - t0:.1f} s)"
    )
    if bad:
        raise SystemExit(1)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, default=Path("/work/fulldemo/fangcang.db"))
    p.add_argument("--n", type=int, default=100, help="incidents in the small feed")
    p.add_argument("--upsert", type=int, default=400_000, help="incidents in the large upsert")
    p.add_argument("--no-upsert", action="store_true")
    p.add_argument("--no-check", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="fangcang-feed-") as tmp:
        tmp = Path(tmp)
        path = tmp / "full.db"
        t0 = time.perf_counter()
        with db.make_engine(f"sqlite:///{args.db}").connect() as c:  # a consistent copy
            c.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        shutil.copyfile(args.db, path)
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        print(f"copied and migrated {args.db} in {time.perf_counter() - t0:.1f} s")
        if not args.no_check:
            # Start from exact aggregates (a demo built by older code may not be), so the
            # check after the feed tests the feed's incremental work only.
            t0 = time.perf_counter()
            with Session(engine) as s:
                aggregates.rebuild(s)
                s.commit()
            print(f"full rebuild of the aggregates (start): {time.perf_counter() - t0:.1f} s")
        small, res = _import(
            engine, _frame(engine, args.n // 2, args.n - args.n // 2, 1), tmp / "feed", "feed"
        )
        if not args.no_check:
            _check(engine)
        if not args.no_upsert:
            with engine.connect() as c:
                total = c.execute(text("SELECT count(*) FROM incidents")).scalar_one()
            frame = _frame(engine, min(total, args.upsert), max(0, args.upsert - total), 2)
            big, _ = _import(engine, frame, tmp / "upsert", "large upsert")
            print(f"\nfeed / large upsert wall time: {small / big:.3f}")
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (process): {peak:,.0f} MB")


if __name__ == "__main__":
    main()
