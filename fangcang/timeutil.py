"""Local time (Asia/Shanghai) and calendar months.

All times in the database are naive local times in Asia/Shanghai; months and years are local
calendar months and years. A "period" is written ``YYYY-MM``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .config import TIMEZONE

TZ = ZoneInfo(TIMEZONE)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def now_local() -> datetime:
    """The current local time as a naive datetime (how times are stored)."""
    return datetime.now(TZ).replace(tzinfo=None)


def from_timestamp(seconds: float) -> datetime:
    """A POSIX timestamp (a file's modification time, a log record's) as naive local time.

    ``datetime.fromtimestamp`` without a zone gives the server's zone (UTC on most servers):
    8 hours early, the previous day before 08:00 local.
    """
    return datetime.fromtimestamp(seconds, TZ).replace(tzinfo=None)


def to_local_naive(value: datetime) -> datetime:
    """Convert an aware datetime to naive local time; naive values are taken as local already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(TZ).replace(tzinfo=None)


@dataclass(frozen=True, order=True)
class Month:
    """A local calendar month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raise ``ValueError`` naming the bad text otherwise."""
        m = _PERIOD.match(str(text).strip())
        if not m:
            raise ValueError(f"period must look like YYYY-MM, got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, value: date | datetime) -> Month:
        return cls(value.year, value.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.shift(1).first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """First instant of the month (inclusive), naive local."""
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """First instant of the next month (exclusive), naive local."""
        return self.shift(1).start


def last_complete_month(today: date | None = None) -> Month:
    """The last month that has fully ended in local time."""
    today = today or now_local().date()
    return Month(today.year, today.month).shift(-1)


def month_range(first: Month, last: Month) -> list[Month]:
    """All months from ``first`` to ``last`` inclusive."""
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    out, m = [], first
    while m <= last:
        out.append(m)
        m = m.shift(1)
    return out


def window(end: Month, length: int) -> tuple[Month, Month]:
    """The ``length`` calendar months ending with ``end``: (first, last)."""
    if length < 1:
        raise ValueError(f"window length must be at least 1 month, got {length}")
    return end.shift(-(length - 1)), end
