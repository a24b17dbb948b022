"""Small, tested statistics used wherever a change or an excess is reported.

Counts of incidents are treated as Poisson. Two counts are compared with the exact conditional
test: given their total ``n``, the first is Binomial(n, p0) under "same rate", with
``p0 = e1 / (e1 + e2)`` for exposures e1, e2 (Przyborowski & Wilenski 1940; see also
Krishnamoorthy & Thomson 2004, "A more powerful test for comparing two Poisson means",
J. Stat. Plan. Inference 119:23-35). Wherever a z is shown it is the normal quantile of that
exact p-value (``z = sign * Phi^-1(1 - p/2)``), so a shown z and its verdict never disagree:
``|z| >= Z_SIGNIFICANT`` exactly when ``p < ALPHA``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import binomtest, norm

#: Two-sided level at which a change is reported as unlikely to be noise.
ALPHA = 0.05
#: The |z| that corresponds to ``ALPHA`` (1.959964...).
Z_SIGNIFICANT = float(norm.isf(ALPHA / 2))


def pct_change(now: float, before: float) -> float | None:
    """Percentage change from ``before`` to ``now``; None when ``before`` is 0 (undefined)."""
    if before == 0:
        return None
    return 100.0 * (now - before) / before


def _check_counts(now: int, before: int) -> tuple[int, int]:
    if now < 0 or before < 0:
        raise ValueError(f"counts must be non-negative, got now={now}, before={before}")
    return int(now), int(before)


def _p0(exposure_ratio: float) -> float:
    if not exposure_ratio > 0 or not math.isfinite(exposure_ratio):
        raise ValueError(f"exposure_ratio must be positive, got {exposure_ratio}")
    return exposure_ratio / (1.0 + exposure_ratio)


def poisson_p_value(
    now: int, before: int, exposure_ratio: float = 1.0, alternative: str = "two-sided"
) -> float:
    """Exact conditional p-value that two Poisson counts share one rate.

    Parameters
    ----------
    now, before : int
        Non-negative counts.
    exposure_ratio : float
        exposure(now) / exposure(before) (e.g. days, residents, or the district's own change
        when a community's change is compared with the district's).
    alternative : {"two-sided", "greater", "less"}
        "greater": ``now`` is higher than the exposures imply.

    Returns
    -------
    float
        The p-value (scipy ``binomtest``: two-sided p sums the outcomes no more likely than the
        one observed); 1.0 when both counts are zero.

    Raises
    ------
    ValueError
        Negative counts, a non-positive exposure ratio or an unknown alternative.
    """
    now, before = _check_counts(now, before)
    p0 = _p0(exposure_ratio)
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")
    total = now + before
    if total == 0:
        return 1.0
    return float(binomtest(now, total, p0, alternative=alternative).pvalue)


def z_of_p(p: float, direction: int) -> float:
    """The signed normal quantile of a two-sided p-value: ``sign * Phi^-1(1 - p/2)``.

    ``direction`` is +1 (now above what the exposures imply), -1 (below) or 0 (z = 0).
    Capped at +-40 for p-values that underflow to 0.
    """
    if direction == 0 or p >= 1.0:
        return 0.0
    z = float(norm.isf(max(p, 1e-300) / 2.0))
    return math.copysign(min(z, 40.0), direction)


def exact_z(now: int, before: int, exposure_ratio: float = 1.0) -> float:
    """The z of the exact two-sided test (``z_of_p``), signed by the direction of the change."""
    now, before = _check_counts(now, before)
    p = poisson_p_value(now, before, exposure_ratio)
    expected_share = _p0(exposure_ratio)
    total = now + before
    diff = now - expected_share * total
    return z_of_p(p, (diff > 1e-12) - (diff < -1e-12))


@dataclass(frozen=True)
class Change:
    """A compared pair of counts (equal exposure unless stated)."""

    now: int
    before: int
    pct: float | None  # None when before == 0
    z: float  # normal quantile of the exact two-sided p, signed
    p_value: float
    significant: bool  # p < ALPHA (equivalently |z| >= Z_SIGNIFICANT)

    @property
    def direction(self) -> int:
        return (self.now > self.before) - (self.now < self.before)


def compare_counts(now: int, before: int, exposure_ratio: float = 1.0) -> Change:
    """Compare two counts (a period against the same period a year earlier, N months before
    against N months after) with the exact conditional test.

    ``z`` is derived from the same exact p-value (``z_of_p``), so ``significant`` is both
    ``p < ALPHA`` and ``|z| >= Z_SIGNIFICANT``.
    """
    now, before = _check_counts(now, before)
    p = poisson_p_value(now, before, exposure_ratio)
    diff = now - _p0(exposure_ratio) * (now + before)  # as exact_z, from the same p (one test)
    z = z_of_p(p, (diff > 1e-12) - (diff < -1e-12))
    return Change(
        now=now,
        before=before,
        pct=pct_change(now, before),
        z=z,
        p_value=p,
        significant=p < ALPHA,
    )
