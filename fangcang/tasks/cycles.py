"""Dispatch cycles: which week, month or quarter a day falls in, its key and its deadline.

Keys are what the unique (template, cycle, community) constraint compares: ``2026-W48`` (ISO
week), ``2026-11`` (month), ``2026-Q4`` (quarter). Deadlines are naive local times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..models.tasks import Cycle

_KEY = re.compile(r"^(\d{4})-(?:W(\d{2})|Q([1-4])|(\d{2})(?:-(\d{2}))?)$")


@dataclass(frozen=True)
class CyclePeriod:
    """One concrete cycle: ``first`` and ``last`` are local calendar days (inclusive)."""

    cycle: Cycle
    key: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min)

    @property
    def end(self) -> datetime:
        """First instant after the cycle (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min)

    def deadline(self, deadline_days: int | None) -> datetime:
        """The last second of day ``deadline_days`` of the cycle (capped at its last day);
        ``None`` means the last day of the cycle."""
        day = self.last
        if self.cycle is Cycle.AD_HOC:
            # An ad-hoc dispatch is one day; its deadline counts from that day (default 7).
            day = self.first + timedelta(days=(deadline_days or 7) - 1)
        elif deadline_days is not None:
            day = min(self.first + timedelta(days=deadline_days - 1), self.last)
        return datetime.combine(day, time(23, 59, 59))


def period_of(cycle: Cycle | str, day: date | datetime) -> CyclePeriod:
    """The week, month or quarter containing ``day``.

    An ``ad_hoc`` "cycle" is the single day of dispatch (key ``2026-11-29``), so an ad-hoc
    template dispatched twice on one day still creates one item per community.
    """
    cycle = Cycle(cycle)
    if isinstance(day, datetime):
        day = day.date()
    if cycle is Cycle.WEEKLY:
        first = day - timedelta(days=day.weekday())
        iso = first.isocalendar()
        return CyclePeriod(cycle, f"{iso.year}-W{iso.week:02d}", first, first + timedelta(days=6))
    if cycle is Cycle.MONTHLY:
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return CyclePeriod(cycle, f"{day.year}-{day.month:02d}", first, nxt - timedelta(days=1))
    if cycle is Cycle.QUARTERLY:
        q = (day.month - 1) // 3
        first = date(day.year, 3 * q + 1, 1)
        nxt = date(day.year + 1, 1, 1) if q == 3 else date(day.year, 3 * q + 4, 1)
        return CyclePeriod(cycle, f"{day.year}-Q{q + 1}", first, nxt - timedelta(days=1))
    return CyclePeriod(cycle, day.isoformat(), day, day)


def parse_key(key: str) -> CyclePeriod:
    """The cycle a key names (``2026-W48``, ``2026-11``, ``2026-Q4``)."""
    m = _KEY.match(str(key).strip())
    if not m:
        raise ValueError(f"cycle key must look like 2026-W48, 2026-11 or 2026-Q4, got {key!r}")
    year = int(m.group(1))
    if m.group(2):
        return period_of(Cycle.WEEKLY, date.fromisocalendar(year, int(m.group(2)), 1))
    if m.group(3):
        return period_of(Cycle.QUARTERLY, date(year, 3 * int(m.group(3)) - 2, 1))
    month = int(m.group(4))
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12 in cycle key {key!r}")
    if m.group(5):
        return period_of(Cycle.AD_HOC, date(year, month, int(m.group(5))))
    return period_of(Cycle.MONTHLY, date(year, month, 1))


#: Cycles per week, for workload projection (weeks per year / cycles per year).
PER_WEEK = {
    Cycle.WEEKLY: 1.0,
    Cycle.MONTHLY: 12 / 52.0,
    Cycle.QUARTERLY: 4 / 52.0,
    Cycle.AD_HOC: 0.0,
}
