"""Warning quality on a demo database: does a colour mean real, lasting risk?

Reads the stored warning runs (``fangcang.scoring.store``) and the demo's true risk
(``fangcang.scoring.demo.true_risk``) and prints, for the last ``--months`` months:

- level counts per month and level changes per month (median; a change = a community whose
  stored level differs from the month before);
- distinct yellow/red communities;
- precision: share of yellow/red community-months whose TRUE crime rate over the same 12-month
  window is >= 1.25x the district's (and, for reference, the true rate of that month alone);
- which designed communities (worse, focus, elevated, emerging, fading) were yellow/red;
- 沿江社区's levels month by month.

Usage: FANGCANG_DB_URL=sqlite:////path/to/demo.db python -m bench.bench_warning_quality [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.models import Community
from fangcang.scoring import store
from fangcang.scoring.demo import true_risk

NAMED = ("yellow", "red")


def measure(session: Session, months: int = 12, threshold: float = 1.25) -> dict:
    periods = store.stored_periods(session)
    if not periods:
        raise SystemExit("no stored warning runs")
    last = periods[-1]
    window = [last.shift(-i) for i in reversed(range(months))]
    truth = true_risk(session)
    if truth.empty:
        raise SystemExit("no demo truth stored (meta demo_truth): rebuild the demo")
    tr = truth.pivot(index="community_id", columns="period", values="ratio")
    risk = truth.drop_duplicates("community_id").set_index("community_id")["risk"]
    names = dict(session.query(Community.community_id, Community.name).all())
    all_months = list(tr.columns)

    def true12(cid: str, period) -> float:
        i = all_months.index(str(period))
        return float(np.mean(tr.loc[cid, all_months[max(0, i - 11) : i + 1]]))

    counts, changes, flagged = [], [], []
    prev = store.levels_for_month(session, window[0].shift(-1))
    for m in window:
        levels = store.levels_for_month(session, m) or {}
        c = {lv: 0 for lv in store.level_order()}
        for lv in levels.values():
            c[lv] += 1
        counts.append({"period": str(m), **c})
        if prev is not None:
            changes.append(sum(1 for k, v in levels.items() if prev.get(k) != v))
        prev = levels
        for cid, lv in levels.items():
            if lv in NAMED:
                flagged.append((str(m), cid, lv, true12(cid, m), float(tr.loc[cid, str(m)])))
    distinct = sorted({f[1] for f in flagged})
    prec12 = float(np.mean([f[3] >= threshold for f in flagged])) if flagged else None
    prec1 = float(np.mean([f[4] >= threshold for f in flagged])) if flagged else None
    true_high = sorted(cid for cid in tr.index if any(true12(cid, m) >= threshold for m in window))
    focus = [c for c in risk.index if risk[c] == "focus"]
    focus_levels = {}
    if focus:
        hist = store.level_history(session, focus[0])
        focus_levels = dict(zip(hist["period"], hist["level"], strict=True))
    return {
        "last": str(last),
        "months": months,
        "level_counts": counts,
        "changes_per_month": changes,
        "median_changes": statistics.median(changes) if changes else None,
        "distinct_yellow_red": len(distinct),
        "yellow_red_months": len(flagged),
        f"precision_true12_ge_{threshold:.2f}": prec12,
        f"precision_true_month_ge_{threshold:.2f}": prec1,
        "true_high_communities": len(true_high),
        "recall_of_true_high": (
            len(set(distinct) & set(true_high)) / len(true_high) if true_high else None
        ),
        "flagged_by_design": {
            kind: sorted(names.get(c, c) for c in distinct if risk.get(c) == kind)
            for kind in ("focus", "worse", "elevated", "emerging", "fading", "normal")
        },
        "designed_not_flagged": sorted(
            names.get(c, c)
            for c in risk.index
            if risk[c] in ("worse", "focus", "elevated") and c not in distinct
        ),
        "false_positives": sorted(
            {(names.get(f[1], f[1]), round(f[3], 2)) for f in flagged if f[3] < threshold}
        ),
        "focus_levels": focus_levels,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with Session(db.make_engine()) as s:
        out = measure(s, args.months)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for k, v in out.items():
        if k == "level_counts":
            print("level counts per month:")
            for row in v:
                print("  ", row)
        else:
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
