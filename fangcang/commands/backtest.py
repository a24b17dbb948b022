"""``backtest``: how well the warning score foresaw the next quarter, against two baselines."""

from __future__ import annotations

import json
import math
import sys

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.scoring import config as cfg
from fangcang.scoring.backtest import SHARE, backtest, month_table, summary
from fangcang.timeutil import Month

_FIGURES = {
    "rho_count": "rho vs next-quarter counts (baseline: last 12 months' count)",
    "rho_rate": "rho vs next-quarter rates (baseline: 12-month rate)",
    "pai_count": "PAI at {share} of area (baseline: last 12 months' count)",
    "pai_rate": "PAI at {share} of area (baseline: 12-month rate)",
    "pai_pop_count": "population PAI at {share} of residents (baseline: count)",
    "pai_pop_rate": "population PAI at {share} of residents (baseline: 12-month rate)",
}


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _fmt(x, digits: int = 3, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _ci(mean, low, high, signed: bool = False) -> str:
    return f"{_fmt(mean, 3, signed)} [{_fmt(low, 3, signed)}, {_fmt(high, 3, signed)}]"


def _run(args) -> int:
    config = cfg.load_config(args.config) if args.config else cfg.load_config()
    until = Month.parse(args.until) if args.until else None
    engine = db.make_engine()
    with Session(engine) as session:
        df = backtest(
            session,
            months=args.months,
            config=config,
            until=until,
            store=not args.no_store,
            share=args.share,
        )
        session.commit()
    summ = summary(df)
    if args.json:
        rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict("records")]
        json.dump({"months": rows, "summary": summ}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    if df.empty:
        print("back-test: no incident data")
        return 0
    share = f"{100 * summ['share']:.0f}%"
    print(f"back-test of {len(df)} assessment months; kept {summ['months']}")
    for period, reason in summ["excluded"]:
        print(f"  left out {period}: {reason}")
    print(
        " figure                                                     model [95% CI]          "
        "baseline [95% CI]       model - baseline [95% CI]  wins"
    )
    for c in summ["comparisons"]:
        print(
            f" {_FIGURES[c['key']].format(share=share):58s} "
            f"{_ci(c['model'], c['model_low'], c['model_high']):23s} "
            f"{_ci(c['base'], c['base_low'], c['base_high']):23s} "
            f"{_ci(c['diff'], c['diff_low'], c['diff_high'], True):26s} {c['wins']}/{c['n']}"
        )
    mt = month_table(df)
    print(
        " month    next  rho count m|b   rho rate m|b    PAI m|count|rate     pop PAI m|count|rate"
    )
    for r in mt.itertuples(index=False):
        print(
            f" {r.period}  {r.next_crime:5d}  {_fmt(r.rho_count_model)}|{_fmt(r.rho_count_last_count)}"
            f"  {_fmt(r.rho_rate_model)}|{_fmt(r.rho_rate_rate_12m)}"
            f"  {_fmt(r.pai_model, 2)}|{_fmt(r.pai_last_count, 2)}|{_fmt(r.pai_rate_12m, 2)}"
            f"  {_fmt(r.pai_pop_model, 2)}|{_fmt(r.pai_pop_last_count, 2)}|{_fmt(r.pai_pop_rate_12m, 2)}"
        )
    return 0


def register(sub) -> None:
    b = sub.add_parser(
        "backtest", help="how well the warning score foresaw next quarter's crime (vs baselines)"
    )
    b.add_argument("--months", type=int, default=12, help="assessment months to test (default 12)")
    b.add_argument(
        "--until",
        metavar="YYYY-MM",
        help="last month of data to use (default: last complete month of incident data)",
    )
    b.add_argument(
        "--share",
        type=float,
        default=SHARE,
        help=f"share of area / residents at which PAI is read (default {SHARE})",
    )
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    b.add_argument(
        "--config", metavar="TOML", help="scoring configuration (default: fangcang/scoring.toml)"
    )
    b.add_argument(
        "--no-store", action="store_true", help="do not keep the figures for the dashboard"
    )
    b.set_defaults(func=_run)
