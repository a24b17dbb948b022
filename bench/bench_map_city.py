"""The map page at city size: N small demo districts in one database, the map page cold and warm.

Usage::

    python bench/bench_map_city.py --build 10 --db sqlite:////tmp/city10.db   # ~25 s a district
    python bench/bench_map_city.py --db sqlite:////tmp/city10.db [--district 龙湾区] [--runs 3]

``--build N`` imports districts 0..N-1 of the synthetic city (``write_bundle(district=i)``, at
``--scale``, default ``small``: the same 120 community polygons per district as the full demo,
fewer records) through the ordinary importer and scores the last month. The map's default view
(no layers) reads community geometry and the month's warning results only, so its cost at a
given number of districts does not depend on the scale; layers (incidents, factors) do.

The measurement runs the map page through app.py in this process (AppTest, as a district
leader): ``cold`` = first run after every Streamlit cache is emptied (wall and CPU seconds),
``warm`` = median of ``--runs`` reruns; ``--district`` opens the page with that district chosen
(a URL parameter, as a link would). Also the map's HTML size and the 1-minute load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(url: str, n: int, scale: str) -> None:
    from fangcang import db
    from fangcang.demo.builder import write_bundle
    from fangcang.importer import import_bundle

    engine = db.make_engine(url)
    db.upgrade(engine)
    for i in range(n):
        t0 = time.perf_counter()
        folder = Path(tempfile.mkdtemp(prefix="fangcang-map-city-"))
        try:
            write_bundle(folder, scale=scale, seed=20261129 + i, district=i)
            result = import_bundle(engine, folder, actor="bench", channel="bench")
            if not result.ok or result.rejected:
                raise RuntimeError(f"district {i}: {(result.report or '')[:2000]}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"district {i}: {time.perf_counter() - t0:.1f} s", flush=True)
    engine.dispose()
    env = {**os.environ, "FANGCANG_DB_URL": url}
    subprocess.run([sys.executable, "-m", "fangcang", "score"], cwd=ROOT, env=env, check=True)


def measure(runs: int, district: str | None) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from fangcang.access import Role, Viewer

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.session_state["viewer"] = Viewer(username="bench", role=Role.LEADER)
    at.run()  # the landing page (shared imports)
    if district:
        at.query_params["district"] = district
    at.switch_page("pages/map.py")
    st.cache_data.clear()
    st.cache_resource.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    errors = [str(e.value)[:300] for e in at.exception]
    warm, warm_cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
    comps = at.get("component_instance")
    script = json.loads(comps[0].proto.json_args)["script"] if comps else ""
    return {
        "district": district,
        "title": at.title[0].value if len(at.title) else None,
        "cold_s": round(cold, 2),
        "cold_cpu_s": round(cold_cpu, 2),
        "warm_s": round(statistics.median(warm), 2),
        "warm_cpu_s": round(statistics.median(warm_cpu), 2),
        "map_script_kb": round(len(script.encode()) / 1024),
        "load_1min": round(os.getloadavg()[0], 1),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="database URL")
    p.add_argument("--build", type=int, default=0, help="first build N districts into --db")
    p.add_argument("--scale", default="small")
    p.add_argument("--district", help="open the map with this district chosen (name or code)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    os.environ["FANGCANG_DB_URL"] = args.db
    if args.build:
        build(args.db, args.build, args.scale)
    print(json.dumps(measure(args.runs, args.district), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
