"""The history of checks, visits and inspections of public-order factors (治安要素).

Each check is an event (``FactorCheck``: factor kind, record id, community, day, interval), so
the control status of any past day is what it was that day: a factor is **in control at day
D** when it has a check in ``[D - interval + 1, D]``. Records carry only their latest check
date; ``record_last_checks`` (called by every import after the load) adds those dates as
events, idempotently, so history accumulates import after import. A recorded visit or a
corrected check adds one event with ``add_check``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta

import numpy as np
from sqlalchemy import MetaData, and_, case, exists, false, func, insert, literal, or_, select
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


def add_checks(session: Session, rows: Iterable[tuple], chunk: int = 50_000) -> int:
    """Bulk-add check events for generated history: tuples of (kind value, record id,
    community id, day as ``datetime.date``, interval days, source). The caller guarantees they
    are new (no factor checked twice on one day). Uses the driver's fast path (SQLite
    ``executemany``, PostgreSQL ``COPY``). Returns the number added."""
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
                cur.executemany(
                    f"INSERT INTO factor_checks ({cols}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                    [(k, rid, c, d.isoformat(), i, src) for k, rid, c, d, i, src in batch],
                )
        finally:
            cur.close()
        n += len(batch)
        batch.clear()

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
    with the event or, when that is 0, ``default_intervals[kind]``.

    Returns
    -------
    tuple of numpy int arrays aligned with ``ids``.
    """
    index = {c: i for i, c in enumerate(ids)}
    total = np.zeros(len(ids), dtype=np.int64)
    for cid, n in session.execute(
        select(AggFactor.community_id, func.sum(AggFactor.n)).group_by(AggFactor.community_id)
    ):
        if cid in index:
            total[index[cid]] = int(n or 0)
    pairs = session.execute(select(FactorCheck.kind, FactorCheck.interval_days).distinct()).all()
    bounds = []
    for kind, interval in pairs:
        days = int(interval) or int(default_intervals[FactorKind(kind)])
        bounds.append(
            and_(
                FactorCheck.kind == kind,
                FactorCheck.interval_days == interval,
                FactorCheck.checked_on >= day - timedelta(days=days - 1),
            )
        )
    cond = and_(FactorCheck.checked_on <= day, or_(*bounds)) if bounds else false()
    inner = (
        select(FactorCheck.community_id, FactorCheck.kind, FactorCheck.record_id)
        .where(cond)
        .distinct()
        .subquery()
    )
    in_control = np.zeros(len(ids), dtype=np.int64)
    for cid, n in session.execute(
        select(inner.c.community_id, func.count()).group_by(inner.c.community_id)
    ):
        if cid in index:
            in_control[index[cid]] = int(n)
    in_control = np.minimum(in_control, total)
    return total, total - in_control


__all__ = ["add_check", "add_checks", "control_at", "has_history", "record_last_checks"]
