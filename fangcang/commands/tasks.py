"""``tasks dispatch|export|import|rates``: the task loop from the command line.

python -m fangcang tasks dispatch --cycle weekly [--on 2026-11-18]
python -m fangcang tasks export --out open_items.csv
python -m fangcang tasks import feedback.csv
python -m fangcang tasks rates --period 2026-11 --by station
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.access import Role, Scope, Viewer
from fangcang.cli import CommandError, cli_actor
from fangcang.models.tasks import Cycle
from fangcang.timeutil import Month


def _session() -> Session:
    engine = db.make_engine()
    db.upgrade(engine)
    return Session(engine, expire_on_commit=False)


def _cli_viewer() -> Viewer:
    # The command line runs with the machine's rights: a district-wide dispatcher.
    return Viewer(username=cli_actor(), role=Role.DISPATCHER, scope=Scope.district())


def _dispatch(args) -> int:
    from fangcang.tasks import dispatch_cycle

    try:
        on = date.fromisoformat(args.on) if args.on else None
    except ValueError:
        raise CommandError(f"--on {args.on!r} is not a date (YYYY-MM-DD)") from None
    t0 = time.perf_counter()
    with _session() as s:
        res = dispatch_cycle(s, args.cycle, _cli_viewer(), on=on)
        s.commit()
    print(
        f"cycle {', '.join(sorted(res.cycle_keys))}: {res.created} items created, "
        f"{res.existing} already there, {res.skipped_no_officer} communities without officer, "
        f"{res.templates} templates ({time.perf_counter() - t0:.2f} s)"
    )
    return 0


def _export(args) -> int:
    from fangcang.tasks import export_open_items, to_csv_bytes

    out = Path(args.out)
    with _session() as s:
        df = export_open_items(s, _cli_viewer())
        s.commit()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_csv_bytes(df))
    print(f"{len(df)} open items written to {out}")
    return 0


def _import(args) -> int:
    from fangcang.tasks import import_feedback

    path = Path(args.file)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    with _session() as s:
        res = import_feedback(s, path, _cli_viewer())
        s.commit()
    print(f"{res.rows} feedback rows imported from {res.file}")
    return 0


def _rates(args) -> int:
    from fangcang.tasks import rates

    month = Month.parse(args.period)
    with _session() as s:
        df = rates(s, Scope.district(), month.start, month.end, by=args.by)
    if df.empty:
        print(f"no task items dispatched in {month}")
        return 0
    cols = [
        "key",
        "label",
        "items",
        "completed",
        "completion_rate",
        "on_time_rate",
        "qualified_rate",
        "overdue",
    ]
    print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


def register(sub) -> None:
    p = sub.add_parser("tasks", help="dispatch a cycle, exchange CSV with the mobile terminal")
    tsub = p.add_subparsers(dest="tasks_command", required=True)
    d = tsub.add_parser("dispatch", help="one-click dispatch of a cycle (idempotent)")
    d.add_argument(
        "--cycle", required=True, choices=[c.value for c in Cycle if c is not Cycle.AD_HOC]
    )
    d.add_argument("--on", help="a day inside the cycle (default today)")
    d.set_defaults(func=_dispatch)
    e = tsub.add_parser("export", help="export open items as CSV for the mobile terminal")
    e.add_argument("--out", required=True)
    e.set_defaults(func=_export)
    i = tsub.add_parser("import", help="import feedback CSV from the mobile terminal")
    i.add_argument("file")
    i.set_defaults(func=_import)
    r = tsub.add_parser("rates", help="completion, on-time and rating rates for a month")
    r.add_argument("--period", required=True, help="YYYY-MM")
    r.add_argument(
        "--by",
        default="station",
        choices=["officer", "community", "station", "sub_district", "branch", "template", "total"],
    )
    r.set_defaults(func=_rates)
