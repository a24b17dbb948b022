"""Time the 涉酒警情 and 警律联调 pages' core calls on a demo database (read only).

    python bench/bench_practice.py [--db URL] [--repeat 3]

``--db`` defaults to ``$FANGCANG_DB_URL``: a database built by ``python -m fangcang demo`` (the
practice's demo extension included). Prints the median seconds of ``page_view`` (12 months)
for the whole district and for the practising station, and of ``mediation_view``, with the
figures they produce. Skips (exit 0) when the database holds no patrol point.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db, mediation  # noqa: E402
from fangcang.access import Role, Scope, scope_for  # noqa: E402
from fangcang.alcohol.practice import page_view  # noqa: E402
from fangcang.models import Community, PatrolPoint  # noqa: E402


def _median(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None, help="database URL (default: $FANGCANG_DB_URL)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    engine = db.make_engine(args.db)
    with Session(engine) as s:
        point = s.scalar(select(PatrolPoint.community_id).limit(1))
        if point is None:
            print("no patrol points in this database: build the demo first (skipped)")
            return 0
        station = s.get(Community, point).station_id
        scopes = {
            "district": Scope.district(),
            f"station {station}": scope_for(s, Role.STATION, station),
        }
        for label, scope in scopes.items():
            secs, view = _median(lambda scope=scope: page_view(s, scope, 12), args.repeat)
            f = view.practice.figures
            print(
                f"page_view 12 months, {label:<14} {secs:6.2f} s  alcohol {f['alcohol']:,}, "
                f"handled {f['handled']}, disputes resolved {f['disputes_resolved']}/"
                f"{f['alcohol_disputes']}, escalations {f['escalations']}, files {f['files']}, "
                f"coverage {f['coverage'] or 0:.1%} of {f['slots']:,} slots"
            )
        secs, mv = _median(lambda: mediation.mediation_view(s, Scope.district(), 12), args.repeat)
        t = mv.totals
        print(
            f"mediation_view 12 months, district {secs:6.2f} s  referrals {t['referrals']}, "
            f"resolved {t['resolved']}, median days {t['days_median']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
