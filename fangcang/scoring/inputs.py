"""Read the counts the model needs from the pre-aggregated tables (never the raw records).

Everything is returned as numpy arrays aligned to one ordered list of community ids: all of the
district's communities, so district rates are always the whole district's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from .. import checks, incidents
from ..access import Scope
from ..models import (
    AggFactor,
    AggPopulation,
    Community,
    FactorKind,
    ResidenceType,
)
from ..timeutil import Month, window
from .config import ScoringConfig


@dataclass(frozen=True)
class Windows:
    """The months an assessment of ``period`` looks at."""

    period: Month
    first: Month  # first month of W
    last: Month  # = period

    @classmethod
    def of(cls, period: Month, length: int) -> Windows:
        first, last = window(period, length)
        return cls(period, first, last)

    @property
    def year_before(self) -> tuple[Month, Month]:
        return self.first.shift(-12), self.last.shift(-12)

    @property
    def control_day(self) -> date:
        """Factors are judged at the last day of the assessment month."""
        return self.period.last_day


@dataclass
class Inputs:
    """Counts per community, aligned with ``community_ids``."""

    community_ids: list[str]
    residents: np.ndarray
    floating: np.ndarray  # floating + overseas
    incidents: np.ndarray  # all incidents in W
    crime: np.ndarray  # criminal + public order in W
    crime_recent: np.ndarray  # criminal + public order in the trend window (last months of W)
    crime_year_before: np.ndarray  # the same months a year earlier
    factors: np.ndarray
    factors_out: np.ndarray  # not in control at the control day
    trend_available: bool = True  # the year-before window lies wholly inside the data
    months_covered: int = 0  # months of W that have data

    def __len__(self) -> int:
        return len(self.community_ids)


def community_ids(session: Session) -> list[str]:
    """Every community of the district, sorted by id."""
    return list(session.scalars(select(Community.community_id).order_by(Community.community_id)))


def incident_counts(
    session: Session, ids: list[str], first: Month, last: Month
) -> tuple[np.ndarray, np.ndarray]:
    """All and criminal + public-order incidents per community from ``first`` to ``last``
    (``incidents.counts``; aggregates of a community not in ``ids`` are ignored)."""
    df = incidents.counts(
        session,
        Scope.district(),
        ["total", "crime"],
        first.first_day,
        last.last_day,
        by_community=True,
    ).reindex(ids, fill_value=0)
    return df["total"].to_numpy(dtype=np.int64), df["crime"].to_numpy(dtype=np.int64)


def population(session: Session, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(all residents, floating + overseas residents) per community."""
    index = {c: i for i, c in enumerate(ids)}
    residents = np.zeros(len(ids), dtype=np.int64)
    floating = np.zeros(len(ids), dtype=np.int64)
    rows = session.execute(
        select(AggPopulation.community_id, AggPopulation.residence_type, AggPopulation.n)
    ).all()
    for cid, rtype, n in rows:
        i = index.get(cid)
        if i is None:
            continue
        residents[i] += int(n)
        if rtype in (ResidenceType.FLOATING, ResidenceType.OVERSEAS):
            floating[i] += int(n)
    return residents, floating


def factor_control(
    session: Session, ids: list[str], day: date, config: ScoringConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, factors not in control at ``day``) per community.

    A factor is in control at day D when its last check is a day in [D - interval + 1, D];
    ``interval_days == 0`` means the record had none and the kind's configured default applies.
    Never-checked factors (``checked_on`` NULL) and checks after D are not in control at D.
    """
    # The few distinct (kind, interval) pairs give one date bound each; the sums then run in
    # SQL over the aggregate rows (fetching them all costs ~1 s at full size on SQLite).
    pairs = session.execute(select(AggFactor.kind, AggFactor.interval_days).distinct()).all()
    # A record's own interval applies whatever its kind: one bound per distinct interval.
    pairs = sorted({(None if interval else kind, interval) for kind, interval in pairs}, key=str)
    bounds = []
    for kind, interval in pairs:
        days = int(interval) or config.factor_intervals[FactorKind(kind)]
        earliest = day - timedelta(days=days - 1)
        if interval:
            bounds.append(
                and_(AggFactor.interval_days == interval, AggFactor.checked_on >= earliest)
            )
        else:
            bounds.append(
                and_(
                    AggFactor.interval_days == 0,
                    AggFactor.kind == FactorKind(kind),
                    AggFactor.checked_on >= earliest,
                )
            )
    condition = and_(AggFactor.checked_on <= day, or_(*bounds)) if bounds else false()
    rows = session.execute(
        select(
            AggFactor.community_id,
            func.sum(AggFactor.n),
            func.sum(case((condition, AggFactor.n), else_=0)),
        ).group_by(AggFactor.community_id)
    ).all()
    index = {c: i for i, c in enumerate(ids)}
    total = np.zeros(len(ids), dtype=np.int64)
    in_control = np.zeros(len(ids), dtype=np.int64)
    for cid, n, n_in in rows:
        i = index.get(cid)
        if i is not None:
            total[i] = int(n or 0)
            in_control[i] = int(n_in or 0)
    return total, total - in_control


def read_inputs(
    session: Session,
    period: Month,
    config: ScoringConfig,
    ids: list[str] | None = None,
) -> Inputs:
    """All counts for one assessment month (window lengths from ``config``).

    Control at the month's last day comes from the check history (``fangcang.checks``) when
    there is one, else from the records' last-check dates (``factor_control``).
    """
    ids = community_ids(session) if ids is None else ids
    w = Windows.of(period, config.window_months)
    total, crime = incident_counts(session, ids, w.first, w.last)
    t = Windows.of(period, config.trend_months)
    _, recent = incident_counts(session, ids, t.first, t.last)
    yb_first, yb_last = t.year_before
    _, before = incident_counts(session, ids, yb_first, yb_last)
    start = incidents.first_data_day(session)
    available = start is not None and start <= yb_first.first_day
    covered = 0
    if start is not None:
        first = max(w.first, Month.of(start))
        covered = max(0, (period.year - first.year) * 12 + period.month - first.month + 1)
    residents, floating = population(session, ids)
    if checks.has_history(session):
        factors, factors_out = checks.control_at(
            session, ids, w.control_day, config.factor_intervals
        )
    else:
        factors, factors_out = factor_control(session, ids, w.control_day, config)
    return Inputs(
        community_ids=ids,
        residents=residents,
        floating=floating,
        incidents=total,
        crime=crime,
        crime_recent=recent,
        crime_year_before=before,
        factors=factors,
        factors_out=factors_out,
        trend_available=bool(available),
        months_covered=covered,
    )
