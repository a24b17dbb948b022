"""``import BUNDLE``: validate and import a bundle folder (see docs/data-contract.md)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from fangcang import db
from fangcang.cli import CommandError, cli_actor, progress_bar


def _run(args) -> int:
    from fangcang.importer import import_bundle
    from fangcang.models import ImportStatus

    folder = Path(args.bundle)
    if not folder.is_dir():
        raise CommandError(f"bundle folder not found: {folder}")
    ignore: dict[str, list[str]] = {}
    for spec in args.ignore_column or ():
        kind, sep, column = spec.partition(":")
        if not sep or not column.strip():
            raise CommandError(f"--ignore-column {spec!r}: write FILE:COLUMN, e.g. people:备用电话")
        ignore.setdefault(Path(kind.strip()).stem, []).append(column.strip())
    engine = db.make_engine()
    if db.current_revision(engine) is None:
        # An empty database: create the schema first (what `db upgrade` does), and say so.
        db.upgrade(engine)
        print(f"empty database: created the schema (revision {db.current_revision(engine)})")
    actor = cli_actor(args.actor)
    with nullcontext(None) if args.quiet else progress_bar(50) as progress:
        result = import_bundle(
            engine,
            folder,
            actor=actor,
            channel="cli",
            partial=args.partial,
            progress=progress,
            coord_system=args.coord_system,
            ignore_columns=ignore or None,
        )
    print(result.report)
    if result.status == ImportStatus.FAILED:
        return 1
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "import",
        help="import a bundle folder (communities.geojson, people.csv, incidents.csv ...)",
        description="Validate and import a bundle in one transaction: any error and nothing "
        "changes (unless --partial). Exit code 0 on success, 1 when the bundle is rejected.",
    )
    p.add_argument("bundle", metavar="BUNDLE", help="folder holding the bundle files")
    p.add_argument(
        "--partial",
        action="store_true",
        help="import the good rows; write rejected rows to the reports folder for correction",
    )
    p.add_argument(
        "--coord-system",
        choices=("wgs84", "gcj02", "bd09"),
        help="coordinate system of the files' lon/lat (default: bundle.toml, else wgs84); "
        "gcj02 = Amap/Tencent, bd09 = Baidu; converted to WGS84 on import",
    )
    p.add_argument(
        "--ignore-column",
        action="append",
        metavar="FILE:COLUMN",
        help="a column not wanted (never 'did you mean'); repeatable, e.g. people:备用电话",
    )
    p.add_argument("--actor", metavar="NAME", help="who imports (default: cli:<os user>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
