"""Community x month counts of criminal + public-order incidents (刑事 + 治安警情), and the span
of complete months the data covers: the series the back-test and the emerging hot-spot analysis
read (docs/scoring.md, "Back-test" and "Emerging hot spots").

Everything comes from ``agg_incident_day`` grouped in SQL (a few thousand rows at full size).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import CRIME_CATEGORIES, AggIncidentDay
from ..timeutil import Month, month_range
from ..trends import month_key


def data_span(session: Session) -> tuple[Month, Month] | None:
    """The first and last *complete* months of incident data, or None without any.

    A month is complete when the data reaches its first day (for the first month) and its last
    day (for the last month): data from 2024-01-15 to 2026-10-20 spans 2024-02 .. 2026-09. The
    newest day on file marks the end even when it has no crime incident.
    """
    first_day, last_day = session.execute(
        select(func.min(AggIncidentDay.day), func.max(AggIncidentDay.day))
    ).one()
    if first_day is None:
        return None
    first = Month.of(first_day)
    if first_day != first.first_day:
        first = first.shift(1)
    last = Month.of(last_day)
    if last_day + timedelta(days=1) != last.shift(1).first_day:
        last = last.shift(-1)
    return (first, last) if first <= last else None


def crime_by_month(session: Session, ids: list[str], first: Month, last: Month) -> np.ndarray:
    """Criminal + public-order incidents per community and month.

    Parameters
    ----------
    ids : list of str
        Community ids (the row order of the result).
    first, last : Month
        Inclusive month range.

    Returns
    -------
    numpy.ndarray of int64, shape (len(ids), months from ``first`` to ``last``)
        Aggregates of communities not in ``ids`` are ignored.
    """
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    months = [str(m) for m in month_range(first, last)]
    month = month_key(session, AggIncidentDay.day).label("month")
    rows = session.execute(
        select(AggIncidentDay.community_id, month, func.sum(AggIncidentDay.n))
        .where(
            AggIncidentDay.day >= first.first_day,
            AggIncidentDay.day <= last.last_day,
            AggIncidentDay.category.in_(CRIME_CATEGORIES),
        )
        .group_by(AggIncidentDay.community_id, month)
    ).all()
    row_of = {c: i for i, c in enumerate(ids)}
    col_of = {m: j for j, m in enumerate(months)}
    out = np.zeros((len(ids), len(months)), dtype=np.int64)
    for cid, m, n in rows:
        i = row_of.get(cid)
        if i is not None:
            out[i, col_of[m]] = int(n or 0)
    return out


def months_without_data(session: Session, first: Month, last: Month) -> list[Month]:
    """Months in ``first .. last`` with no incident of any category on file: a missing import
    rather than a quiet month (a district of any size has incidents every month)."""
    month = month_key(session, AggIncidentDay.day).label("month")
    seen = set(
        session.scalars(
            select(month)
            .where(AggIncidentDay.day >= first.first_day, AggIncidentDay.day <= last.last_day)
            .distinct()
        )
    )
    return [m for m in month_range(first, last) if str(m) not in seen]
