"""Review-meeting periods on a full demo database: ``periods.comparison`` (five metrics, the
period and both comparison windows) and ``periods.by_unit`` (per sub-district) for every period
kind, cold (first run) and warm (best of ``--runs``), district-wide.

    python bench/bench_periods.py --db /work/wt/periods-full.db

Without ``--db`` it uses ``FANGCANG_DB_URL`` (skips when neither is given).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db, periods, trends  # noqa: E402
from fangcang.access import Scope  # noqa: E402
from fangcang.periods import PeriodChoice, PeriodKind  # noqa: E402
from fangcang.timeutil import Month  # noqa: E402


def _timed(fn, runs: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = min(_once(fn) for _ in range(runs))
    return cold, warm


def _once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", help="SQLite file (read only)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    url = f"sqlite:///{args.db}" if args.db else os.environ.get("FANGCANG_DB_URL")
    if not url:
        print("no database: pass --db or set FANGCANG_DB_URL (skipped)")
        return 0
    engine = db.make_engine(url)
    scope = Scope.district()
    with Session(engine) as s:
        first, as_of = periods.data_span(s)
        units = trends.community_meta(s, scope)[
            ["community_id", "sub_district_code", "sub_district"]
        ]
        units = units.rename(columns={"sub_district": "name"})
        choices = {
            "month": PeriodChoice.of_month(Month.of(as_of)),
            "7d": PeriodChoice(PeriodKind.DAYS_7),
            "28d": PeriodChoice(PeriodKind.DAYS_28),
            "quarter": PeriodChoice.of_quarter(*periods.quarters(first, as_of)[0]),
            "ytd": PeriodChoice(PeriodKind.YTD),
            "custom 45 days": PeriodChoice.of_range(as_of - timedelta(days=44), as_of),
        }
        print(f"{url.split('/')[-1]}: data {first} .. {as_of}")
        print(
            f"{'period':<16}{'comparison cold':>16}{'warm':>9}{'by sub-district cold':>22}{'warm':>9}"
        )
        for name, choice in choices.items():
            p = periods.resolve(choice, as_of, first)
            c = _timed(lambda p=p: periods.comparison(s, scope, p), args.runs)
            u = _timed(
                lambda p=p: periods.by_unit(s, scope, p, units, "sub_district_code"), args.runs
            )
            print(f"{name:<16}{c[0]:>15.3f}s{c[1]:>8.3f}s{u[0]:>21.3f}s{u[1]:>8.3f}s")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
