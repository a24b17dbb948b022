"""Small, tested statistics used wherever a change is reported: year-on-year, before/after.

Counts of incidents are treated as Poisson. Two counts ``now`` and ``before`` over equal
exposure are compared with the exact conditional test (given the total, ``now`` is
Binomial(total, 1/2) under no change) and summarised by the variance-stabilised z
``2 * (sqrt(now) - sqrt(before))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import binomtest

#: |z| at or above this is reported as unlikely to be noise.
Z_SIGNIFICANT = 2.0


def poisson_z(now: float, before: float) -> float:
    """Variance-stabilised z of a Poisson count against an earlier one: 2(sqrt(now)-sqrt(before))."""
    if now < 0 or before < 0:
        raise ValueError(f"counts must be non-negative, got now={now}, before={before}")
    return 2.0 * (math.sqrt(now) - math.sqrt(before))


def pct_change(now: float, before: float) -> float | None:
    """Percentage change from ``before`` to ``now``; None when ``before`` is 0 (undefined)."""
    if before == 0:
        return None
    return 100.0 * (now - before) / before


def poisson_p_value(now: int, before: int, exposure_ratio: float = 1.0) -> float:
    """Two-sided exact p-value that two Poisson counts share one rate.

    ``exposure_ratio`` is exposure(now) / exposure(before) (e.g. days in each window).
    Returns 1.0 when both counts are zero.
    """
    now, before = int(now), int(before)
    if now < 0 or before < 0:
        raise ValueError(f"counts must be non-negative, got now={now}, before={before}")
    if exposure_ratio <= 0:
        raise ValueError(f"exposure_ratio must be positive, got {exposure_ratio}")
    total = now + before
    if total == 0:
        return 1.0
    p = exposure_ratio / (1.0 + exposure_ratio)
    return float(binomtest(now, total, p, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class Change:
    """A compared pair of counts."""

    now: int
    before: int
    pct: float | None  # None when before == 0
    z: float
    p_value: float
    significant: bool  # |z| >= 2 and p < 0.05

    @property
    def direction(self) -> int:
        return (self.now > self.before) - (self.now < self.before)


def compare_counts(now: int, before: int) -> Change:
    """Compare two counts over equal exposure (a period against the same period a year earlier,
    N months before against N months after)."""
    z = poisson_z(now, before)
    p = poisson_p_value(now, before)
    return Change(
        now=int(now),
        before=int(before),
        pct=pct_change(now, before),
        z=z,
        p_value=p,
        significant=abs(z) >= Z_SIGNIFICANT and p < 0.05,
    )
