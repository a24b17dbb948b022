"""The server process while the demo fills in: the fill in a thread of it vs in a child process.

    python bench/bench_firststart.py --db sqlite:////path/to/COPY.db --mode child --seconds 120

The database must be a COPY of a complete demo (it is written to): the run marks it as
interrupted before the household-visits extension (meta ``demo_build`` = ``filling``, the
earlier extensions done) and starts ``builder.finish_extensions`` (visits, then alcohol: the
long pure-Python part of the demo build) either in a thread of this process (``--mode
thread``, as the first start did before the child process) or as the child process the server
now starts (``--mode child``, ``fangcang.demo.background.start``, niced); ``--mode idle`` runs
no fill (the baseline). Meanwhile this process acts as the server:

- a *ticker* thread wakes every 50 ms and records how late it woke (what a Streamlit timer,
  such as the progress page's one-second fragment, or the server's event loop suffers when
  another thread holds the GIL): median, 95th percentile and maximum lateness;
- every ``--every`` seconds the overview page runs through ``app.py`` (AppTest, as a district
  leader) with ``st.cache_data`` emptied (a cold page: every data call runs): wall seconds,
  and CPU seconds of the process (in ``thread`` mode they include the fill's thread).

At the end the fill is stopped (the child is terminated; in ``thread`` mode the process exits
with its thread). Report the machine's load (printed) with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The extensions the fill runs (the rest are marked done).
FILL = ("fangcang.visits:demo_extend", "fangcang.alcohol:demo_extend")


def _mark_interrupted(engine) -> None:
    from sqlalchemy.orm import Session

    from fangcang import db
    from fangcang.demo import EXTENSIONS, builder

    with Session(engine) as s:
        db.set_meta(s, builder.BUILD_META, "filling")
        db.set_meta(s, builder.DONE_META, "\n".join(e for e in EXTENSIONS if e not in FILL))
        s.commit()


def _ticker(stop: threading.Event, lateness: list[float], period: float = 0.05) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(period)
        lateness.append(time.perf_counter() - t - period)


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="URL of a COPY of a complete demo database")
    ap.add_argument("--mode", choices=["idle", "thread", "child"], required=True)
    ap.add_argument("--seconds", type=float, default=120.0, help="how long to measure")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between page runs")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    os.environ["FANGCANG_DB_URL"] = args.db

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import ui.firststart
    from fangcang import db
    from fangcang.access import Role, Viewer
    from fangcang.demo import background, builder

    # This process plays the server's pages only; the fill is started below, per mode.
    ui.firststart.ensure_database = lambda: None
    engine = db.make_engine(args.db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["viewer"] = Viewer(username="bench", role=Role.LEADER)
    at.switch_page("pages/overview.py")
    at.run()  # imports and a first run before the fill starts (not measured)
    _mark_interrupted(engine)
    child = None
    if args.mode == "thread":
        threading.Thread(
            target=builder.finish_extensions, args=(engine,), name="demo-build", daemon=True
        ).start()
    elif args.mode == "child":
        child = background.start(args.db, "finish", scale="full")
    stop, lateness = threading.Event(), []
    ticker = threading.Thread(target=_ticker, args=(stop, lateness), daemon=True)
    ticker.start()
    runs, loads = [], []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        next_at = time.perf_counter() + args.every
        st.cache_data.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        at.run()
        runs.append(
            {
                "at_s": round(wall - t0, 1),
                "wall_s": round(time.perf_counter() - wall, 2),
                "cpu_s": round(time.process_time() - cpu, 2),
                "ok": not at.exception,
                "load1": _load(),
            }
        )
        print(json.dumps(runs[-1]), flush=True)
        loads.append(_load())
        time.sleep(max(next_at - time.perf_counter(), 0))
    stop.set()
    ticker.join()
    late = sorted(lateness)
    out = {
        "mode": args.mode,
        "seconds": args.seconds,
        "page_runs": runs,
        "page_wall_median_s": round(statistics.median(r["wall_s"] for r in runs), 2),
        "page_wall_max_s": max(r["wall_s"] for r in runs),
        "ticker_late_ms": {
            "median": round(1000 * late[len(late) // 2], 1),
            "p95": round(1000 * late[int(len(late) * 0.95)], 1),
            "max": round(1000 * late[-1], 1),
            "samples": len(late),
        },
        "load1": {"min": min(loads), "max": max(loads)},
        "fill": background.status(args.db).__dict__ if child else None,
    }
    print(json.dumps({k: v for k, v in out.items() if k != "page_runs"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    if child is not None:
        child.terminate()
        child.wait(30)
    os._exit(0)  # a thread fill stops with the process (its transaction is rolled back)


if __name__ == "__main__":
    raise SystemExit(main())
