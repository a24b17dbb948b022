"""The dashboards' incident queries side by side: on their aggregate table, on the day table
they read before, and with DuckDB scanning the raw incidents (exported once to Parquet).

Every query is run on each engine for the same answer (checked equal), cold (first run) and
warm (best of ``--runs``), on a full demo database (``--db``, read only; needs migration 0012).

    python bench/bench_aggq.py --db /work/wt/speed-full.db

DuckDB is only a comparison here (``pip install duckdb``; skipped when missing).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

# (label, SQL on the smallest aggregate, SQL on agg_incident_day, DuckDB SQL on raw incidents)
# Windows follow the demo's last 24 months; {a}..{b} are the first and last day, {m0} the
# first month of the year window, {ytd0} the first day of the year to date.
QUERIES = [
    (
        "trends: monthly x category x subtype (24 months)",
        "SELECT strftime('%Y-%m', month) m, category, subtype, sum(n), sum(n_alcohol) "
        "FROM agg_incident_month WHERE month >= '{a}' AND month <= '{b}' GROUP BY 1, 2, 3",
        "SELECT strftime('%Y-%m', day) m, category, subtype, sum(n), sum(n_alcohol) "
        "FROM agg_incident_day WHERE day >= '{a}' AND day <= '{b_last}' GROUP BY 1, 2, 3",
        "SELECT strftime(occurred_at, '%Y-%m') m, category, subtype, count(*), "
        "sum(CAST(alcohol_related AS INTEGER)) FROM inc "
        "WHERE occurred_at >= DATE '{a}' AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH "
        "GROUP BY 1, 2, 3",
    ),
    (
        "trends/map: community x category x subtype (12 months)",
        "SELECT community_id, category, subtype, sum(n) FROM agg_incident_month "
        "WHERE month >= '{m0}' AND month <= '{b}' GROUP BY 1, 2, 3",
        "SELECT community_id, category, subtype, sum(n) FROM agg_incident_day "
        "WHERE day >= '{m0}' AND day <= '{b_last}' GROUP BY 1, 2, 3",
        "SELECT community_id, category, subtype, count(*) FROM inc "
        "WHERE occurred_at >= DATE '{m0}' AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH "
        "GROUP BY 1, 2, 3",
    ),
    (
        "warning inputs: community total + crime (12 months)",
        "SELECT community_id, sum(n), sum(CASE WHEN category IN ('criminal', 'public_order') "
        "THEN n ELSE 0 END) FROM agg_incident_month WHERE month >= '{m0}' AND month <= '{b}' "
        "GROUP BY 1",
        "SELECT community_id, sum(n), sum(CASE WHEN category IN ('criminal', 'public_order') "
        "THEN n ELSE 0 END) FROM agg_incident_day WHERE day >= '{m0}' AND day <= '{b_last}' "
        "GROUP BY 1",
        "SELECT community_id, count(*), sum(CASE WHEN category IN ('criminal', 'public_order') "
        "THEN 1 ELSE 0 END) FROM inc WHERE occurred_at >= DATE '{m0}' "
        "AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH GROUP BY 1",
    ),
    (
        "effect: community x month total + crime (24 months)",
        "SELECT community_id, strftime('%Y-%m', month), sum(n), sum(CASE WHEN category IN "
        "('criminal', 'public_order') THEN n ELSE 0 END) FROM agg_incident_month "
        "WHERE month >= '{a}' AND month <= '{b}' GROUP BY 1, 2",
        "SELECT community_id, strftime('%Y-%m', day), sum(n), sum(CASE WHEN category IN "
        "('criminal', 'public_order') THEN n ELSE 0 END) FROM agg_incident_day "
        "WHERE day >= '{a}' AND day <= '{b_last}' GROUP BY 1, 2",
        "SELECT community_id, strftime(occurred_at, '%Y-%m'), count(*), sum(CASE WHEN category "
        "IN ('criminal', 'public_order') THEN 1 ELSE 0 END) FROM inc "
        "WHERE occurred_at >= DATE '{a}' AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH "
        "GROUP BY 1, 2",
    ),
    (
        "trends: day-of-week x hour (12 months)",
        "SELECT dow, hour, sum(n) FROM agg_incident_hour WHERE month >= '{m0}' "
        "AND month <= '{b}' GROUP BY 1, 2",
        None,
        "SELECT (isodow(occurred_at) - 1), hour(occurred_at), count(*) FROM inc "
        "WHERE occurred_at >= DATE '{m0}' AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH "
        "GROUP BY 1, 2",
    ),
    (
        "overview: incidents year to date",
        "SELECT (SELECT coalesce(sum(n), 0) FROM agg_incident_month WHERE month >= '{ytd0}' "
        "AND month < '{b}') + (SELECT coalesce(sum(n), 0) FROM agg_incident_day "
        "WHERE day >= '{b}' AND day <= '{b_last}')",
        "SELECT sum(n) FROM agg_incident_day WHERE day >= '{ytd0}' AND day <= '{b_last}'",
        "SELECT count(*) FROM inc WHERE occurred_at >= DATE '{ytd0}' "
        "AND occurred_at < DATE '{b}' + INTERVAL 1 MONTH",
    ),
]


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _norm(rows) -> list:
    out = []
    for r in rows:
        out.append(tuple(round(float(v), 4) if isinstance(v, int | float) else str(v) for v in r))
    return sorted(out)


def _time(run, runs: int):
    t0 = time.perf_counter()
    rows = run()
    cold = time.perf_counter() - t0
    warm = cold
    for _ in range(runs - 1):
        t0 = time.perf_counter()
        run()
        warm = min(warm, time.perf_counter() - t0)
    return rows, cold, warm


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, default=Path("/work/wt/speed-full.db"))
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    try:
        import duckdb
    except ImportError:
        duckdb = None
        print("duckdb not installed: its column is skipped")
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    last_day = pd.Timestamp(con.execute("SELECT max(day) FROM agg_incident_day").fetchone()[0])
    b = last_day.to_period("M").start_time
    fmt = {
        "a": (b - pd.DateOffset(months=23)).strftime("%Y-%m-%d"),
        "b": b.strftime("%Y-%m-%d"),
        "b_last": last_day.strftime("%Y-%m-%d"),
        "m0": (b - pd.DateOffset(months=11)).strftime("%Y-%m-%d"),
        "ytd0": pd.Timestamp(b.year, 1, 1).strftime("%Y-%m-%d"),
    }
    with tempfile.TemporaryDirectory(prefix="fangcang-aggq-") as tmp:
        duck = None
        if duckdb is not None:
            t0 = time.perf_counter()
            frame = pd.read_sql(
                "SELECT community_id, occurred_at, category, subtype, alcohol_related "
                "FROM incidents",
                con,
                parse_dates=["occurred_at"],
            )
            path = Path(tmp) / "incidents.parquet"
            frame.to_parquet(path)
            del frame
            duck = duckdb.connect()
            duck.execute(f"CREATE VIEW inc AS SELECT * FROM read_parquet('{path}')")  # noqa: S608
            print(f"incidents exported to Parquet in {time.perf_counter() - t0:.1f} s")
        print(f"{load()}; warm = best of {args.runs}; cold = first run\n")
        print(f"{'query':<55} {'aggregate':>17} {'day table':>17} {'DuckDB raw':>17}")
        for label, agg_sql, day_sql, duck_sql in QUERIES:
            cells = []
            answer = None
            for sql, kind in ((agg_sql, "sqlite"), (day_sql, "sqlite"), (duck_sql, "duck")):
                if sql is None or (kind == "duck" and duck is None):
                    cells.append(f"{'-':>17}")
                    continue
                q = sql.format(**fmt)
                conn = con if kind == "sqlite" else duck
                rows, cold, warm = _time(
                    lambda q=q, conn=conn: conn.execute(q).fetchall(), args.runs
                )
                got = _norm(rows)
                if answer is None:
                    answer = got
                same = "" if got == answer else " !="
                cells.append(f"{warm * 1000:7.1f} ({cold * 1000:6.1f}){same}")
            print(f"{label:<55} {' '.join(cells)}", flush=True)
        print("\nms warm (cold); '!=' marks an answer that differs from the aggregate's")
        print(load())


if __name__ == "__main__":
    sys.exit(main())
