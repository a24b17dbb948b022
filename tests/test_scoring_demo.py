"""The scoring demo's check history: the set-wise generator stores exactly the rows the
earlier row-by-row one did (same random draws, same events), sorted for the index."""

from __future__ import annotations

import json
import shutil
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support import Pauses, Stopped, audit_entries, small_demo_base, table_rows

from fangcang import checks, db
from fangcang.demo import builder
from fangcang.models import (
    AuditEntry,
    Base,
    FactorCheck,
    FactorKind,
    HouseUse,
    PlaceKind,
    PlaceSubtype,
    WarningRun,
)
from fangcang.scoring.config import load_config
from fangcang.scoring.demo import generate_check_history
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)


def _old_rows(session, geo, prof, first, focus_start, seed):
    """The generator as it was before it went set-wise (c4641aa), returning its rows."""
    cfg = load_config()
    ids = list(geo.communities["community_id"])
    index = {c: i for i, c in enumerate(ids)}
    over = prof["overdue"].to_numpy()
    over_before = prof["overdue_before"].to_numpy()
    frames = []
    for kind, rid, community, checked, interval, where in checks._sources():
        rows = session.execute(
            select(kind, rid, community, checked, func.coalesce(interval, 0)).where(
                where, checked.is_not(None), community.is_not(None)
            )
        ).all()
        frames.append(pd.DataFrame(rows, columns=["kind", "record_id", "community", "last", "iv"]))
    df = pd.concat(frames, ignore_index=True)
    df = df[df["community"].isin(index)]
    rng = np.random.default_rng(seed)
    c_idx = df["community"].map(index).to_numpy()
    default = df["kind"].map(lambda k: cfg.factor_intervals[FactorKind(k)]).to_numpy()
    iv = np.where(df["iv"].to_numpy() > 0, df["iv"].to_numpy(), default).astype(np.int64)
    t = pd.to_datetime(df["last"]).to_numpy().astype("datetime64[D]")
    start = np.datetime64(first.first_day, "D")
    switch = np.datetime64(focus_start.first_day, "D")
    out_idx, out_day = [], []
    alive = np.arange(len(df))
    while len(alive):
        o = np.where(t[alive] < switch, over_before[c_idx[alive]], over[c_idx[alive]])
        late = rng.random(len(alive)) < o
        gap = np.where(
            late,
            iv[alive] + 1 + np.minimum(rng.geometric(1 / 45, len(alive)), 300),
            np.ceil(iv[alive] * rng.uniform(0.5, 1.0, len(alive))).astype(np.int64),
        )
        t[alive] = t[alive] - gap.astype("timedelta64[D]")
        keep = t[alive] >= start
        alive = alive[keep]
        out_idx.append(alive)
        out_day.append(t[alive].copy())
    idx = np.concatenate(out_idx)
    days = np.concatenate(out_day).astype("datetime64[D]").astype(object)
    return [
        (str(k), str(r), str(c), d, int(i), "demo")
        for k, r, c, d, i in zip(
            df["kind"].to_numpy()[idx],
            df["record_id"].to_numpy()[idx],
            df["community"].to_numpy()[idx],
            days,
            df["iv"].to_numpy()[idx],
            strict=True,
        )
    ]


def test_set_wise_history_equals_the_row_by_row_one(session, factory):
    comms = [factory.community(community_id=f"K{i}") for i in range(3)]
    rng = np.random.default_rng(5)
    for i in range(40):
        c = comms[i % 3]
        day = date(2026, 10, 1 + i % 28)
        factory.person(
            c,
            person_id=f"P{i:03d}",
            key_person_type="drugs",
            last_visit=day,
            visit_interval_days=[None, 30, 60][i % 3],
        )
        factory.house(c, house_id=f"H{i:03d}", use=HouseUse.RENTAL, last_checked=day)
        factory.place(
            c,
            place_id=f"L{i:03d}",
            kind=PlaceKind.REGULATED_TRADE if i % 2 else PlaceKind.VENUE,
            subtype=PlaceSubtype.DANGEROUS_GOODS if i % 5 == 0 else PlaceSubtype.KTV,
            last_inspected=day,
        )
    factory.house(comms[0], house_id="H-never", use=HouseUse.RENTAL)  # never checked
    session.commit()
    geo = SimpleNamespace(communities=pd.DataFrame({"community_id": ["K0", "K1", "K2", "K9"]}))
    prof = pd.DataFrame(
        {"overdue": rng.uniform(0, 0.6, 4), "overdue_before": rng.uniform(0.2, 0.9, 4)}
    )
    first, focus = Month(2024, 11), Month(2026, 5)
    old = _old_rows(session, geo, prof, first, focus, seed=42)
    indexes = sorted(
        inspect(session.connection()).get_indexes("factor_checks"), key=lambda ix: ix["name"]
    )
    assert {ix["name"] for ix in indexes} >= {
        "ix_factor_checks_community_id",
        "ix_factor_checks_checked_on",
    }
    added = generate_check_history(session, geo, prof, first, focus, seed=42)
    stored = session.execute(
        select(
            FactorCheck.kind,
            FactorCheck.record_id,
            FactorCheck.community_id,
            FactorCheck.checked_on,
            FactorCheck.interval_days,
            FactorCheck.source,
        ).order_by(FactorCheck.id)
    ).all()
    stored = [(FactorKind(k).value, r, c, d, i, s) for k, r, c, d, i, s in stored]
    assert added == len(old) == len(stored) > 1000
    assert sorted(stored) == sorted(old)  # the same events ...
    order = [(k, r, d) for k, r, _, d, _, _ in stored]
    assert order == sorted(order)  # ... stored in the unique index's order
    # The indexes dropped for the load are back, as they were (names, columns, uniqueness).
    after = inspect(session.connection()).get_indexes("factor_checks")
    assert sorted(after, key=lambda ix: ix["name"]) == indexes
    k, r, c, d, i, s = old[0]
    with pytest.raises(IntegrityError):  # the unique constraint is in force
        session.execute(
            insert(FactorCheck).values(
                kind=FactorKind(k),
                record_id=r,
                community_id=c,
                checked_on=d,
                interval_days=i,
                source=s,
            )
        )


# --------------------------------------------------------------------------------------------
# Short transactions, safe to rerun
# --------------------------------------------------------------------------------------------
#: Columns that differ between two runs of the same extension by nature: keys, clocks, the
#: audit chain's links.
_VOLATILE = {"id", "run_id", "created_at", "computed_at", "at", "prev_hash", "hash", "mac"}


def _dump(engine) -> dict:
    """What the scoring demo writes, comparable across databases and runs: every row of its
    tables less ``_VOLATILE`` columns (results keyed by their run's month), its meta values
    and the data version, its audit entries less their links and run ids."""
    out = {}
    with engine.connect() as c:
        for name in ("factor_checks", "warning_runs", "warning_backtest"):
            out[name] = table_rows(c, name, _VOLATILE)
        res, runs = Base.metadata.tables["warning_results"], Base.metadata.tables["warning_runs"]
        cols = [col for col in res.columns if col.name not in _VOLATILE]
        out["warning_results"] = sorted(
            map(tuple, c.execute(select(runs.c.period, *cols).join(runs)).all())
        )
        meta = Base.metadata.tables["meta"]
        out["meta"] = dict(
            c.execute(
                select(meta.c.key, meta.c.value).where(
                    meta.c.key.in_(["demo_truth", "data_version"])
                )
            ).all()
        )
        entries = []
        log = AuditEntry.__table__
        for actor, action, target, detail in audit_entries(c, where=log.c.action.like("warning%")):
            detail = json.loads(detail)
            detail.pop("run_id", None)
            entries.append((actor, action, target, json.dumps(detail, sort_keys=True)))
        out["audit_log"] = sorted(entries)
    return out


def test_demo_extend_in_short_transactions_reruns_to_the_same_rows(
    engine, tmp_path, sqlite_template, monkeypatch
):
    """The scoring demo commits in short transactions; stopped mid-history and again mid-runs,
    each rerun picks up, and the end is row for row what one uninterrupted run writes."""
    from fangcang.scoring.demo import TRUTH_KEY, demo_extend

    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    ref_path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, ref_path)
    reference = db.make_engine(f"sqlite:///{ref_path}")
    pauses = Pauses(monkeypatch)
    pauses.count()
    expected = demo_extend(small_demo_base(reference, monkeypatch, UNTIL))
    want = _dump(reference)
    reference.dispose()
    n_pauses = pauses.n
    assert n_pauses >= 24 + 3  # months, history chunks (two or more), truth
    assert (
        expected["check_events"]
        == len([r for r in want["factor_checks"] if r[-1] == "demo"])
        > 5_000
    )

    pauses.restore()
    ctx = small_demo_base(engine, monkeypatch, UNTIL)
    seen = []

    def state() -> tuple[int, bool, int]:
        with Session(engine) as s:
            demo_rows = s.scalar(
                select(func.count()).select_from(FactorCheck).where(FactorCheck.source == "demo")
            )
            runs = s.scalar(select(func.count()).select_from(WarningRun))
            return demo_rows, db.get_meta(s, TRUTH_KEY) is not None, runs

    for k in (1, n_pauses - 10):  # in the history; in the monthly runs
        pauses.stop_at(k)
        with pytest.raises(Stopped):
            demo_extend(ctx)
        seen.append(state())
    assert 0 < seen[0][0] < expected["check_events"] and not seen[0][1] and seen[0][2] == 0
    assert seen[1][0] == expected["check_events"] and seen[1][1] and 0 < seen[1][2] < 24
    pauses.restore()
    assert demo_extend(ctx) == expected
    assert _dump(engine) == want
    assert demo_extend(ctx) == expected  # a rerun after the end writes nothing new
    assert _dump(engine) == want
