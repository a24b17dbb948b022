"""Audit and sign-in costs: append rate, chain verification time, argon2 hash/verify time.

Run: ``.venv/bin/python bench/bench_audit.py [N]`` (default 20,000 entries, SQLite temp file;
``--db URL`` for another database). Prints medians of a few runs where cheap.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session  # noqa: E402

from fangcang import audit, auth, db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--db")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = db.make_engine(url)
    db.upgrade(engine)

    t0 = time.perf_counter()
    with Session(engine) as s:
        for i in range(args.n):
            audit.log(
                s, actor="bench", action="person.view", target=f"person:{i}", detail={"rows": i}
            )
            if i % 1000 == 999:
                s.commit()
        s.commit()
    append = time.perf_counter() - t0

    t0 = time.perf_counter()
    with Session(engine) as s:
        for _ in range(50):
            audit.log(s, actor="bench", action="person.view", target="one")
            s.commit()
    single = (time.perf_counter() - t0) / 50

    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        with Session(engine) as s:
            result = audit.verify(s)
        runs.append(time.perf_counter() - t0)
    assert result.ok

    hashes, verifies = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        h = auth.hash_password("bench-pass-1")
        hashes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        auth.verify_password(h, "bench-pass-1")
        verifies.append(time.perf_counter() - t0)

    print(f"database: {engine.dialect.name}")
    print(
        f"append {args.n:,} entries (commit every 1,000): {append:.2f} s ({args.n / append:,.0f}/s)"
    )
    print(f"append one entry in its own transaction: {single * 1000:.1f} ms")
    print(f"verify {result.checked:,} entries: {statistics.median(runs):.2f} s (median of 3)")
    print(
        f"argon2id hash: {statistics.median(hashes) * 1000:.0f} ms, "
        f"verify: {statistics.median(verifies) * 1000:.0f} ms (median of 5)"
    )


if __name__ == "__main__":
    main()
