"""Page timings (cold and warm) and map HTML size at full demo size.

Usage::

    python -m fangcang --db sqlite:///data/full.db demo --scale full   # once
    python bench/bench_pages.py --db sqlite:///data/full.db [--pages overview,map] [--runs 3]

Each page runs in its own fresh process through ``app.py`` (AppTest, signed in as a district
leader): the first run is *cold* (empty caches, modules imported on first use), the next runs
are *warm* (same session, caches filled). The fangcang calls behind the map are timed directly
and the map's HTML is measured (standalone HTML and what st_folium sends to the browser).
Targets: warm <= 1 s, cold <= 3 s, map HTML < 3 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "map", "community", "trends", "warning", "present"]


def _one_page(page: str, runs: int) -> dict:
    """Run in a child process: cold and warm timings of one page."""
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from fangcang import db
    from fangcang.access import Role, Viewer

    params = {}
    if page == "community":
        from sqlalchemy import select

        from fangcang.models import Community

        engine = db.make_engine()
        with db.session_factory(engine)() as s:
            params["community"] = s.scalar(
                select(Community.community_id).order_by(Community.community_id).limit(1)
            )
        engine.dispose()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["viewer"] = Viewer(username="bench", role=Role.LEADER)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0  # fresh process: includes importing the page's modules
    errors = [str(e.value)[:200] for e in at.exception]
    import streamlit as st

    # cold: a running server whose caches are empty (a new data version, or just started
    # after the modules were imported by another page)
    st.cache_data.clear()
    st.cache_resource.clear()
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
        errors += [str(e.value)[:200] for e in at.exception]
    return {
        "page": page,
        "first_s": round(first, 3),
        "cold_s": round(cold, 3),
        "warm_s": round(statistics.median(warm), 3),
        "errors": errors,
    }


def _map_figures() -> dict:
    sys.path.insert(0, str(ROOT))
    from fangcang import db, maps
    from fangcang.access import Scope
    from fangcang.views.shared import default_period

    engine = db.make_engine()
    out = {}
    with db.session_factory(engine)() as s:
        period = default_period(s)
        for label, layers in (
            ("levels", ()),
            ("all layers (heat)", ("incidents", "factors", "stations")),
        ):
            t0 = time.perf_counter()
            data = maps.map_data(s, Scope.district(), period, layers=layers)
            t1 = time.perf_counter()
            view = maps.view_of(data)
            html = maps.map_html(view.map)
            t2 = time.perf_counter()
            out[label] = {
                "polygons": int(len(view.communities)),
                "incident_points": int(data.extra.get("incident_count", 0)),
                "data_s": round(t1 - t0, 3),
                "build_and_render_s": round(t2 - t1, 3),
                "html_bytes": len(html.encode("utf-8")),
            }
        t0 = time.perf_counter()
        data = maps.map_data(
            s, Scope.district(), period, layers=("incidents",), incident_mode="clusters"
        )
        html = maps.map_html(maps.view_of(data).map)
        out["incidents as clusters"] = {
            "incident_points": int(data.extra.get("incident_count", 0)),
            "seconds": round(time.perf_counter() - t0, 3),
            "html_bytes": len(html.encode("utf-8")),
        }
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: $FANGCANG_DB_URL)")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--runs", type=int, default=3, help="warm runs per page (median reported)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.db:
        os.environ["FANGCANG_DB_URL"] = args.db
    if args.child:
        print(
            json.dumps(
                _one_page(args.child, args.runs) if args.child != "__map__" else _map_figures()
            )
        )
        return 0
    results = []
    for page in args.pages.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", page, "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            cwd=ROOT,
        )
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not line:
            print(f"{page}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 1
        r = json.loads(line[-1])
        results.append(r)
        ok = "ok" if r["warm_s"] <= 1 and r["cold_s"] <= 3 and not r["errors"] else "SLOW/ERROR"
        print(
            f"{page:10s} first (fresh process) {r['first_s']:6.2f} s   cold {r['cold_s']:6.2f} s   warm {r['warm_s']:6.2f} s   {ok} {r['errors'][:1]}"
        )
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "__map__"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=ROOT,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if line:
        for label, fig in json.loads(line[-1]).items():
            print(
                f"map {label}: "
                + ", ".join(
                    f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in fig.items()
                )
            )
    else:
        print(proc.stderr[-2000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
