"""``demo``: build the Lucheng demo district (generate a bundle, import it, run extensions)."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.cli import CommandError, progress_bar
from fangcang.i18n import plural
from fangcang.timeutil import Month, last_complete_month


def _existing_communities(engine) -> int:
    if not inspect(engine).has_table("communities"):
        return 0
    from fangcang.models import Community

    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Community)) or 0)


def _run(args) -> int:
    from fangcang import demo

    until = Month.parse(args.until) if args.until else last_complete_month()
    started = time.perf_counter()
    if args.bundle_only:
        if not args.out:
            raise CommandError("--bundle-only needs --out BUNDLE_DIR")
        with progress_bar() as progress:
            result = demo.write_bundle(
                Path(args.out), scale=args.scale, seed=args.seed, until=until, progress=progress
            )
        print(f"bundle written to {args.out}: {result['records']:,} records (until {until})")
        for name, rows in result["files"].items():
            print(f"  {name:22s} {rows:>10,}")
        return 0

    engine = db.make_engine()
    existing = _existing_communities(engine)
    if existing and not args.force:
        raise CommandError(
            f"the database already holds {plural(existing, 'community', 'communities')}; the demo "
            "needs an empty "
            "database (choose another with --db, delete the SQLite file, or pass --force to "
            "import the demo over it)"
        )
    try:
        with progress_bar() as progress:
            result = demo.build(
                engine,
                scale=args.scale,
                seed=args.seed,
                until=until,
                progress=progress,
                out=Path(args.out) if args.out else None,
            )
    except RuntimeError as exc:
        raise CommandError(str(exc)) from exc
    wall = time.perf_counter() - started
    # This process alone (getrusage), and with its child processes (the import's worker, the
    # demo's side extension), sampled by the build (``fangcang.demo.peak``).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    phases = result.get("peak_rss_mb", {})
    peak_all = max([peak_mb, *phases.values()])
    bundle = result["bundle"]
    print(f"demo district built: {bundle['records']:,} records, data until {until}")
    for name, rows in bundle["files"].items():
        print(f"  {name:22s} {rows:>10,}")
    for entry, counts in result["extensions"].items():
        shown = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items()
        )
        print(f"  extension {entry}: {shown or 'done'}")
    seconds = ", ".join(f"{k} {v:.1f}s" for k, v in result["seconds"].items())
    print(
        f"time: {wall:.1f}s ({seconds}); peak memory {peak_all:,.0f} MB with child processes "
        f"({peak_mb:,.0f} MB this process)"
    )
    if phases:
        print("peak memory per phase: " + ", ".join(f"{k} {v:,} MB" for k, v in phases.items()))
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        print(f"database: {path} ({size / 2**20:,.0f} MB)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "wall_seconds": round(wall, 2),
                    "peak_mb": round(peak_mb),
                    "peak_with_children_mb": round(peak_all),
                    "peak_rss_mb": result.get("peak_rss_mb", {}),
                    "bundle": bundle,
                    "seconds": result["seconds"],
                    "import_timings": getattr(result["import"], "timings", {}),
                    "extension_seconds": result.get("extension_seconds", {}),
                    "extensions": result["extensions"],
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build the Lucheng demo district (generate a bundle and import it)",
        description="Generate the synthetic Lucheng district as an import bundle, load it "
        "through the importer and run the registered demo extensions.",
    )
    p.add_argument(
        "--scale",
        choices=["small", "medium", "full"],
        default="full",
        help="small: a few thousand records; medium: a tenth; full: about 3.8 million",
    )
    p.add_argument("--seed", type=int, default=20261129, help="random seed (same seed, same data)")
    p.add_argument(
        "--until", metavar="YYYY-MM", help="last month of data (default: the last complete month)"
    )
    p.add_argument("--out", metavar="BUNDLE_DIR", help="keep the generated bundle in this folder")
    p.add_argument(
        "--bundle-only",
        action="store_true",
        help="only write the bundle to --out; do not touch the database",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="import even when the database already holds communities",
    )
    p.add_argument("--json", metavar="FILE", help="also write timings and counts to FILE")
    p.set_defaults(func=_run)
