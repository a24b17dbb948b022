"""Time the warning model on a built database (best on the full demo).

    python bench/bench_scoring.py --db sqlite:///data/fangcang.db [--period YYYY-MM] [--repeat 5]

Prints the median seconds of: reading the inputs, compute without and with stability, storing a
run (rolled back), reading stored results, and the 12-month back-test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db, scoring  # noqa: E402
from fangcang.models import AggFactor, AggIncidentDay  # noqa: E402
from fangcang.scoring.inputs import read_inputs  # noqa: E402
from fangcang.scoring.monthly import data_span  # noqa: E402
from fangcang.timeutil import Month  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database URL (default: $FANGCANG_DB_URL or data/fangcang.db)")
    ap.add_argument("--period", help="assessment month (default: last complete month of incidents)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    engine = db.make_engine(args.db)
    config = scoring.load_config()
    with Session(engine) as s:
        span = data_span(s)
        period = Month.parse(args.period) if args.period else (span[1] if span else None)
        if period is None:
            print("no incident aggregates: build the demo first")
            return 1
        n_day = s.scalar(select(func.count()).select_from(AggIncidentDay))
        n_fac = s.scalar(select(func.count()).select_from(AggFactor))
        print(f"database {engine.url.render_as_string(hide_password=True)}; period {period}")
        print(f"agg_incident_day {n_day:,} rows, agg_factor {n_fac:,} rows")
        rows = [
            ("read inputs", lambda: read_inputs(s, period, config)),
            (
                "compute, no stability",
                lambda: scoring.compute(s, period, config, with_stability=False),
            ),
            ("compute (1,000 draws + window)", lambda: scoring.compute(s, period, config)),
        ]
        for label, fn in rows:
            t, out = timed(fn, args.repeat)
            extra = f" ({len(out)} communities)" if hasattr(out, "__len__") else ""
            print(f"{label:34s} {t * 1000:8.1f} ms{extra}")

        def store_and_roll_back():
            wr = scoring.run(s, period, config, actor="bench", rerun=True)
            s.rollback()
            return wr

        t, _ = timed(store_and_roll_back, args.repeat)
        print(f"{'run (store, rolled back)':34s} {t * 1000:8.1f} ms")
        if scoring.latest_run(s, period) is not None:
            t, out = timed(lambda: scoring.results(s, period), args.repeat)
            print(f"{'results (stored run)':34s} {t * 1000:8.1f} ms ({len(out)} rows)")
        t, out = timed(lambda: scoring.backtest(s, months=12, config=config), 1)
        print(f"{'back-test, 12 months':34s} {t * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
