"""The dashboards' incident counts (``fangcang.incidents``, on the aggregate tables) side by side
with DuckDB scanning the raw incidents for the same answer.

Each case calls the real function the pages call (overview, trends, map, warning inputs,
effect) on a full demo database (``--db``, opened read only), and runs a DuckDB query over the
incidents exported once to Parquet (the export time is printed apart: it is not part of any
query). Answers are compared (``ok`` / ``DIFF``); times are cold (first call) and warm (best
and median of ``--runs``), in milliseconds, wall and CPU (``time.process_time``: DuckDB's own
threads included, so a query spread over both cores is not favoured on a shared machine), with
the machine's load before and after.

    python bench/bench_incidents.py --db /work/fulldemo2/fangcang.db

DuckDB is a bench-only dependency: ``bench/requirements-bench.txt``.
"""

# ruff: noqa: E402, S608
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session

from fangcang import db
from fangcang import incidents as inc
from fangcang.access import Scope
from fangcang.models import CRIME_CATEGORIES
from fangcang.scoring import inputs as scoring_inputs
from fangcang.scoring.config import load_config
from fangcang.timeutil import Month

CRIME = ", ".join(f"'{c.value}'" for c in CRIME_CATEGORIES)
METRIC_SQL = {  # the metrics of fangcang.incidents, on raw incidents
    "total": "count(*)",
    "crime": f"sum(CASE WHEN category IN ({CRIME}) THEN 1 ELSE 0 END)",
    "assault": "sum(CASE WHEN subtype = 'assault' THEN 1 ELSE 0 END)",
    "telecom_fraud": "sum(CASE WHEN subtype = 'telecom_fraud' THEN 1 ELSE 0 END)",
    "alcohol": "sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END)",
}
ALL = ", ".join(f"{v} AS {k}" for k, v in METRIC_SQL.items())


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _between(a: date, b: date) -> str:
    return f"occurred_at >= TIMESTAMP '{a}' AND occurred_at < TIMESTAMP '{b + timedelta(days=1)}'"


def cases(last: date):
    """The cases: what the pages ask, through ``fangcang.incidents`` and on raw incidents."""
    scope = Scope.district()
    keys = list(inc.METRICS)
    m_last = Month.of(last)
    d7, d28 = last - timedelta(days=6), last - timedelta(days=27)
    m24, m12 = m_last.shift(-23), m_last.shift(-11)

    def as_dict(frame):
        return {k: int(frame.iloc[0][k] or 0) for k in keys}

    def per_comm(frame):
        f = frame.set_index("community_id")[keys].fillna(0).astype("int64")
        return {c: tuple(r) for c, r in f.iterrows() if any(r)}

    ytd0, ly0 = date(last.year, 1, 1), date(last.year - 1, 1, 1)
    ly_last = inc.same_day_last_year(last)
    # warning inputs of the newest assessment month (scoring.inputs.read_inputs_for): all and
    # criminal + public-order incidents per community and month from the first month of the
    # window or of the trend window's year before, summed per window afterwards
    cfg = load_config()
    w = scoring_inputs.Windows.of(m_last, cfg.window_months)
    yb_first = scoring_inputs.Windows.of(m_last, cfg.trend_months).year_before[0]
    w_first = min(w.first, yb_first)
    n_w = (m_last.year - w_first.year) * 12 + m_last.month - w_first.month + 1
    two = ["total", "crime"]
    crime_sql = METRIC_SQL["crime"]
    warning_sql = (
        f"SELECT community_id, strftime(occurred_at, '%Y-%m') AS month, count(*) AS total, "
        f"{crime_sql} AS crime FROM inc "
        f"WHERE {_between(w_first.first_day, m_last.last_day)} GROUP BY 1, 2"
    )

    def rows(frame, lead, cols):
        return {
            tuple(r[c] for c in lead) if len(lead) > 1 else r[lead[0]]: tuple(
                int(r[k]) for k in cols
            )
            for _, r in frame.iterrows()
            if any(r[k] for k in cols)
        }

    # (label, fangcang call, its answer made comparable (not timed), DuckDB SQL, DuckDB answer)
    return [
        (
            "overview/periods: 7 days, district, 5 metrics",
            lambda s: inc.counts(s, scope, keys, d7, last),
            lambda got: got,
            f"SELECT {ALL} FROM inc WHERE {_between(d7, last)}",
            as_dict,
        ),
        (
            "periods/map: 28 days by community, 5 metrics",
            lambda s: inc.counts(s, scope, keys, d28, last, by_community=True),
            lambda got: {c: tuple(r) for c, r in got.iterrows() if any(r)},
            f"SELECT community_id, {ALL} FROM inc WHERE {_between(d28, last)} GROUP BY 1",
            per_comm,
        ),
        (
            "overview: year to date vs same days last year",
            lambda s: (
                inc.counts(s, scope, ["total"], ytd0, last)["total"],
                inc.counts(s, scope, ["total"], ly0, ly_last)["total"],
            ),
            lambda got: got,
            f"SELECT (SELECT count(*) FROM inc WHERE {_between(ytd0, last)}) a, "
            f"(SELECT count(*) FROM inc WHERE {_between(ly0, ly_last)}) b",
            lambda f: (int(f.iloc[0]["a"]), int(f.iloc[0]["b"])),
        ),
        (
            "trends/effect: 24 months x 5 metrics, district",
            lambda s: inc.by_month(s, scope, m24, m_last, keys),
            lambda got: rows(got, ["month"], keys),
            f"SELECT strftime(occurred_at, '%Y-%m') AS month, {ALL} FROM inc "
            f"WHERE {_between(m24.first_day, m_last.last_day)} GROUP BY 1",
            lambda f: rows(f, ["month"], keys),
        ),
        (
            "effect/warning: 24 months x community, 5 metrics",
            lambda s: inc.by_month(s, scope, m24, m_last, keys, by_community=True),
            lambda got: rows(got, ["community_id", "month"], keys),
            f"SELECT community_id, strftime(occurred_at, '%Y-%m') AS month, {ALL} FROM inc "
            f"WHERE {_between(m24.first_day, m_last.last_day)} GROUP BY 1, 2",
            lambda f: rows(f, ["community_id", "month"], keys),
        ),
        (
            f"warning inputs: {n_w} months x community, 2 metrics",
            lambda s: inc.by_month(s, scope, w_first, m_last, two, by_community=True),
            lambda got: rows(got, ["community_id", "month"], two),
            warning_sql,
            lambda f: rows(f, ["community_id", "month"], two),
        ),
        (
            "trends: 12 months x category x subtype",
            lambda s: inc.monthly_counts(s, scope, m12, m_last),
            lambda got: rows(got, ["month", "category", "subtype"], ["n"]),
            f"SELECT strftime(occurred_at, '%Y-%m') AS month, category, subtype, count(*) AS n "
            f"FROM inc WHERE {_between(m12.first_day, m_last.last_day)} GROUP BY 1, 2, 3",
            lambda f: rows(f, ["month", "category", "subtype"], ["n"]),
        ),
    ]


def _time(fn, runs: int):
    """(answer, cold wall, [warm wall], [warm CPU]) in seconds."""
    t0 = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t0
    walls, cpus = [], []
    for _ in range(max(runs - 1, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, cold, walls, cpus


def _ms(xs) -> str:
    """best/median in ms."""
    return f"{min(xs) * 1000:6.1f}/{statistics.median(xs) * 1000:6.1f}"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", type=Path, default=Path("/work/fulldemo2/fangcang.db"))
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    import duckdb

    engine = db.make_engine(f"sqlite:///file:{args.db}?mode=ro&uri=true")
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    with tempfile.TemporaryDirectory(prefix="fangcang-inc-") as tmp:
        t0 = time.perf_counter()
        frame = pd.read_sql(
            "SELECT community_id, occurred_at, category, subtype, alcohol_related FROM incidents",
            con,
            parse_dates=["occurred_at"],
        )
        frame["alcohol_related"] = frame["alcohol_related"].astype(bool)
        path = Path(tmp) / "incidents.parquet"
        frame.to_parquet(path)
        n = len(frame)
        del frame
        duck = duckdb.connect()
        duck.execute(f"CREATE VIEW inc AS SELECT * FROM read_parquet('{path}')")
        print(f"{n:,} incidents exported to Parquet in {time.perf_counter() - t0:.1f} s")
        with Session(engine) as s:
            last = inc.latest_data_day(s, Scope.district())
        threads = duck.execute("SELECT current_setting('threads')").fetchone()[0]
        print(f"latest data day {last}; DuckDB threads {threads}; {load()}")
        print(f"ms, warm runs: best/median of {args.runs - 1}; cold = first call\n")
        head = f"{'fangcang wall':>13} {'CPU':>13} {'cold':>6} | {'DuckDB wall':>13} {'CPU':>13}"
        print(f"{'query':<48} {head} {'cold':>6}  answer  x wall  x CPU")
        for label, call, norm_got, sql, norm in cases(last):
            with Session(engine) as s:
                got, c1, w1, p1 = _time(lambda s=s, call=call: call(s), args.runs)
            ref, c2, w2, p2 = _time(lambda sql=sql: duck.execute(sql).df(), args.runs)
            same = "ok" if norm_got(got) == norm(ref) else "DIFF"
            ratio = min(w1) / min(w2) if min(w2) else float("inf")
            cpu_ratio = min(p1) / min(p2) if min(p2) else float("inf")
            print(
                f"{label:<48} {_ms(w1)} {_ms(p1)} {c1 * 1000:6.1f} | {_ms(w2)} {_ms(p2)} "
                f"{c2 * 1000:6.1f}  {same:<6}  x{ratio:.2f}  x{cpu_ratio:.2f}",
                flush=True,
            )
    print(f"\nx = fangcang best / DuckDB best (<= 1: at least as fast); {load()}")


if __name__ == "__main__":
    main()
