"""``practice import FILE`` / ``practice files``: the alcohol and mediation practice files."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.access import Scope
from fangcang.cli import CommandError, cli_actor
from fangcang.i18n import plural
from fangcang.timeutil import now_local


def _session() -> Session:
    engine = db.make_engine()
    db.upgrade(engine)
    return Session(engine, expire_on_commit=False)


def _import(args) -> int:
    from fangcang.alcohol import import_file

    with _session() as s:
        report = import_file(
            s, args.file, actor=cli_actor(), scope=Scope.district(), name=args.kind
        )
        s.commit()
    print(report.summary())
    if not report.ok:
        raise CommandError(
            f"{report.file}: {plural(len(report.errors), 'error')}, nothing imported"
        )
    return 0


def _files(args) -> int:
    from fangcang.alcohol import sync_files

    with _session() as s:
        n = sync_files(s, now_local(), actor=cli_actor())
        s.commit()
    print(f"{n} new repeat-person files")
    return 0


def register(sub) -> None:
    p = sub.add_parser("practice", help="alcohol incidents and mediation: import files, open files")
    psub = p.add_subparsers(dest="practice_command", required=True)
    i = psub.add_parser(
        "import",
        help="import one practice file (incident_people, patrol_points, patrol_plans, "
        "patrol_checkins, alcohol_measures, mediation_referrals, mediation_sessions, "
        "mediation_consultations); all or nothing",
    )
    i.add_argument("file")
    i.add_argument("--kind", help="the file's kind when its name does not say it")
    i.set_defaults(func=_import)
    f = psub.add_parser(
        "files", help="open repeat-person files (2+ alcohol incidents in 12 months)"
    )
    f.set_defaults(func=_files)
