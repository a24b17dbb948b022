"""Run the scoring demo extension alone on a COPY of a database and report each phase.

    python bench/bench_scoring_demo.py --db sqlite:////path/to/copy.db

The database must be in the state the extension starts from (a demo built up to the accounts
extension: ``bench/bench_demo.py --accounts-only``, or a snapshot after it; an older one needs
``python -m fangcang db upgrade`` first, which also fills new aggregate tables). The extension
WRITES (2 million check events at full size, 24 warning runs, the back-test): never point it
at a database you want to keep. Prints wall and CPU seconds (user + system of this process)
per phase, the total, and the peak RSS; ``--json FILE`` also writes them.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session  # noqa: E402

import fangcang.scoring.demo as scoring_demo  # noqa: E402
from fangcang import db  # noqa: E402
from fangcang.demo import DemoContext  # noqa: E402
from fangcang.timeutil import Month  # noqa: E402

#: The phases timed: functions looked up in ``fangcang.scoring.demo`` at call time.
PHASES = ("_profile", "generate_check_history", "_truth", "read_inputs_for", "run", "backtest")


def _wrap(module, name: str, acc: dict) -> None:
    fn = getattr(module, name)

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            row = acc.setdefault(name, {"calls": 0, "cpu_s": 0.0, "wall_s": 0.0})
            row["calls"] += 1
            row["cpu_s"] += time.process_time() - cpu
            row["wall_s"] += time.perf_counter() - wall

    setattr(module, name, timed)


def _chunks(acc: dict) -> None:
    """Time each short write of the history (``checks.add_checks``) and the commit that ends
    it (the first step of ``let_writers_in``, taken here): together the time one chunk holds
    SQLite's write lock; and the pauses (commit, checkpoint, gap)."""
    from fangcang.demo import builder

    add, pause = scoring_demo.checks.add_checks, builder.let_writers_in

    def timed_add(*args, **kwargs):
        t0 = time.perf_counter()
        n = add(*args, **kwargs)
        acc["writes"].append((n, time.perf_counter() - t0))
        acc["written"] = True
        return n

    def timed_pause(session):
        t0 = time.perf_counter()
        session.commit()
        if acc.pop("written", False):  # the commit of a history chunk
            acc["commits"].append(time.perf_counter() - t0)
        pause(session)
        acc["pauses"].append(time.perf_counter() - t0)

    acc.update(writes=[], commits=[], pauses=[])
    scoring_demo.checks.add_checks, builder.let_writers_in = timed_add, timed_pause


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {}
    q = sorted(values)
    return {
        "p50": round(q[len(q) // 2], 3),
        "p95": round(q[min(len(q) - 1, int(len(q) * 0.95))], 3),
        "max": round(q[-1], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="URL of a database COPY (it is written to)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    acc: dict[str, dict] = {}
    for name in PHASES:
        _wrap(scoring_demo, name, acc)
    _wrap(scoring_demo.checks, "record_last_checks", acc)
    lock: dict[str, list] = {}
    _chunks(lock)
    engine = db.make_engine(args.db)
    with Session(engine) as s:
        until = Month.parse(db.get_meta(s, "demo_until"))
        scale = db.get_meta(s, "demo_scale") or "full"
        seed = int(db.get_meta(s, "demo_seed") or 20261129)
    ctx = DemoContext(engine, scale, seed, until, lambda f, m: None)
    cpu, wall = time.process_time(), time.perf_counter()
    counts = scoring_demo.demo_extend(ctx)
    out = {
        "scale": scale,
        "until": str(until),
        "counts": counts,
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "phases": {k: {n: round(v, 2) for n, v in row.items()} for k, row in acc.items()},
        "history_chunks": {
            "n": len(lock["writes"]),
            "rows": _quantiles([n for n, _ in lock["writes"]]),
            "write_s": _quantiles([t for _, t in lock["writes"]]),
            "commit_s": _quantiles(lock["commits"]),
        },
        "pauses": {"n": len(lock["pauses"]), "seconds": round(sum(lock["pauses"]), 2)},
    }
    print(f"scoring demo ({scale}, until {until}): {counts}")
    for name, row in out["phases"].items():
        print(
            f"  {name:24s} {row['calls']:3d} calls  cpu {row['cpu_s']:7.2f} s  wall {row['wall_s']:7.2f} s"
        )
    print(f"  history chunks: {out['history_chunks']}; pauses: {out['pauses']}")
    print(f"total: cpu {out['cpu_s']} s, wall {out['wall_s']} s, peak RSS {out['peak_rss_mb']} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
