"""``bulletin``: issue a warning bulletin for a month and write it as Word or printable HTML.

    python -m fangcang bulletin --period 2026-10 --out bulletin.docx
    python -m fangcang bulletin --period 2026-10 --out bulletin.html
    python -m fangcang bulletin --list [--search 沿江]

A period that already has a bulletin is exported again (same number) unless ``--new`` asks for
a new issue (which takes the next number).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from fangcang import bulletins, db
from fangcang.cli import CommandError, cli_actor
from fangcang.timeutil import Month


def _list(args) -> int:
    engine = db.make_engine()
    with Session(engine) as session:
        rows = bulletins.search_bulletins(session, args.search)
        if not rows:
            print("no bulletin" + (f" matches {args.search!r}" if args.search else " issued yet"))
            return 0
        for b in rows:
            named = "、".join(b.red + b.yellow) or "—"
            print(
                f"{b.label}  {b.period}  {b.issued_at:%Y-%m-%d}  {b.issued_by}  "
                f"red {len(b.red)} yellow {len(b.yellow)}: {named}"
            )
    return 0


def _run(args) -> int:
    if args.list:
        return _list(args)
    if not args.period or not args.out:
        raise CommandError("give --period YYYY-MM and --out FILE (.docx or .html), or --list")
    period = Month.parse(args.period)
    out = Path(args.out)
    if out.suffix.lower() not in (".docx", ".html", ".htm"):
        raise CommandError(f"--out must end in .docx or .html, got {out.name!r}")
    actor = cli_actor(args.actor)
    engine = db.make_engine()
    with Session(engine, expire_on_commit=False) as session:
        existing = bulletins.bulletins_for_period(session, period)
        if existing and not args.new:
            b = existing[-1]
            state = "already issued (use --new for a new issue)"
        else:
            b = bulletins.issue_bulletin(session, period, actor)
            state = "issued"
        bulletins.write(b, out)
        bulletins.record_export(session, b, out.suffix.lower().lstrip("."), actor)
        session.commit()
        label = bulletins.bulletin_label(b.year, b.number)
        red = [c.community_name for c in b.communities if c.level == "red"]
        yellow = [c.community_name for c in b.communities if c.level == "yellow"]
        print(f"{label} for {period}: {state}; red {len(red)}, yellow {len(yellow)}")
        print(f"written {out} ({out.stat().st_size:,} bytes)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("bulletin", help="issue a warning bulletin and export it (.docx/.html)")
    p.add_argument("--period", metavar="YYYY-MM", help="the month of the warning run")
    p.add_argument("--out", metavar="FILE", help="output file: .docx or .html")
    p.add_argument("--new", action="store_true", help="issue again even if the month has one")
    p.add_argument("--actor", help="who issues it (default: cli:<user>)")
    p.add_argument("--list", action="store_true", help="list issued bulletins")
    p.add_argument("--search", help="with --list: number, period or community name")
    p.set_defaults(func=_run)
