"""``watch [--once] [--interval S]``: import bundles dropped in the department inboxes."""

from __future__ import annotations

from pathlib import Path

from fangcang import db, feeds


def _watch(args) -> int:
    engine = db.make_engine()
    db.upgrade(engine)
    root = Path(args.inbox) if args.inbox else None
    if not args.once:
        print(f"watching {root or 'the configured inbox'} every {args.interval:g} s (Ctrl-C stops)")
    n = feeds.watch(
        engine,
        root,
        interval=args.interval,
        once=args.once,
        settle_seconds=args.settle,
        log=print,
    )
    if args.once:
        print(f"{n} bundle(s) processed")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "watch",
        help="import bundles dropped in <inbox>/<department>/ (moved to done/ or failed/)",
    )
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument(
        "--interval",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds between polls (default 30)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=feeds.DEFAULT_SETTLE_SECONDS,
        metavar="S",
        help="a bundle must be unchanged this long before it is imported "
        f"(default {feeds.DEFAULT_SETTLE_SECONDS:g})",
    )
    p.add_argument(
        "--inbox", metavar="DIR", help="inbox root (default: $FANGCANG_INBOX_DIR or data/inbox)"
    )
    p.set_defaults(func=_watch)
