"""``visits reconcile`` / ``visits import FILE``: household visits (云入户) from the command line."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.access import Scope
from fangcang.cli import CommandError, cli_actor
from fangcang.i18n import plural


def _session() -> Session:
    engine = db.make_engine()
    db.upgrade(engine)
    return Session(engine, expire_on_commit=False)


def _reconcile(args) -> int:
    from fangcang.visits import reconcile

    scope = Scope.of(args.community) if args.community else Scope.district()
    with _session() as s:
        result = reconcile(s, scope)
        s.commit()
    print(
        f"reconciled {result.visits:,} visits in {result.seconds:.1f} s: "
        f"{result.created:,} new discrepancies"
    )
    for t, n in Counter(result.by_type).most_common():
        print(f"  {t.value:<24} {n:>8,}")
    return 0


def _import(args) -> int:
    from fangcang.visits import import_visits

    with _session() as s:
        report = import_visits(s, args.file, actor=cli_actor(), scope=Scope.district())
        s.commit()
    print(report.summary())
    if not report.ok:
        raise CommandError(
            f"{report.file}: {plural(len(report.errors), 'error')}, nothing imported"
        )
    return 0


def register(sub) -> None:
    p = sub.add_parser("visits", help="household visits: reconcile, import visits.csv")
    vsub = p.add_subparsers(dest="visits_command", required=True)
    r = vsub.add_parser(
        "reconcile", help="compare the newest visit of every house with the registry"
    )
    r.add_argument(
        "--community", action="append", metavar="ID", help="only this community (repeatable)"
    )
    r.set_defaults(func=_reconcile)
    i = vsub.add_parser("import", help="import visits.csv / .xlsx (all or nothing)")
    i.add_argument("file")
    i.set_defaults(func=_import)
