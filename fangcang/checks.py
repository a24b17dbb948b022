"""The history of checks, visits and inspections of public-order factors (治安要素).

Each check is an event (``FactorCheck``: factor kind, record id, community, day, interval), so
the control status of any past day is what it was that day: a factor is **in control at day
D** when it has a check in ``[D - interval + 1, D]``. Records carry only their latest check
date; ``record_last_checks`` (called by every import after the load) adds those dates as
events, idempotently, so history accumulates import after import. A recorded visit or a
corrected check adds one event with ``add_check``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import MetaData, String, case, cast, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from .models import (
    AggFactor,
    FactorCheck,
    FactorKind,
    House,
    HouseUse,
    Person,
    Place,
    PlaceKind,
    PlaceSubtype,
)

log = logging.getLogger(__name__)


#: Record tables that hold public-order factors (their last-check dates become events).
FACTOR_TABLES = ("people", "houses", "places")


def _sources(read_from: Mapping[str, str] | None = None, tables=FACTOR_TABLES):
    """(kind expression, record id, community, checked column, interval column, where) per
    record table, following the factor rules of docs/architecture.md. ``read_from`` maps a
    record table to the table actually read (a staged copy of it, ``fangcang.importer.staged``)."""
    read_from = read_from or {}

    def cols(model):
        name = model.__tablename__
        t = model.__table__
        return t.to_metadata(MetaData(), name=read_from[name]).c if name in read_from else t.c

    fk = FactorKind
    P, H, L = cols(Person), cols(House), cols(Place)
    house_kind = case(
        (H.use == HouseUse.GROUP_RENTAL.value, literal(fk.GROUP_RENTAL_HOUSE.value)),
        (H.use == HouseUse.RENTAL.value, literal(fk.RENTAL_HOUSE.value)),
        else_=None,
    )
    place_kind = case(
        (L.subtype == PlaceSubtype.DANGEROUS_GOODS.value, literal(fk.DANGEROUS_GOODS.value)),
        (L.kind == PlaceKind.VENUE.value, literal(fk.VENUE.value)),
        (L.kind == PlaceKind.REGULATED_TRADE.value, literal(fk.REGULATED_TRADE.value)),
        else_=None,
    )
    out = {
        "people": (
            literal(fk.KEY_PERSON.value),
            P.person_id,
            P.community_id,
            P.last_visit,
            P.visit_interval_days,
            P.key_person_type.is_not(None),
        ),
        "houses": (
            house_kind,
            H.house_id,
            H.community_id,
            H.last_checked,
            H.check_interval_days,
            house_kind.is_not(None),
        ),
        "places": (
            place_kind,
            L.place_id,
            L.community_id,
            L.last_inspected,
            L.inspection_interval_days,
            place_kind.is_not(None),
        ),
    }
    return [out[t] for t in FACTOR_TABLES if t in tables]


CHECK_COLUMNS = ["kind", "record_id", "community_id", "checked_on", "interval_days", "source"]


def new_check_events(
    source: str = "import",
    tables: Collection[str] = FACTOR_TABLES,
    read_from: Mapping[str, str] | None = None,
):
    """``SELECT``s of the last-check events not yet on file, one per factor record table
    (columns ``CHECK_COLUMNS``); ``read_from`` as in ``_sources``."""
    out = []
    for kind, rid, community, checked, interval, where in _sources(read_from, tables):
        already = exists().where(
            FactorCheck.kind == kind,
            FactorCheck.record_id == rid,
            FactorCheck.checked_on == checked,
        )
        out.append(
            select(
                kind.label("kind"),
                rid.label("record_id"),
                community.label("community_id"),
                checked.label("checked_on"),
                func.coalesce(interval, 0).label("interval_days"),
                literal(source).label("source"),
            ).where(where, checked.is_not(None), community.is_not(None), ~already)
        )
    return out


def record_last_checks(
    session: Session, source: str = "import", tables: Collection[str] = FACTOR_TABLES
) -> int:
    """Add every factor record's last-check date as a check event (caller commits).

    Idempotent: an event already on file for the same factor and day is not added again, so
    importing the same records twice adds nothing. Call it after an import has loaded the
    records.

    Parameters
    ----------
    tables : collection of str
        Limit to these record tables (an import: the ones it loaded); others are skipped.

    Returns
    -------
    int
        The number of events added.
    """
    if not any(t in FACTOR_TABLES for t in tables):
        return 0  # (counting two million events costs more than the rest of a small feed)
    # Counted before and after: drivers differ in the rowcount of INSERT .. SELECT.
    before = session.scalar(select(func.count()).select_from(FactorCheck)) or 0
    for sel in new_check_events(source, tables):
        session.execute(insert(FactorCheck).from_select(CHECK_COLUMNS, sel))
    added = (session.scalar(select(func.count()).select_from(FactorCheck)) or 0) - before
    log.info("check history: %d events added from last-check dates", added)
    return added


def add_check(
    session: Session,
    kind: FactorKind | str,
    record_id: str,
    community_id: str,
    day: date,
    interval_days: int = 0,
    source: str = "visit",
) -> bool:
    """Record one check of one factor (a visit, an inspection, a corrected check date).

    Returns False (and adds nothing) when that factor already has a check on ``day``.

    Raises
    ------
    ValueError
        Unknown kind, empty record or community id, or a negative interval.
    """
    kind = FactorKind(kind)
    if not record_id or not community_id:
        raise ValueError("a check needs a record id and a community id")
    if interval_days < 0:
        raise ValueError(f"interval_days must be >= 0, got {interval_days}")
    found = session.scalar(
        select(FactorCheck.id).where(
            FactorCheck.kind == kind,
            FactorCheck.record_id == record_id,
            FactorCheck.checked_on == day,
        )
    )
    if found is not None:
        return False
    session.add(
        FactorCheck(
            kind=kind,
            record_id=record_id,
            community_id=community_id,
            checked_on=day,
            interval_days=int(interval_days),
            source=source,
        )
    )
    session.flush()
    return True


_COLUMNS = ("kind", "record_id", "community_id", "checked_on", "interval_days", "source")


def add_checks(
    session: Session, rows: Iterable[tuple], chunk: int = 50_000, cache_mb: int = 32
) -> int:
    """Bulk-add check events for generated history: tuples of (kind value, record id,
    community id, day, interval days, source), the day a ``datetime.date`` or its ISO text
    (``YYYY-MM-DD``). The caller guarantees they are new (no factor checked twice on one
    day). Uses the driver's fast path (SQLite ``executemany`` with a page cache of
    ``cache_mb`` for the load, restored after; PostgreSQL ``COPY``). Rows sorted by kind,
    record id and day load fastest (the unique index is then appended to in order).
    Returns the number added."""
    conn = session.connection()
    dialect = conn.dialect.name
    raw = conn.connection.dbapi_connection
    cols = ", ".join(_COLUMNS)
    n = 0
    batch: list[tuple] = []

    def flush() -> None:
        nonlocal n
        if not batch:
            return
        cur = raw.cursor()
        try:
            if dialect == "postgresql":
                with cur.copy(f"COPY factor_checks ({cols}) FROM STDIN") as copy:  # noqa: S608
                    for r in batch:
                        copy.write_row(r)
            else:
                if not all(isinstance(r[3], str) for r in batch):
                    batch[:] = [
                        (k, rid, c, d if isinstance(d, str) else d.isoformat(), i, src)
                        for k, rid, c, d, i, src in batch
                    ]
                cur.executemany(
                    f"INSERT INTO factor_checks ({cols}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                    batch,
                )
        finally:
            cur.close()
        n += len(batch)
        batch.clear()

    with _sqlite_cache(session, cache_mb), _bulk():
        for r in rows:
            batch.append(r)
            if len(batch) >= chunk:
                flush()
        flush()
    return n


def has_history(session: Session) -> bool:
    """Whether any check event is on file."""
    return session.scalar(select(FactorCheck.id).limit(1)) is not None


def control_at(
    session: Session,
    ids: list[str],
    day: date,
    default_intervals: Mapping[FactorKind, int],
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, factors not in control at ``day``) per community, from the check history.

    ``factors`` is the registry's count today (``agg_factor``); a factor is in control at D
    when it has a check event in ``[D - interval + 1, D]``, its interval being the one recorded
    with the event or, when that is 0, ``default_intervals[kind]``. One day of
    ``control_at_days``.

    Returns
    -------
    tuple of numpy int arrays aligned with ``ids``.
    """
    total, out = control_at_days(session, ids, [day], default_intervals)
    return total, out[0]


def _factor_total(session: Session, ids: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(ids)}
    total = np.zeros(len(ids), dtype=np.int64)
    for cid, n in session.execute(
        select(AggFactor.community_id, func.sum(AggFactor.n)).group_by(AggFactor.community_id)
    ):
        if cid in index:
            total[index[cid]] = int(n or 0)
    return total


@contextmanager
def _sqlite_cache(session: Session, mb: int):
    """A page cache of ``mb`` MiB on this SQLite connection for a bulk read or load (the
    default 2 MiB rereads and rewrites index pages every few hundred rows); restored after.
    Nothing on other databases."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = {-1024 * int(mb)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")


@contextmanager
def _bulk():
    """No cyclic garbage collection while millions of row tuples are made and dropped (none
    of them is part of a cycle; the collector's passes over them would double the cost)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _covered(factor, checked, length, communities, factor_codes, factor_com, wanted) -> np.ndarray:
    """One chunk of events -> the keys (factor code, wanted-day index) they cover. A factor is
    ``community<US>kind|record`` (one code per factor and community); its community's index in
    ``factor_com`` (-1: not asked for)."""
    if None in length:
        bad = sorted(
            {
                f.split(_US)[1].split("|")[0]
                for f, n in zip(factor, length, strict=True)
                if n is None
            }
        )
        raise ValueError(f"no default check interval for factor kind(s) {bad}")
    # Codes through each chunk's distinct values (a dict look-up per value, not per row).
    local, names = pd.factorize(np.asarray(factor, dtype=object), use_na_sentinel=False)
    codes, coms = [], []
    for f in names:
        code = factor_codes.get(f)
        if code is None:
            code = factor_codes[f] = len(factor_codes)
            factor_com.append(communities.get(f.split(_US, 1)[0], -1))
        codes.append(code)
        coms.append(factor_com[code])
    fac = np.array(codes, dtype=np.int64)[local]
    com = np.array(coms, dtype=np.int64)[local]
    c = np.array(checked, dtype="datetime64[D]")
    end = c + np.array(length, dtype=np.int64) - 1
    lo = np.searchsorted(wanted, c, side="left")  # first wanted day >= c
    hi = np.searchsorted(wanted, end, side="right")  # past the last wanted day <= end
    keep = (com >= 0) & (hi > lo)
    fac, lo, hi = fac[keep], lo[keep], hi[keep]
    n = hi - lo
    rows = np.repeat(np.arange(len(n)), n)
    day = lo[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(n) - n, n))
    return fac[rows] * len(wanted) + day


#: Separates the community from the factor in ``control_at_days``'s factor keys (ASCII unit
#: separator: in no community id).
_US = "\x1f"


def control_at_days(
    session: Session,
    ids: list[str],
    days: Sequence[date],
    default_intervals: Mapping[FactorKind, int],
    chunk: int = 100_000,
    cache_mb: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """``control_at`` for several days in one read of the check history.

    A factor (community, kind, record) is in control at day D when one of its events, on day
    c with interval i (the event's, or ``default_intervals[kind]`` when 0), has
    ``c <= D <= c + i - 1``. The events that can cover any of ``days`` are read once
    (``chunk`` rows at a time); each event's covered days are found by binary search in the
    sorted days, and each factor is counted once per day however many of its events cover it.

    Returns
    -------
    (factors, out)
        ``factors``: int array aligned with ``ids`` (``agg_factor``); ``out``: int array of
        shape (len(days), len(ids)), the factors not in control at each day (in-control counts
        capped at ``factors``).

    Raises
    ------
    ValueError
        An event with interval 0 whose kind has no default interval.
    """
    total = _factor_total(session, ids)
    wanted = np.array(sorted(set(days)), dtype="datetime64[D]")
    if not len(wanted):
        return total, np.zeros((0, len(ids)), dtype=np.int64)
    fc = FactorCheck
    known = [k for k in FactorKind if k in default_intervals]
    span = case(
        (fc.interval_days > 0, fc.interval_days),
        *[(fc.kind == k, literal(int(default_intervals[k]))) for k in known],
        else_=None,
    )
    longest = max(
        [int(default_intervals[k]) for k in known]
        + [int(session.scalar(select(func.max(fc.interval_days))) or 0)]
    )
    first = wanted[0].astype(object) - timedelta(days=max(longest, 1) - 1)
    last = wanted[-1].astype(object)
    stmt = select(
        fc.community_id + literal(_US) + cast(fc.kind, String) + literal("|") + fc.record_id,
        cast(fc.checked_on, String),
        span,
    )
    # Events outside first .. last cover none of the days (dropped below either way). A narrow
    # range is read through the date index; a wide one (most of the history, as for the 24
    # months of the demo) by one plain scan, much cheaper than millions of index lookups.
    oldest, newest = session.execute(select(func.min(fc.checked_on), func.max(fc.checked_on))).one()
    if oldest is not None and (last - first).days * 4 < (newest - oldest).days:
        stmt = stmt.where(fc.checked_on >= first, fc.checked_on <= last)
    communities = {c: i for i, c in enumerate(ids)}
    factor_codes: dict[str, int] = {}  # community<US>kind|record -> code
    factor_com: list[int] = []  # code -> community index (-1: not in ids)
    keys = []  # factor code * len(wanted) + day index, per chunk
    with _sqlite_cache(session, cache_mb), _bulk():
        # Plain DBAPI rows (no conversions are needed): SQLAlchemy rows cost more than the
        # rest of this function for two million events.
        result = session.connection().execute(stmt)
        try:
            while part := result.cursor.fetchmany(chunk):
                factor, checked, length = zip(*part, strict=True)
                keys.append(
                    _covered(factor, checked, length, communities, factor_codes, factor_com, wanted)
                )
        finally:
            result.close()
    in_control = np.zeros((len(wanted), len(ids)), dtype=np.int64)
    if keys:
        pairs = np.sort(np.concatenate(keys))
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs  # 1 per day
        com = np.asarray(factor_com, dtype=np.int64)[pairs // len(wanted)]
        cell = (pairs % len(wanted)) * len(ids) + com
        in_control = np.bincount(cell, minlength=len(wanted) * len(ids)).reshape(in_control.shape)
    in_control = np.minimum(in_control, total[None, :])
    out = total[None, :] - in_control
    rows_of = {d: i for i, d in enumerate(wanted.astype(object).tolist())}
    return total, out[[rows_of[d] for d in days]]


__all__ = [
    "add_check",
    "add_checks",
    "control_at",
    "control_at_days",
    "has_history",
    "record_last_checks",
]
