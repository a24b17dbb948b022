"""``info``: what the database holds (records by kind and community, size, last import)."""

from __future__ import annotations

import unicodedata

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.cli import CommandError
from fangcang.i18n import plural, t


def _pad(text: str, width: int) -> str:
    """Left-justify counting CJK characters as two columns (how terminals draw them)."""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - shown, 0)


def _label(kind: str) -> str:
    return f"{t(f'record_kind.{kind}', 'en')} ({t(f'record_kind.{kind}', 'zh')})"


def _run(args) -> int:
    from fangcang import summary

    engine = db.make_engine()
    if db.current_revision(engine) is None:
        raise CommandError("the database has no schema yet: run `python -m fangcang db upgrade`")
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"size: {summary.database_size(engine) / 1e6:,.1f} MB")
    with Session(engine) as s:
        head = summary.headline(s)
        print(f"\nrecords: {head.records_total:,}")
        for kind, n in head.records.items():
            print(f"  {_pad(_label(kind), 28)} {n:>12,}")
        print(f"communities: {head.communities:,}   officers: {head.officers:,}")
        if head.as_of is not None:
            change = "" if head.change_pct is None else f" ({head.change_pct:+.1f}%)"
            print(
                f"incidents {head.this_year[0]}..{head.this_year[1]}: "
                f"{head.incidents_this_year:,}; same period last year: "
                f"{head.incidents_last_year:,}{change}"
            )
        if args.by_source:
            frame = summary.records_by_source(s)
            print("\nby source department:")
            for r in frame.itertuples():
                print(
                    f"  {r.kind:<10} {r.source or '(not given)':<20} {r.n:>10,}  {r.last_updated}"
                )
        frame = summary.records_by_community(s)
        if len(frame):
            shown = frame if args.by_community else frame.head(args.top)
            title = "all communities" if args.by_community else f"top {len(shown)} communities"
            print(f"\n{title} by records (of {len(frame)}):")
            kinds = list(summary.KINDS)
            print(
                f"  {'community':<24} {'sub-district':<12} "
                + " ".join(f"{k:>9}" for k in kinds)
                + f" {'total':>10}"
            )
            for r in shown.itertuples(index=False):
                name = f"{r.community_id} {r.name}"
                cells = " ".join(f"{getattr(r, k):>9,}" for k in kinds)
                print(f"  {_pad(name, 28)} {_pad(r.sub_district, 12)} {cells} {r.total:>10,}")
        last = summary.last_import(s)
    if last is None:
        print("\nlast import: none")
    else:
        print(
            f"\nlast import: #{last.id} {last.started_at:%Y-%m-%d %H:%M} by {last.actor} "
            f"({last.channel}): {last.status}, {plural(sum(last.counts.values()), 'row')} loaded, "
            f"{last.rejected:,} rejected"
            + (f", {last.duration_s:.1f} s" if last.duration_s is not None else "")
        )
        print(f"  bundle: {last.bundle}")
        if last.error_report:
            print(f"  error report: {last.error_report}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("info", help="records by kind and community, database size, last import")
    p.add_argument("--top", type=int, default=10, help="communities to list (default 10)")
    p.add_argument("--by-community", action="store_true", help="list every community")
    p.add_argument("--by-source", action="store_true", help="records by source department")
    p.set_defaults(func=_run)
