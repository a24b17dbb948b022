"""``audit verify|export|anchor``: check the keyed hash chain against its anchor outside the
database; export the log for an inspector; anchor the current head (adopting an existing
database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from fangcang import audit, db
from fangcang.cli import CommandError, cli_actor
from fangcang.i18n import plural


def _session() -> Session:
    engine = db.make_engine()
    db.upgrade(engine)
    return Session(engine, expire_on_commit=False)


def _verify(args) -> int:
    with _session() as s:
        result = audit.verify(s)
    if result.ok:
        print(
            f"audit chain OK: {plural(result.checked, 'entry', 'entries')} verified "
            f"({result.checked - result.legacy} keyed, {result.anchored} anchor lines matched)"
        )
        for note in result.notes:
            print(f"note: {note}")
        return 0
    print(
        f"audit chain BROKEN at entry #{result.first_broken_id}: {result.reason} "
        f"({plural(result.checked, 'entry', 'entries')} before it verified)"
    )
    return 1


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _export(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise CommandError(f"{out}: the file must end in .csv or .xlsx")
    from fangcang.privacy import export_bytes

    with _session() as s:
        df = audit.entries(
            s,
            actor=args.actor,
            action=args.action,
            since=_date(args.since),
            until=_date(args.until),
            limit=None,
        )
        df = df.sort_values("id")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(export_bytes(df, out.suffix.lower().lstrip(".")))
        actor = cli_actor()
        audit.log(
            s,
            actor=actor,
            action="audit.export",
            target=str(out.name),
            detail={
                "rows": len(df),
                "actor": args.actor,
                "action": args.action,
                "since": args.since,
                "until": args.until,
            },
        )
        s.commit()
    print(f"exported {plural(len(df), 'audit entry', 'audit entries')} to {out}")
    return 0


def _anchor(args) -> int:
    with _session() as s:
        head = audit.anchor_head(s)
        path = audit.anchor_path(s.get_bind())
    if head is None:
        print("the audit log is empty: nothing to anchor")
        return 0
    print(f"anchored entry #{head[0]} in {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("audit", help="verify or export the audit log")
    asub = p.add_subparsers(dest="audit_command", required=True)
    asub.add_parser(
        "verify", help="check the hash chain; exit 1 at the first broken link"
    ).set_defaults(func=_verify)
    asub.add_parser(
        "anchor", help="record the current head in the anchor file outside the database"
    ).set_defaults(func=_anchor)
    e = asub.add_parser("export", help="write the log (with hashes) to CSV or Excel")
    e.add_argument("--out", required=True, help="file ending in .csv or .xlsx")
    e.add_argument("--actor", help="only this username")
    e.add_argument("--action", help="an action, or a prefix ending in '.' (e.g. login.)")
    e.add_argument("--since", help="from this date (inclusive)")
    e.add_argument("--until", help="before this date")
    e.set_defaults(func=_export)
