"""Page timings (cold and warm) and map HTML size at full demo size.

Usage::

    python -m fangcang --db sqlite:///data/full.db demo --scale full   # once
    python bench/bench_pages.py --db sqlite:///data/full.db [--pages overview,map] [--runs 3]

Each page runs in its own fresh process through ``app.py`` (AppTest, as a district leader),
in the order a real server sees it, each step timed apart (wall seconds; CPU seconds of the
whole process, ``time.process_time``, where the machine is shared):

1. *start* (a fresh server process, reported apart, not part of any page time):
   ``import_s`` imports of Streamlit, AppTest and fangcang's access module; ``signin_s`` the
   first run of app.py (the sign-in page). (``warm_up_s`` / ``warm_wait_s``: a background
   import of the pages' modules at start, if ``ui.state`` has one: ``WARMED``. Tried and
   removed: it left the sign-in cookie unset under serve.py; the columns stay empty.)
2. ``landing_s``: the first run signed in (the landing page, as after a sign-in): it imports
   the modules the pages share (pandas, plotly, scipy, geopandas, fangcang's views ...).
3. *cold* (``cold_s``, ``cold_cpu_s``): the page's first run with every Streamlit cache
   emptied (``st.cache_data`` and ``st.cache_resource``: as after a new data version or a
   restart): the sidebar's periods and filters, every data call, the charts and tables, and
   the imports of modules only this page needs (those the landing page imported are not
   counted again).
4. *warm* (``warm_s``): median of ``--runs`` reruns (same session, caches filled).

``--repeat N`` runs each page in N fresh processes (interleaved: overview, trends, overview,
...) and ends with the median and minimum of its cold CPU and wall seconds and the load
averages seen: on a shared machine one run says little.

The fangcang calls behind the map are timed directly and the map's HTML is measured
(standalone HTML and what st_folium sends to the browser). Targets: overview and trends cold
<= 0.5 s (issue 16), warm <= 1 s, map HTML < 3 MB.
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
    """Run in a child process: start, cold and warm timings of one page (module docstring)."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from fangcang import db
    from fangcang.access import Role, Viewer

    import_s = time.perf_counter() - t0

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
    t0 = time.perf_counter()
    at.run()  # the sign-in page of a fresh process
    signin = time.perf_counter() - t0
    from ui import state

    t0 = time.perf_counter()
    warmed = getattr(state, "WARMED", None)  # (absent before the warm-up existed)
    if warmed is not None:
        warmed.wait(600)
    warm_wait = time.perf_counter() - t0
    warm_up = getattr(state, "WARM_UP_SECONDS", {}).get("imports")
    at.session_state["viewer"] = Viewer(username="bench", role=Role.LEADER)
    t0 = time.perf_counter()
    at.run()  # signed in: the landing page
    landing = time.perf_counter() - t0
    errors = [str(e.value)[:200] for e in at.exception]
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    cold = time.perf_counter() - t0
    cold_cpu = time.process_time() - c0
    errors += [str(e.value)[:200] for e in at.exception]
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
        errors += [str(e.value)[:200] for e in at.exception]
    return {
        "page": page,
        "import_s": round(import_s, 3),
        "signin_s": round(signin, 3),
        "warm_up_s": warm_up,
        "warm_wait_s": round(warm_wait, 3),
        "landing_s": round(landing, 3),
        "cold_s": round(cold, 3),
        "cold_cpu_s": round(cold_cpu, 3),
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
    parser.add_argument(
        "--repeat", type=int, default=1, help="fresh processes per page (median and min reported)"
    )
    parser.add_argument("--no-map", action="store_true", help="skip the map figures")
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
    for page in args.pages.split(",") * max(1, args.repeat):
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
        r["load"] = os.getloadavg()[0]
        results.append(r)
        ok = "ok" if r["warm_s"] <= 1 and r["cold_s"] <= 3 and not r["errors"] else "SLOW/ERROR"
        print(
            f"{page:10s} start: imports {r['import_s']:5.2f} s, sign-in page {r['signin_s']:5.2f}"
            f" s, page imports {r['warm_up_s'] or 0:5.2f} s (waited {r['warm_wait_s']:5.2f} s);"
            f" landing {r['landing_s']:5.2f} s | cold {r['cold_s']:5.2f} s"
            f" (CPU {r['cold_cpu_s']:5.2f} s)  warm {r['warm_s']:5.2f} s  {ok} {r['errors'][:1]}"
            f"  | load {r['load']:.2f}",
            flush=True,
        )
    if args.repeat > 1:
        for page in args.pages.split(","):
            mine = [r for r in results if r["page"] == page]
            cpu = [r["cold_cpu_s"] for r in mine]
            wall = [r["cold_s"] for r in mine]
            warm = [r["warm_s"] for r in mine]
            loads = [r["load"] for r in mine]
            print(
                f"{page:10s} {len(mine)} runs: cold CPU median {statistics.median(cpu):.3f} s,"
                f" min {min(cpu):.3f} s, max {max(cpu):.3f} s; cold wall median"
                f" {statistics.median(wall):.2f} s, min {min(wall):.2f} s; warm median"
                f" {statistics.median(warm):.3f} s; load {min(loads):.1f}-{max(loads):.1f}",
                flush=True,
            )
    if args.no_map:
        return 0
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
