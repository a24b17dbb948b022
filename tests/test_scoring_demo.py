"""The scoring demo's check history: the set-wise generator stores exactly the rows the
earlier row-by-row one did (same random draws, same events), sorted for the index."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from fangcang import checks
from fangcang.models import FactorCheck, FactorKind, HouseUse, PlaceKind, PlaceSubtype
from fangcang.scoring.config import load_config
from fangcang.scoring.demo import generate_check_history
from fangcang.timeutil import Month


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
