"""``score``: the targeted warning from the command line (``backtest`` is its own command)."""

from __future__ import annotations

import json
import sys

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.i18n import plural, t
from fangcang.models import ImportLog, ImportStatus, WarningLevel, WarningRun
from fangcang.scoring import config as cfg
from fangcang.scoring import store
from fangcang.scoring.config import INDICATOR_KEYS
from fangcang.timeutil import Month, last_complete_month


def _num(x):
    return None if x is None or x != x else round(float(x), 4)


def _str(x) -> str | None:
    return x if isinstance(x, str) else None


def community_json(df) -> list[dict]:
    """The JSON shape per community (model 2): community_id, name, model_version, indicators
    (ratios to the district), points, score, level, raw_level, pending, significant,
    excess_p, trend_mark, trend_z, stability, window_stable, borderline. Model-1 runs give
    their percentiles instead of ratios and points."""
    out = []
    for r in df.to_dict("records"):
        v2 = int(r["model_version"]) >= 2
        row = {
            "community_id": r["community_id"],
            "name": r["name"],
            "model_version": int(r["model_version"]),
            "score": float(r["score"]),
            "level": WarningLevel(r["level"]).value,
            "raw_level": _str(r["raw_level"]),
            "pending": _str(r["pending"]),
            "significant": bool(r["significant"]),
            "excess_p": _num(r["excess_p"]),
            "trend_mark": _str(r["trend_mark"]),
            "trend_z": _num(r["trend_z"]),
            "stability": _num(r["stability"]),
            "window_stable": bool(r["window_stable"]),
            "borderline": bool(r["borderline"]),
        }
        if v2:
            row["indicators"] = {k: _num(r[f"ratio_{k}"]) for k in INDICATOR_KEYS}
            row["points"] = {k: _num(r[f"pt_{k}"]) for k in INDICATOR_KEYS}
        else:
            row["percentiles"] = {k: _num(r[f"p_{k}"]) for k in store.RAW_COLUMNS}
        out.append(row)
    return out


def _months_to_score(session, period: Month, rerun: bool, since: Month | None) -> list[Month]:
    """With ``rerun``: every stored month from ``since`` (default: the oldest) up to
    ``period``, oldest first, then ``period`` (persistence carries month to month)."""
    if not rerun:
        return [period]
    months = [m for m in store.stored_periods(session) if m <= period]
    if since is not None:
        months = [m for m in months if m >= since]
    if period not in months:
        months.append(period)
    return sorted(months)


def _imports_since(session: Session, wr: WarningRun) -> int:
    """Imports (bundles, uploads, feeds) that loaded data after the run was stored."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ImportLog)
            .where(
                ImportLog.finished_at > wr.created_at,
                ImportLog.status.in_([ImportStatus.OK, ImportStatus.PARTIAL]),
            )
        )
        or 0
    )


def _stored_note(session: Session, wr: WarningRun, period: Month) -> str:
    """What to say when a month's stored run is returned instead of a new one."""
    newer = _imports_since(session, wr)
    if newer:
        return (
            f"{period} was already scored (run {wr.id}, {wr.created_at:%Y-%m-%d %H:%M}); "
            f"{plural(newer, 'import')} loaded data since: use --rerun to re-score with it"
        )
    return f"{period} was already scored (run {wr.id}): use --rerun to re-score"


def _score(args) -> int:
    period = Month.parse(args.period) if args.period else last_complete_month()
    since = Month.parse(args.since) if args.since else None
    config = cfg.load_config(args.config) if args.config else cfg.load_config()
    engine = db.make_engine()
    with Session(engine) as session:
        before = store.latest_run(session, period)
        months = _months_to_score(session, period, args.rerun, since)
        for m in months:
            wr = store.run(session, m, config, actor=args.actor, rerun=args.rerun)
            session.commit()
            if args.rerun and len(months) > 1 and not args.json:
                print(f"warning {m}: re-scored as run {wr.id} version {wr.version}")
        df = store.results(session, period)
        already = before is not None and not args.rerun
        note = _stored_note(session, wr, period) if already else None
        if args.json:
            if note:
                print(f"note: {note}", file=sys.stderr)
            json.dump(
                {
                    "period": str(period),
                    "run_id": wr.id,
                    "version": wr.version,
                    "model_version": wr.model_version,
                    "config_hash": wr.config_hash,
                    "already_stored": already,
                    "newer_data": bool(already and _imports_since(session, wr)),
                    "note": note,
                    "communities": community_json(df),
                },
                sys.stdout,
                ensure_ascii=False,
                indent=1,
            )
            print()
            return 0
        state = "already stored" if already else "stored"
        print(
            f"warning {period}: run {wr.id} version {wr.version} (model {wr.model_version}), "
            f"{state}; {plural(len(df), 'community', 'communities')}"
        )
        if note:
            print(f"  note: {note}")
        if df.empty:
            return 0
        counts = df["level"].value_counts()
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
            pend = f" ({r.pending})" if isinstance(r.pending, str) else ""
            print(
                f"  {r.score:5.1f} {WarningLevel(r.level).value:6s}{marks} {r.community_id:10s}"
                f" {r.name}{pend}"
            )
        print("  (* significant excess over the district rate, ~ borderline or pending)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("score", help="score every community for a month and store the warning run")
    p.add_argument(
        "--period", metavar="YYYY-MM", help="assessment month (default: last complete month)"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--rerun",
        action="store_true",
        help="re-score history with the current model: a new version of every stored month up "
        "to --period (from --since), oldest first",
    )
    p.add_argument("--since", metavar="YYYY-MM", help="with --rerun: first month to re-score")
    p.add_argument(
        "--config", metavar="TOML", help="scoring configuration (default: fangcang/scoring.toml)"
    )
    p.add_argument("--actor", default="cli", help="recorded as the run's author (default: cli)")
    p.add_argument(
        "--top", type=int, default=20, help="red/yellow communities to list (default 20)"
    )
    p.set_defaults(func=_score)
