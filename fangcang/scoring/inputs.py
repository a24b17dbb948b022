"""Read the counts the model needs from the pre-aggregated tables (never the raw records).

Everything is returned as numpy arrays aligned to one ordered list of community ids: all of the
district's communities, so district rates are always the whole district's.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from ..timeutil import Month, month_range, window
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
    """All counts for one assessment month (window lengths from ``config``): one month of
    ``read_inputs_for``."""
    return read_inputs_for(session, [period], config, ids)[period]


def read_inputs_for(
    session: Session,
    periods: Sequence[Month],
    config: ScoringConfig,
    ids: list[str] | None = None,
) -> dict[Month, Inputs]:
    """All counts for several assessment months, each aggregate table read once.

    Incidents come per community and month from the month table (``incidents.by_month``)
    and are summed over each month's windows (the window, the trend window and the same
    months a year earlier: whole months, as ``incidents.counts`` reads them). Control at each
    month's last day comes from the check history (``checks.control_at_days``) when there is
    one, else from the records' last-check dates (``factor_control``).

    Returns
    -------
    dict
        ``{period: Inputs}`` for every month of ``periods``.
    """
    ids = community_ids(session) if ids is None else ids
    periods = list(dict.fromkeys(periods))
    if not periods:
        return {}
    wins = {m: Windows.of(m, config.window_months) for m in periods}
    trends = {m: Windows.of(m, config.trend_months) for m in periods}
    lo = min(min(w.first for w in wins.values()), min(t.year_before[0] for t in trends.values()))
    hi = max(periods)
    total_m, crime_m = _monthly(session, ids, lo, hi)

    def window_sum(matrix: np.ndarray, first: Month, last: Month) -> np.ndarray:
        a = (first.year - lo.year) * 12 + first.month - lo.month
        b = (last.year - lo.year) * 12 + last.month - lo.month
        return matrix[:, a : b + 1].sum(axis=1)

    start = incidents.first_data_day(session)
    residents, floating = population(session, ids)
    days = [wins[m].control_day for m in periods]
    if checks.has_history(session):
        factors, out = checks.control_at_days(session, ids, days, config.factor_intervals)
        control = {m: (factors, out[i]) for i, m in enumerate(periods)}
    else:
        control = {m: factor_control(session, ids, wins[m].control_day, config) for m in periods}
    result = {}
    for m in periods:
        w, t = wins[m], trends[m]
        yb_first, yb_last = t.year_before
        available = start is not None and start <= yb_first.first_day
        covered = 0
        if start is not None:
            first = max(w.first, Month.of(start))
            covered = max(0, (m.year - first.year) * 12 + m.month - first.month + 1)
        result[m] = Inputs(
            community_ids=ids,
            residents=residents,
            floating=floating,
            incidents=window_sum(total_m, w.first, w.last),
            crime=window_sum(crime_m, w.first, w.last),
            crime_recent=window_sum(crime_m, t.first, t.last),
            crime_year_before=window_sum(crime_m, yb_first, yb_last),
            factors=control[m][0],
            factors_out=control[m][1],
            trend_available=bool(available),
            months_covered=covered,
        )
    return result


def _monthly(
    session: Session, ids: list[str], first: Month, last: Month
) -> tuple[np.ndarray, np.ndarray]:
    """(all, criminal + public-order) incidents per community and month, ``first .. last``:
    int arrays of shape (len(ids), months); communities not in ``ids`` are ignored."""
    months = [str(m) for m in month_range(first, last)]
    df = incidents.by_month(
        session, Scope.district(), first, last, ["total", "crime"], by_community=True
    )
    row_of = {c: i for i, c in enumerate(ids)}
    col_of = {m: j for j, m in enumerate(months)}
    total = np.zeros((len(ids), len(months)), dtype=np.int64)
    crime = np.zeros((len(ids), len(months)), dtype=np.int64)
    for cid, month, n_all, n_crime in zip(
        df["community_id"], df["month"], df["total"], df["crime"], strict=True
    ):
        i = row_of.get(cid)
        if i is not None:
            total[i, col_of[month]] = int(n_all)
            crime[i, col_of[month]] = int(n_crime)
    return total, crime
