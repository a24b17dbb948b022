"""``score``: the targeted warning from the command line (``backtest`` is its own command)."""

from __future__ import annotations

import json
import sys

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.i18n import t
from fangcang.models import WarningLevel
from fangcang.scoring import config as cfg
from fangcang.scoring import store
from fangcang.scoring.config import INDICATOR_KEYS
from fangcang.timeutil import Month, last_complete_month


def _num(x):
    return None if x is None else round(float(x), 4)


def community_json(df) -> list[dict]:
    """The JSON shape per community: community_id, name, indicators (raw), percentiles, score,
    level, stability, significant (plus window_stable and borderline)."""
    out = []
    for r in df.to_dict("records"):
        out.append(
            {
                "community_id": r["community_id"],
                "name": r["name"],
                "indicators": {k: _num(r[k]) for k in INDICATOR_KEYS},
                "percentiles": {k: _num(r[f"p_{k}"]) for k in INDICATOR_KEYS},
                "score": float(r["score"]),
                "level": WarningLevel(r["level"]).value,
                "stability": _num(r["stability"]),
                "window_stable": bool(r["window_stable"]),
                "borderline": bool(r["borderline"]),
                "significant": bool(r["significant"]),
            }
        )
    return out


def _score(args) -> int:
    period = Month.parse(args.period) if args.period else last_complete_month()
    config = cfg.load_config(args.config) if args.config else cfg.load_config()
    engine = db.make_engine()
    with Session(engine) as session:
        before = store.latest_run(session, period)
        wr = store.run(session, period, config, actor=args.actor, rerun=args.rerun)
        session.commit()
        df = store.results(session, period)
        if args.json:
            json.dump(
                {
                    "period": str(period),
                    "run_id": wr.id,
                    "version": wr.version,
                    "config_hash": wr.config_hash,
                    "communities": community_json(df),
                },
                sys.stdout,
                ensure_ascii=False,
                indent=1,
            )
            print()
            return 0
        state = "stored" if before is None or args.rerun else "already stored (use --rerun)"
        print(f"warning {period}: run {wr.id} version {wr.version}, {state}; {len(df)} communities")
        if df.empty:
            return 0
        counts = df["level"].map(lambda v: WarningLevel(v).value).value_counts()
        print(
            "  "
            + "  ".join(
                f"{t('warning_level.' + lv.value, 'en')} {int(counts.get(lv.value, 0))}"
                for lv in reversed(WarningLevel)
            )
        )
        top = df[df["level"].map(lambda v: WarningLevel(v).rank >= WarningLevel.YELLOW.rank)]
        for r in top.head(args.top).itertuples(index=False):
            marks = ("*" if r.significant else " ") + ("~" if r.borderline else " ")
            print(
                f"  {r.score:5.1f} {WarningLevel(r.level).value:6s}{marks} {r.community_id:10s} {r.name}"
            )
        print("  (* significant change, ~ borderline)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("score", help="score every community for a month and store the warning run")
    p.add_argument(
        "--period", metavar="YYYY-MM", help="assessment month (default: last complete month)"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--rerun", action="store_true", help="store a new version even if the month has a run"
    )
    p.add_argument(
        "--config", metavar="TOML", help="scoring configuration (default: fangcang/scoring.toml)"
    )
    p.add_argument("--actor", default="cli", help="recorded as the run's author (default: cli)")
    p.add_argument(
        "--top", type=int, default=20, help="red/yellow communities to list (default 20)"
    )
    p.set_defaults(func=_score)
