"""The warning analytics on a built database (best on the full demo): the back-test table and
the emerging hot-spot category counts, with their run times.

    python bench/bench_analytics.py --db sqlite:///data/fangcang.db [--period YYYY-MM]
        [--months 12] [--repeat 3] [--json out.json]

Prints: the back-test of the last ``--months`` assessment months (model vs both baselines, both
targets, with 95% block-bootstrap intervals and wins; nothing is stored), the months left out,
the emerging hot-spot category counts for ``--period`` (default: the last complete month of
incident data), the hot spots by name, and the median seconds of each step plus the machine's
load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db  # noqa: E402
from fangcang.scoring import hotspots  # noqa: E402
from fangcang.scoring.backtest import backtest, summary  # noqa: E402
from fangcang.scoring.monthly import data_span  # noqa: E402
from fangcang.timeutil import Month  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _f(x, signed=False) -> str:
    if x is None:
        return "   -  "
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database URL (default: $FANGCANG_DB_URL or data/fangcang.db)")
    ap.add_argument("--period", help="final month of the hot-spot analysis (YYYY-MM)")
    ap.add_argument("--months", type=int, default=12, help="back-tested assessment months")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    engine = db.make_engine(args.db)
    with Session(engine) as s:
        span = data_span(s)
        if span is None:
            print("no incident aggregates: build the demo first")
            return 1
        period = Month.parse(args.period) if args.period else span[1]
        print(f"database {engine.url.render_as_string(hide_password=True)}")
        print(f"complete months of incident data: {span[0]} .. {span[1]}; load {os.getloadavg()}")

        t_bt, df = timed(lambda: backtest(s, months=args.months), 1)
        summ = summary(df)
        share = f"{100 * summ['share']:.0f}%"
        print(f"\nback-test: {len(df)} assessment months, {summ['months']} kept; PAI at {share}")
        for p, reason in summ["excluded"]:
            print(f"  left out {p}: {reason}")
        print(
            f"  {'figure':14s} {'baseline':11s} {'model [95% CI]':26s} {'baseline [95% CI]':26s}"
            f" {'difference [95% CI]':28s} wins"
        )
        for c in summ["comparisons"]:
            print(
                f"  {c['key']:14s} {c['baseline']:11s} "
                f"{_f(c['model'])} [{_f(c['model_low'])}, {_f(c['model_high'])}]     "
                f"{_f(c['base'])} [{_f(c['base_low'])}, {_f(c['base_high'])}]     "
                f"{_f(c['diff'], True)} [{_f(c['diff_low'], True)}, {_f(c['diff_high'], True)}]  "
                f"   {c['wins']}/{c['n']}"
            )

        t_hs, hs = timed(lambda: hotspots.categories(s, period), args.repeat)
        counts = hotspots.category_counts(hs)
        print(
            f"\nemerging hot spots {hs.attrs['first']} .. {hs.attrs['last']} "
            f"({hs.attrs['months']} months, alpha {hs.attrs['alpha']}):"
        )
        for k, n in counts.items():
            if n:
                print(f"  {k:18s} {n:4d}")
        hot = hs[[hotspots.HotSpotCategory(c).hot_now for c in hs["category"]]]
        for r in hot.itertuples(index=False):
            print(
                f"    {r.name} ({r.sub_district}): {r.category}, z {r.gi_z:+.2f}, "
                f"hot {r.hot_months}/{r.months}, trend {r.trend} (tau {r.mk_tau:+.2f})"
            )
        print(
            f"\nseconds: back-test {t_bt:.2f} (once), hot spots {t_hs:.2f} (median of {args.repeat})"
        )
        print(f"load average now: {os.getloadavg()}")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "backtest": summ,
                        "hotspots": counts,
                        "seconds": {"backtest": t_bt, "hotspots": t_hs},
                    },
                    ensure_ascii=False,
                    indent=1,
                ),
                encoding="utf-8",
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
