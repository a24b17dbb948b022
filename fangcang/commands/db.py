"""``db upgrade`` / ``db current``: schema migrations; ``db rebuild-aggregates``."""

from __future__ import annotations

from fangcang import db


def _upgrade(args) -> int:
    engine = db.make_engine()
    before = db.current_revision(engine)
    db.upgrade(engine)
    after = db.current_revision(engine)
    print(f"schema: {before or 'empty'} -> {after}")
    return 0


def _current(args) -> int:
    engine = db.make_engine()
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"schema: {db.current_revision(engine) or 'empty'} (code head: {db.head_revision()})")
    return 0


def _rebuild_aggregates(args) -> int:
    """Recompute every agg_* table from the records (normally kept in step incrementally)."""
    from sqlalchemy.orm import Session

    from fangcang import aggregates, audit

    engine = db.make_engine()
    with Session(engine) as session:
        out = aggregates.rebuild(session)
        audit.log(session, actor="cli", action="aggregates.rebuild", target="agg_*", detail=out)
        db.bump_data_version(session)
        session.commit()
    rows = ", ".join(f"{k} {v:,}" for k, v in out.items() if k != "seconds")
    print(f"aggregates rebuilt in {out['seconds']:.1f} s: {rows}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("db", help="create or upgrade the schema")
    dsub = p.add_subparsers(dest="db_command", required=True)
    dsub.add_parser("upgrade", help="apply all migrations").set_defaults(func=_upgrade)
    dsub.add_parser("current", help="show the schema revision").set_defaults(func=_current)
    dsub.add_parser(
        "rebuild-aggregates", help="recompute the agg_* tables from the records (in full)"
    ).set_defaults(func=_rebuild_aggregates)
