"""Community x month counts of criminal + public-order incidents (刑事 + 治安警情): the series
the back-test and the emerging hot-spot analysis read (docs/scoring.md, "Back-test" and
"Emerging hot spots"). The span of complete months the data covers is
``fangcang.incidents.data_span`` (imported here for those callers).

Everything comes from ``agg_incident_day`` grouped in SQL (a few thousand rows at full size).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Scope
from ..incidents import data_span, month_key
from ..models import CRIME_CATEGORIES, AggIncidentDay
from ..timeutil import Month, month_range

__all__ = ["crime_by_month", "data_span", "months_without_data"]


def crime_by_month(
    session: Session, ids: list[str], first: Month, last: Month, scope: Scope | None = None
) -> np.ndarray:
    """Criminal + public-order incidents per community and month.

    Parameters
    ----------
    ids : list of str
        Community ids (the row order of the result).
    first, last : Month
        Inclusive month range.
    scope : Scope, optional
        Read only these communities' aggregates (e.g. one district of a city); default all.

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
            (scope or Scope.district()).clause(AggIncidentDay.community_id),
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
