"""How long a sign-in waits while the demo's extensions fill in (SQLite, full demo copy).

On first start the dashboard is usable once the base records and the accounts are in; the
other demo extensions (warning runs, tasks, focused work and bulletins, visits, alcohol) then
run in a low-priority child process (``fangcang.demo.background``). This script copies a
database in that state (a full demo built up to and including ``fangcang.auth:demo_extend``,
meta ``demo_build`` = ``filling``), runs ``fangcang.demo.builder.finish_extensions`` on the copy
in a child process at the background build's priority (``background.NICE``) and meanwhile
signs ``admin`` in every ``--every`` seconds from this process through the app's own path
(``db.run_write`` with ``auth.authenticate`` + ``sessions.start``, as ``ui/login.py``; see
``bench_signin.py``). Each sign-in is attributed to the extension running when it started.

Reported per extension: its wall and CPU seconds (user + system of the child), the sign-ins
during it, their time less argon2 (median, p95, max; how many over 1 s) and the failures
("busy, retry" after ``FANGCANG_WRITE_WAIT_SECONDS``, or "database is locked"); the idle
sign-in time and the machine's load (``uptime``) before and after.

    nice -n 5 python bench/bench_fill_signin.py --db /path/to/base.db [--only scoring tasks]
        [--tmp /work/somewhere] [--json out.json]

``--only`` runs just the named extensions (by package: scoring, tasks, effect, visits,
alcohol) in their usual order; the others are left to do. The copy is deleted at the end.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_signin import _sign_in, _timed_verify, load


def _short(entry: str) -> str:
    """``fangcang.scoring:demo_extend`` -> ``scoring``; ``fangcang.visits:demo_prepare`` ->
    ``visits.prepare``."""
    module, _, func = entry.partition(":")
    name = module.rsplit(".", 1)[-1]
    return name if func in ("", "demo_extend") else f"{name}.{func.removeprefix('demo_')}"


def _uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return load()


def _fill(path: str, only: list[str] | None, events) -> None:
    """The child: the background build's priority, then ``finish_extensions`` on the copy;
    ``("start" | "end", entry, epoch seconds, CPU seconds)`` for each extension."""
    import fangcang.demo as demo
    from fangcang import db
    from fangcang.demo import background, builder

    os.nice(background.NICE)
    if only:
        demo.EXTENSIONS[:] = [
            e
            for e in demo.EXTENSIONS
            if e == builder.ACCOUNTS_EXTENSION or _short(e).split(".")[0] in only
        ]
    entries = set(demo.EXTENSIONS)
    current: list[str] = []

    def cpu() -> float:
        t = os.times()
        return t.user + t.system

    def progress(fraction: float, message: str) -> None:
        if message in entries and message not in current:  # run_extensions announces each
            if current:
                events.put(("end", current[-1], time.time(), cpu()))
            current.append(message)
            events.put(("start", message, time.time(), cpu()))

    engine = db.make_engine(f"sqlite:///{path}")
    try:
        builder.finish_extensions(engine, progress=progress)
        if current:
            events.put(("end", current[-1], time.time(), cpu()))
        events.put(("done", "", time.time(), cpu()))
    except BaseException as exc:
        events.put(("failed", f"{type(exc).__name__}: {exc}"[:300], time.time(), cpu()))
        raise
    finally:
        engine.dispose()


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    a = np.array(values)
    return {
        "n": len(values),
        "median_s": round(float(np.median(a)), 3),
        "p95_s": round(float(np.percentile(a, 95)), 3),
        "max_s": round(float(a.max()), 3),
        "over_1s": int((a > 1).sum()),
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, required=True, help="a demo stopped after the accounts")
    p.add_argument("--only", nargs="*", help="extensions to run (scoring tasks effect ...)")
    p.add_argument("--every", type=float, default=0.5)
    p.add_argument("--tmp", type=Path, default=None, help="folder for the database copy")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args()
    from sqlalchemy.orm import Session

    from fangcang import db
    from fangcang.demo import builder

    with tempfile.TemporaryDirectory(prefix="fangcang-fill-", dir=args.tmp) as tmp:
        path = Path(tmp) / "fill.db"
        shutil.copyfile(args.db, path)
        engine = db.make_engine(f"sqlite:///{path}")
        with Session(engine) as s:
            state = db.get_meta(s, builder.BUILD_META)
            done = (db.get_meta(s, builder.DONE_META) or "").split()
        if state != "filling" or builder.ACCOUNTS_EXTENSION not in done:
            print(f"{args.db}: not a demo waiting for its extensions (demo_build={state!r})")
            return 2
        _timed_verify()
        idle = [_sign_in(engine) for _ in range(3)]
        before = _uptime()
        print(f"extensions start ({before})", flush=True)
        ctx = mp.get_context("spawn")
        events: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_fill, args=(str(path), args.only, events))
        t_start = time.time()
        proc.start()
        log: list[tuple] = []
        signins: list[tuple[float, float, str]] = []  # (started, time less argon2, failure)
        while proc.is_alive():
            while not events.empty():
                log.append(events.get())
            t0 = time.time()
            try:
                signins.append((t0, _sign_in(engine), ""))
            except Exception as exc:  # busy after run_write's budget, or locked
                signins.append((t0, time.time() - t0, f"{type(exc).__name__}: {exc}"[:200]))
            time.sleep(max(args.every - (time.time() - t0), 0.05))
        proc.join()
        while not events.empty():
            log.append(events.get())
        wall = time.time() - t_start
        engine.dispose()
    after = _uptime()
    spans: dict[str, dict] = {}
    for kind, entry, at, cpu in log:
        if kind in ("start", "end"):
            spans.setdefault(_short(entry), {})[kind] = (at, cpu)
    failed = [e for e in log if e[0] == "failed"]
    out = {
        "db": str(args.db),
        "uptime_before": before,
        "uptime_after": after,
        "idle_signin_s": [round(x, 3) for x in idle],
        "wall_s": round(wall, 1),
        "child_failed": failed[0][1] if failed else "",
        "extensions": {},
    }
    print(
        f"{'extension':10} {'wall s':>7} {'CPU s':>7} {'n':>4} {'median':>7} {'p95':>6} "
        f"{'max':>6} {'>1s':>4} {'failed':>6}"
    )
    for name, span in spans.items():
        if "start" not in span or "end" not in span:
            continue
        (a, ca), (b, cb) = span["start"], span["end"]
        during = [x for x in signins if a <= x[0] < b]
        st = _stats([x[1] for x in during])
        row = {
            "wall_s": round(b - a, 1),
            "cpu_s": round(cb - ca, 1),
            "signins": st,
            "failed": sum(1 for x in during if x[2]),
            "failures": sorted({x[2] for x in during if x[2]})[:3],
            # When the slow ones started (seconds into the extension) and how long they took.
            "over_0_5s": [[round(x[0] - a, 1), round(x[1], 2)] for x in during if x[1] > 0.5],
        }
        out["extensions"][name] = row
        print(
            f"{name:10} {row['wall_s']:7.1f} {row['cpu_s']:7.1f} {st['n']:4d} "
            f"{st.get('median_s', 0):7.3f} {st.get('p95_s', 0):6.2f} {st.get('max_s', 0):6.2f} "
            f"{st.get('over_1s', 0):4d} {row['failed']:6d}"
        )
    out["all"] = _stats([x[1] for x in signins])
    out["all"]["failed"] = sum(1 for x in signins if x[2])
    print(f"all sign-ins: {out['all']}; idle {min(idle):.3f}-{max(idle):.3f} s")
    print(f"before: {before}\nafter:  {after}")
    if failed:
        print("the extensions FAILED:", failed[0][1])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
