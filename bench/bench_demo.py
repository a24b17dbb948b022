"""Time the demo district build: generating the bundle, importing it, the extensions.

    .venv/bin/python bench/bench_demo.py                        # generation only, full size
    .venv/bin/python bench/bench_demo.py --build --db sqlite:////tmp/demo.db [--scale full]
    .venv/bin/python bench/bench_demo.py --build --no-extensions ...

Prints seconds per step, peak memory (this process's max RSS, and per phase: ``peak_rss_mb``,
worker processes included), process CPU seconds (and its ended worker processes':
``children_cpu_seconds``), record counts, the database size and the story's figures
measured on the built database (last 12 months vs the 12 before; 沿江社区 six months after
focused work vs the six before). The target (issue 2): the full build, import and extensions
included, within 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from fangcang import db, demo  # noqa: E402
from fangcang.demo import builder  # noqa: E402
from fangcang.models import Base  # noqa: E402
from fangcang.timeutil import Month, last_complete_month  # noqa: E402

TABLES = ("people", "houses", "places", "objects", "events", "incidents", "communities")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's ended child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def story(engine, until: Month) -> dict:
    """The headline figures, measured on the database's incidents."""
    sql = text(
        "SELECT i.occurred_at, i.category, i.subtype, c.name AS community "
        "FROM incidents i JOIN communities c ON c.community_id = i.community_id"
    )
    with engine.connect() as conn:
        frame = pd.read_sql(sql, conn, parse_dates=["occurred_at"])
    month = frame["occurred_at"].dt.to_period("M")
    end = pd.Period(str(until), "M")
    last = month > end - 12
    crime = frame["category"].isin(["criminal", "public_order"])

    def yoy(mask) -> float:
        return round(float(100 * (mask[last].sum() / mask[~last].sum() - 1)), 1)

    yj = frame["community"].eq("沿江社区")
    after = month > end - 6
    before = (month > end - 12) & ~after

    def focus(mask) -> float:
        return round(float(100 * ((mask & after).sum() / (mask & before).sum() - 1)), 1)

    return {
        "incidents_last_12": int(last.sum()),
        "incidents_previous_12": int((~last).sum()),
        "yoy_total_pct": yoy(pd.Series(True, index=frame.index)),
        "yoy_crime_pct": yoy(crime),
        "yoy_assault_pct": yoy(frame["subtype"].eq("assault")),
        "yoy_telecom_fraud_pct": yoy(frame["subtype"].eq("telecom_fraud")),
        "yanjiang_total_pct": focus(yj),
        "yanjiang_crime_pct": focus(yj & crime),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=["small", "medium", "full"])
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--until", help="YYYY-MM (default: last complete month)")
    ap.add_argument("--build", action="store_true", help="build into --db (else generate only)")
    ap.add_argument("--db", help="database URL for --build (use an empty one)")
    ap.add_argument("--no-extensions", action="store_true", help="skip the registered extensions")
    ap.add_argument(
        "--accounts-only",
        action="store_true",
        help="run only the accounts extension (times generate + import + the final checkpoint)",
    )
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args(argv)
    until = Month.parse(args.until) if args.until else last_complete_month()
    out: dict = {"scale": args.scale, "seed": args.seed, "until": str(until)}
    t0 = time.perf_counter()
    if not args.build:
        with tempfile.TemporaryDirectory() as tmp:
            result = demo.write_bundle(tmp, scale=args.scale, seed=args.seed, until=until)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        out.update(
            generate_seconds=round(time.perf_counter() - t0, 2),
            steps=result["seconds"],
            records=result["records"],
            files=result["files"],
            bundle_mb=round(size / 2**20),
            peak_mb=round(peak_mb()),
        )
    else:
        if not args.db:
            ap.error("--build needs --db URL (an empty database)")
        if args.no_extensions:
            demo.EXTENSIONS[:] = []
        elif args.accounts_only:
            demo.EXTENSIONS[:] = [e for e in demo.EXTENSIONS if e == builder.ACCOUNTS_EXTENSION]
        engine = db.make_engine(args.db)
        result = demo.build(engine, scale=args.scale, seed=args.seed, until=until)
        out.update(
            wall_seconds=round(time.perf_counter() - t0, 2),
            seconds=result["seconds"],
            import_timings=getattr(result["import"], "timings", {}),
            extension_seconds=result.get("extension_seconds", {}),
            records=result["bundle"]["records"],
            peak_mb=round(peak_mb()),
            peak_rss_mb=result.get("peak_rss_mb", {}),
            cpu_seconds=round(time.process_time(), 2),
            # the first load's worker processes (ended and waited for by now)
            children_cpu_seconds=round(children_cpu(), 2),
            extensions=result["extensions"],
        )
        with engine.connect() as conn:
            out["tables"] = {
                t: conn.execute(
                    select(func.count()).select_from(Base.metadata.tables[t])
                ).scalar_one()
                for t in TABLES
            }
        url = engine.url
        if url.get_backend_name() == "sqlite":
            path = Path(url.database)
            out["db_mb"] = round(
                sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
            )
        out["story"] = story(engine, until)
    text_out = json.dumps(out, ensure_ascii=False, indent=2, default=str)
    print(text_out)
    if args.json:
        Path(args.json).write_text(text_out, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
