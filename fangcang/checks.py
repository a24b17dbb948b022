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
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import numpy as np
from sqlalchemy import and_, case, exists, false, func, insert, literal, or_, select
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


def _sources():
    """(kind expression, record id, community, checked column, interval column, where) per
    record table, following the factor rules of docs/architecture.md."""
    fk = FactorKind
    house_kind = case(
        (House.use == HouseUse.GROUP_RENTAL.value, literal(fk.GROUP_RENTAL_HOUSE.value)),
        (House.use == HouseUse.RENTAL.value, literal(fk.RENTAL_HOUSE.value)),
        else_=None,
    )
    place_kind = case(
        (Place.subtype == PlaceSubtype.DANGEROUS_GOODS.value, literal(fk.DANGEROUS_GOODS.value)),
        (Place.kind == PlaceKind.VENUE.value, literal(fk.VENUE.value)),
        (Place.kind == PlaceKind.REGULATED_TRADE.value, literal(fk.REGULATED_TRADE.value)),
        else_=None,
    )
    return [
        (
            literal(fk.KEY_PERSON.value),
            Person.person_id,
            Person.community_id,
            Person.last_visit,
            Person.visit_interval_days,
            Person.key_person_type.is_not(None),
        ),
        (
            house_kind,
            House.house_id,
            House.community_id,
            House.last_checked,
            House.check_interval_days,
            house_kind.is_not(None),
        ),
        (
            place_kind,
            Place.place_id,
            Place.community_id,
            Place.last_inspected,
            Place.inspection_interval_days,
            place_kind.is_not(None),
        ),
    ]


def record_last_checks(session: Session, source: str = "import") -> int:
    """Add every factor record's last-check date as a check event (caller commits).

    Idempotent: an event already on file for the same factor and day is not added again, so
    importing the same records twice adds nothing. Call it after an import has loaded the
    records.

    Returns
    -------
    int
        The number of events added.
    """
    cols = ["kind", "record_id", "community_id", "checked_on", "interval_days", "source"]
    # Counted before and after: drivers differ in the rowcount of INSERT .. SELECT.
    before = session.scalar(select(func.count()).select_from(FactorCheck)) or 0
    for kind, rid, community, checked, interval, where in _sources():
        already = exists().where(
            FactorCheck.kind == kind,
            FactorCheck.record_id == rid,
            FactorCheck.checked_on == checked,
        )
        sel = select(
            kind, rid, community, checked, func.coalesce(interval, 0), literal(source)
        ).where(where, checked.is_not(None), community.is_not(None), ~already)
        session.execute(insert(FactorCheck).from_select(cols, sel))
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
