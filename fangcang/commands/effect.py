"""``effect`` and ``focus``: focused work (整治) and whether it changed anything.

python -m fangcang effect [--months 6] [--as-of YYYY-MM] [--json]
python -m fangcang focus start --community 沿江社区 --date 2026-05-01 --measures "..."
python -m fangcang focus end ID --date 2026-10-31
python -m fangcang focus list
"""

from __future__ import annotations

import json
import sys
from datetime import date

from sqlalchemy.orm import Session

from fangcang import db, effect
from fangcang.cli import cli_actor
from fangcang.i18n import fmt_pct
from fangcang.timeutil import Month


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date must look like YYYY-MM-DD, got {text!r}") from None


def _num(x, digits=2):
    return None if x is None else round(float(x), digits)


def _effect_json(ba: effect.BeforeAfter) -> dict:
    return {
        "focus_id": ba.focus_id,
        "community_id": ba.community_id,
        "name": ba.community_name,
        "sub_district": ba.sub_district,
        "start_date": ba.start_date.isoformat(),
        "end_date": ba.end_date.isoformat() if ba.end_date else None,
        "before": [str(ba.windows.before_first), str(ba.windows.before_last)],
        "after": [str(ba.windows.after_first), str(ba.windows.after_last)],
        "months": ba.windows.months,
        "level_before": ba.level_before,
        "levels_used": ba.levels_used,
        "comparisons": [
            {
                "community_id": c.community_id,
                "name": c.name,
                "level": c.level,
                "level_matched": c.level_matched,
                "rate_before": _num(c.rate_before),
            }
            for c in ba.comparisons
        ],
        "measures": {
            m: {
                "before": e.raw.before,
                "after": e.raw.now,
                "pct": _num(e.raw.pct),
                "z": _num(e.raw.z),
                "p_value": _num(e.raw.p_value, 5),
                "significant": e.raw.significant,
                "comparison_before": e.comparison_before,
                "comparison_after": e.comparison_after,
                "comparison_pct": _num(e.comparison_pct),
                "did_points": _num(e.did_points),
                "did_ratio_pct": _num(e.did_ratio_pct),
                "did_z": _num(e.did_z),
                "did_p": _num(e.did_p, 5),
                "verdict": e.verdict,
                "text": effect.verdict_text(ba, m, "en"),
            }
            for m, e in ba.effects.items()
        },
    }


def _effect(args) -> int:
    engine = db.make_engine()
    with Session(engine) as session:
        as_of = Month.parse(args.as_of) if args.as_of else effect.latest_data_month(session)
        if as_of is None:
            print("no incidents in the database yet")
            return 0
        results = effect.effect_summary(session, args.months, as_of)
        yoy = effect.district_yoy(session, as_of.shift(-11), as_of)
        if args.json:
            json.dump(
                {
                    "as_of": str(as_of),
                    "months": args.months,
                    "focused": [_effect_json(ba) for ba in results],
                    "district_yoy": {
                        "period": [str(as_of.shift(-11)), str(as_of)],
                        "rows": [
                            {
                                "key": r.key,
                                "now": r.now,
                                "last_year": r.last_year,
                                "pct": _num(r.pct),
                                "z": _num(r.z),
                                "p_value": _num(r.p_value, 5),
                                "significant": r.significant,
                                "zero_last_year": r.zero_last_year,
                            }
                            for r in yoy
                        ],
                    },
                },
                sys.stdout,
                ensure_ascii=False,
                indent=1,
            )
            print()
            return 0
        if not results:
            print("no focused work with a complete month yet")
        for ba in results:
            w = ba.windows
            print(
                f"{ba.community_name} ({ba.sub_district}) focused work #{ba.focus_id} from "
                f"{ba.start_date}: before {w.before_first}..{w.before_last}, "
                f"after {w.after_first}..{w.after_last} ({w.months} months)"
            )
            names = ", ".join(f"{c.name}{'' if c.level_matched else '*'}" for c in ba.comparisons)
            lv = "" if ba.levels_used else " (no stored warning run: matched on rate only)"
            print(f"  comparison: {names or 'none'}{lv}")
            for m, e in ba.effects.items():
                print(
                    f"  {m:6s} {e.raw.before:6d} -> {e.raw.now:6d}  {fmt_pct(e.raw.pct)} "
                    f"(p={e.raw.p_value:.3g})  comparison {fmt_pct(e.comparison_pct)}  "
                    f"DiD {fmt_pct(e.did_ratio_pct)} (z={_num(e.did_z)})  {e.verdict}"
                )
                print(f"         {effect.verdict_text(ba, m, 'zh')}")
        print(f"district year on year, {as_of.shift(-11)}..{as_of}:")
        for r in yoy:
            pct = "zero last year" if r.zero_last_year else fmt_pct(r.pct, digits=2)
            sig = "significant" if r.significant else "not significant"
            print(f"  {r.label('en'):28s} {r.now:8d} vs {r.last_year:8d}  {pct:>9s}  {sig}")
    return 0


def _focus_start(args) -> int:
    engine = db.make_engine()
    with Session(engine) as session:
        c = effect.find_community(session, args.community)
        fw = effect.start_focus(
            session,
            c.community_id,
            _date(args.date),
            args.measures,
            cli_actor(args.actor),
        )
        session.commit()
        print(f"focused work #{fw.id}: {c.name} from {fw.start_date}")
    return 0


def _focus_end(args) -> int:
    engine = db.make_engine()
    with Session(engine) as session:
        fw = effect.end_focus(
            session,
            args.id,
            _date(args.date),
            cli_actor(args.actor),
            args.note or "",
        )
        session.commit()
        print(f"focused work #{fw.id} ended on {fw.end_date}")
    return 0


def _focus_list(args) -> int:
    engine = db.make_engine()
    with Session(engine) as session:
        rows = effect.list_focus(session)
        if not rows:
            print("no focused work")
        for r in rows:
            end = r["end_date"] or "open"
            print(
                f"#{r['focus_id']}  {r['community_name']} ({r['sub_district']})  "
                f"{r['start_date']} .. {end}  {r['measures']}"
            )
    return 0


def register(sub) -> None:
    p = sub.add_parser("effect", help="before/after of focused work with comparison; district YoY")
    p.add_argument("--months", type=int, default=6, help="months before and after (default 6)")
    p.add_argument("--as-of", metavar="YYYY-MM", help="last month counted (default: newest data)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_effect)

    f = sub.add_parser("focus", help="mark communities under focused work (整治)")
    fsub = f.add_subparsers(dest="focus_command", required=True)
    s = fsub.add_parser("start", help="start focused work")
    s.add_argument("--community", required=True, help="community id or exact name")
    s.add_argument("--date", required=True, help="start date YYYY-MM-DD")
    s.add_argument("--measures", required=True, help="the measures taken")
    s.add_argument("--actor")
    s.set_defaults(func=_focus_start)
    e = fsub.add_parser("end", help="end focused work")
    e.add_argument("id", type=int, help="focused work id (see focus list)")
    e.add_argument("--date", required=True, help="end date YYYY-MM-DD")
    e.add_argument("--note")
    e.add_argument("--actor")
    e.set_defaults(func=_focus_end)
    fsub.add_parser("list", help="list focused work").set_defaults(func=_focus_list)
