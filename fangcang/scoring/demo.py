"""Demo extension: a believable check history, the demo's true risk, stored warning runs for
the last 24 months and the back-test.

The check history is generated backwards from each factor's last check (what the import
recorded) with gaps that depend on its community's share of overdue factors, so the control
status of every back-filled month is what it was then. 沿江社区 was badly behind on checks
until its focused work started six months before the end, then caught up.

The true risk (``true_risk``): each community's expected criminal + public-order rate per
resident over the district's, month by month, from the generator's own expected counts. It is
kept in the database (meta ``demo_truth``) so the warning's precision can be measured.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import checks, db
from ..importer.load import create_indexes, drop_indexes
from ..models import FactorCheck, FactorKind, Place
from ..timeutil import Month
from .backtest import backtest
from .config import load_config
from .inputs import read_inputs_for
from .store import run

log = logging.getLogger(__name__)

#: Meta key of the demo's true risk (JSON: {"months": [...], "ratio": {community: [...]}}).
TRUTH_KEY = "demo_truth"


def _profile():
    from ..demo.builder import GEOGRAPHY_SEED
    from ..demo.geography import build_geography
    from ..demo.story import community_profile

    geo = build_geography(np.random.default_rng(GEOGRAPHY_SEED))
    prof = community_profile(geo, np.random.default_rng(GEOGRAPHY_SEED + 1))
    return geo, prof


def _truth(session: Session, geo, prof, scale: str, months: list[Month]) -> dict:
    from ..demo.incidents import VENUE_NIGHT, expected, true_crime_ratio
    from ..demo.story import SCALES

    ids = list(geo.communities["community_id"])
    index = {c: i for i, c in enumerate(ids)}
    n_venues = np.zeros(len(ids))
    for cid, n in session.execute(
        select(Place.community_id, func.count())
        .where(Place.subtype.in_([*VENUE_NIGHT, "internet_cafe"]))
        .group_by(Place.community_id)
    ):
        if cid in index:
            n_venues[index[cid]] = n
    lam = expected(prof, n_venues, SCALES[scale], months)
    ratio = true_crime_ratio(lam, prof)
    return {
        "months": [str(m) for m in months],
        "ratio": {cid: [round(float(x), 4) for x in ratio[i]] for i, cid in enumerate(ids)},
        "risk": {cid: str(prof["risk"].iloc[i]) for i, cid in enumerate(ids)},
    }


def true_risk(session: Session) -> pd.DataFrame:
    """The demo's true risk: community_id, period, ratio (expected crime rate / district's),
    risk (normal / worse / focus / elevated / emerging / fading). Empty when the database is
    not a demo built with it."""
    raw = db.get_meta(session, TRUTH_KEY)
    if not raw:
        return pd.DataFrame(columns=["community_id", "period", "ratio", "risk"])
    data = json.loads(raw)
    rows = [
        (cid, m, r, data["risk"].get(cid, "normal"))
        for cid, values in data["ratio"].items()
        for m, r in zip(data["months"], values, strict=True)
    ]
    return pd.DataFrame(rows, columns=["community_id", "period", "ratio", "risk"])


def generate_check_history(
    session: Session,
    geo,
    prof,
    first: Month,
    focus_start: Month,
    seed: int,
    pause: Callable[[Session], None] | None = None,
) -> int:
    """Add earlier checks before every factor's last check, back to ``first``.

    Going backwards from the last check, each gap is in time (U(0.5, 1.0) x the interval)
    with probability 1 - o, or late (the interval + 1 + a geometric number of days, mean 45)
    with probability o, the community's share of overdue factors (沿江社区: its share before
    ``focus_start`` is ``overdue_before``). Returns the number of events added.

    Without ``pause`` the events are written in the caller's transaction, the table's
    secondary indexes dropped for the load and rebuilt with the model's definitions (SQLite).
    With ``pause`` (``fangcang.demo.builder.let_writers_in``) they are written in short
    transactions, ``pause(session)`` after each (it commits), the indexes kept: the
    dashboard's writers get in between (more CPU at full size). The events are the same
    either way, in the same order.
    """
    from ..checks import _sources

    cfg = load_config()
    ids = list(geo.communities["community_id"])
    index = {c: i for i, c in enumerate(ids)}
    over = prof["overdue"].to_numpy()
    over_before = prof["overdue_before"].to_numpy()
    frames = []
    for kind, rid, community, checked, interval, where in _sources():
        rows = session.execute(
            select(kind, rid, community, checked, func.coalesce(interval, 0)).where(
                where, checked.is_not(None), community.is_not(None)
            )
        ).all()
        # Plain tuples: pandas probes each SQLAlchemy Row for attributes (an exception per
        # row, 2-3 s for the ~350,000 factors at full size).
        frames.append(
            pd.DataFrame(
                list(map(tuple, rows)), columns=["kind", "record_id", "community", "last", "iv"]
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df = df[df["community"].isin(index)]
    if df.empty:
        return 0
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
    days = np.concatenate(out_day).astype("datetime64[D]")
    # By kind, record and day: the order the unique index (kind, record_id, checked_on) is
    # appended to fastest.
    key = df["kind"].astype(str) + "\x00" + df["record_id"].astype(str)
    rank = np.argsort(np.argsort(key.to_numpy(), kind="stable"), kind="stable")
    order = np.lexsort((days, rank[idx]))
    idx, days = idx[order], days[order]
    columns = (
        df["kind"].astype(str).to_numpy()[idx],
        df["record_id"].astype(str).to_numpy()[idx],
        df["community"].astype(str).to_numpy()[idx],
        days,
        df["iv"].astype(np.int64).to_numpy()[idx],
    )

    def rows(step: int = 50_000, lo: int = 0, hi: int | None = None):
        # Python objects for one slice at a time (two million rows at once cost ~0.5 GB).
        hi = len(idx) if hi is None else hi
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            kind, record, community, day, interval = (col[a:b] for col in columns)
            yield from zip(
                kind.tolist(),
                record.tolist(),
                community.tolist(),
                np.datetime_as_string(day, unit="D").tolist(),
                interval.tolist(),
                itertools.repeat("demo"),
            )

    if pause is not None:
        from ..demo.builder import ChunkSize, checkpoint_in_gap

        size, added = ChunkSize(), 0
        while added < len(idx):
            n = min(size.n, len(idx) - added)
            # The chunk's row tuples are made before the write (the lock is taken at its first
            # INSERT): a tenth of the time the write would otherwise hold it.
            chunk = list(rows(n, added, added + n))
            with checkpoint_in_gap(session):
                t0 = time.perf_counter()
                added += checks.add_checks(session, chunk, chunk=n)
                size.took(time.perf_counter() - t0)
                del chunk
                pause(session)
        return added
    # Two million events in one transaction: on SQLite the secondary indexes are built once
    # afterwards (one sort each) instead of being updated row by row (25 s instead of 32-37 s
    # CPU at full size); the unique constraint stays and is checked on every row. Not on
    # PostgreSQL: DROP INDEX locks the table until commit, and the dashboard is open.
    sqlite = session.get_bind().dialect.name == "sqlite"
    dropped = drop_indexes(session, FactorCheck.__table__) if sqlite else []
    added = checks.add_checks(session, rows())
    create_indexes(session, FactorCheck.__table__, dropped)
    return added


def _record_last_checks(session: Session) -> int:
    """``checks.record_last_checks`` when there is anything to add (a read first): its
    ``INSERT .. SELECT`` holds SQLite's write lock for its whole scan (0.6 s at full size on
    an idle machine) even when it adds nothing, as after the demo's import, which recorded
    them. Returns the number added."""
    if not any(session.scalar(select(sel.exists())) for sel in checks.new_check_events("import")):
        return 0
    return checks.record_last_checks(session, source="import")


def _clear_history(session: Session, pause: Callable[[Session], None], step: int = 10_000) -> int:
    """Delete a partial generated history (source ``demo``) left by an interrupted run, in
    short transactions. Returns the number of events deleted."""
    n = 0
    while ids := session.scalars(
        select(FactorCheck.id).where(FactorCheck.source == "demo").limit(step)
    ).all():
        session.execute(delete(FactorCheck).where(FactorCheck.id.in_(ids)))
        n += len(ids)
        pause(session)
    if n:
        log.info("scoring demo: %d events of an interrupted check history deleted", n)
    return n


def demo_extend(ctx) -> dict:
    """Check history, true risk, a warning run for each of the 24 months ending with
    ``ctx.until`` (in order, so persistence carries month to month) and the 12-month
    back-test.

    Written in short transactions (``fangcang.demo.builder.let_writers_in`` between them: the
    dashboard is open meanwhile) and safe to rerun after an interruption at any point: the
    history is complete once the true risk (meta ``demo_truth``) is on file, written after
    its last events; without it a rerun first deletes the partial history (source ``demo``;
    the last checks of ``record_last_checks`` are never added twice). A month whose run is
    stored keeps it (``store.run``); the back-test replaces its rows.
    """
    from ..demo import builder
    from ..demo.story import FOCUS_MONTHS

    def pause(session: Session) -> None:
        builder.let_writers_in(session)  # looked up at each call (tests interrupt here)

    config = load_config()
    months = [ctx.until.shift(-i) for i in reversed(range(24))]
    geo, prof = _profile()
    with Session(ctx.engine) as session:
        if db.get_meta(session, TRUTH_KEY) is None:
            _clear_history(session, pause)
            if _record_last_checks(session):
                pause(session)
            added = generate_check_history(
                session,
                geo,
                prof,
                months[0],
                ctx.until.shift(-(FOCUS_MONTHS - 1)),
                ctx.seed,
                pause=pause,
            )
            truth = json.dumps(_truth(session, geo, prof, ctx.scale, months))
            db.set_meta(session, TRUTH_KEY, truth)
            pause(session)
        else:
            added = session.scalar(
                select(func.count()).select_from(FactorCheck).where(FactorCheck.source == "demo")
            )
        ctx.progress(0.1, "check history")
        # Every month's counts in one read of the aggregates and of the check history (the
        # first month's persistence looks at the month before it).
        inputs = read_inputs_for(session, [months[0].shift(-1), *months], config)
        for i, m in enumerate(months):
            run(session, m, config, actor="demo", inputs=inputs)
            pause(session)
            ctx.progress(0.1 + 0.85 * (i + 1) / len(months), f"warning {m}")
        try:
            bt = backtest(
                session, months=12, config=config, until=ctx.until, store=True, inputs=inputs
            )
            session.commit()
        except (ValueError, KeyError) as exc:  # the back-test is reworked separately
            log.warning("demo back-test skipped: %s", exc)
            session.rollback()
            bt = []
    ctx.progress(1.0, "warning back-test")
    return {"warning_runs": len(months), "check_events": added, "backtest_months": len(bt)}
