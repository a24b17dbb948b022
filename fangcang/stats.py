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

import numpy as np
from scipy.stats import binom, binomtest, norm

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


def poisson_p_values(now, before, exposure_ratio=1.0, alternative: str = "two-sided"):
    """``poisson_p_value`` for arrays of counts, element by element, in a few vector calls.

    The same binomial terms (scipy ``binom``) and, for the two-sided p, the same search for
    the other tail with the same relative tolerance as scipy's ``binomtest``, vectorised: every
    value equals the scalar function's exactly (tests compare them), at about a hundredth of
    the cost for a district's communities.

    Parameters
    ----------
    now, before : array-like of int, one shape
        Non-negative counts.
    exposure_ratio : float or array-like of float (broadcast to that shape)
        Positive, finite.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    numpy.ndarray of float, the shape of ``now``; 1.0 where both counts are zero.

    Raises
    ------
    ValueError
        As ``poisson_p_value``.
    """
    k = np.asarray(now, dtype=np.int64)
    before = np.asarray(before, dtype=np.int64)
    if k.shape != before.shape:
        raise ValueError(f"now and before differ in shape: {k.shape} and {before.shape}")
    if (k < 0).any() or (before < 0).any():
        raise ValueError("counts must be non-negative")
    ratio = np.broadcast_to(np.asarray(exposure_ratio, dtype=float), k.shape)
    if not (np.isfinite(ratio) & (ratio > 0)).all():
        raise ValueError(f"exposure_ratio must be positive, got {exposure_ratio}")
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")
    out = np.ones(k.shape)
    live = (k + before) > 0
    k, n, p = k[live], (k + before)[live], (ratio / (1.0 + ratio))[live]
    if alternative == "less":
        out[live] = binom.cdf(k, n, p)
    elif alternative == "greater":
        out[live] = binom.sf(k - 1, n, p)
    else:
        out[live] = _two_sided(k, n, p)
    return out


def _two_sided(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """scipy ``binomtest`` (two-sided) for arrays: the outcomes no more likely than ``k``."""
    d = binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    pn = p * n
    pval = np.ones(len(k))
    low = k < pn  # the other tail lies above the mode
    if low.any():
        i = np.flatnonzero(low)
        ix = _search(-d[i] * rerr, np.ceil(pn[i]), n[i].astype(float), n[i], p[i], -1.0)
        y = n[i] - ix + (d[i] * rerr == binom.pmf(ix, n[i], p[i]))
        pval[i] = binom.cdf(k[i], n[i], p[i]) + binom.sf(n[i] - y, n[i], p[i])
    high = k > pn  # (k == p n: 1.0)
    if high.any():
        i = np.flatnonzero(high)
        ix = _search(d[i] * rerr, np.zeros(len(i)), np.floor(pn[i]), n[i], p[i], 1.0)
        pval[i] = binom.cdf(ix, n[i], p[i]) + binom.sf(k[i] - 1, n[i], p[i])
    return np.minimum(1.0, pval)


def _search(d, lo, hi, n, p, sign: float) -> np.ndarray:
    """scipy's ``_binary_search_for_binom_tst`` on ``a(x) = sign * pmf(x; n, p)``, element
    by element: the last x in [lo, hi] with a(x) <= d (lo - 1 when none)."""
    lo, hi = lo.astype(float), hi.astype(float)
    done = np.full(len(lo), np.nan)
    active = lo < hi
    while active.any():
        i = np.flatnonzero(active)
        mid = lo[i] + (hi[i] - lo[i]) // 2
        val = sign * binom.pmf(mid, n[i], p[i])
        below, above = val < d[i], val > d[i]
        lo[i[below]] = mid[below] + 1
        hi[i[above]] = mid[above] - 1
        hit = ~below & ~above
        done[i[hit]] = mid[hit]
        active[i[hit]] = False
        active &= lo < hi
    rest = np.isnan(done)
    at_lo = sign * binom.pmf(lo[rest], n[rest], p[rest])
    done[rest] = np.where(at_lo <= d[rest], lo[rest], lo[rest] - 1)
    return done


def exact_tests(now, before, exposure_ratio=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(two-sided p, z) of each pair of counts: ``poisson_p_values`` and, from the same p,
    the z of ``exact_z``, element by element (equal to the scalar functions exactly)."""
    now = np.asarray(now, dtype=np.int64)
    before = np.asarray(before, dtype=np.int64)
    p = poisson_p_values(now, before, exposure_ratio)
    share = np.broadcast_to(np.asarray(exposure_ratio, dtype=float), now.shape)
    share = share / (1.0 + share)
    diff = now - share * (now + before)
    direction = (diff > 1e-12).astype(int) - (diff < -1e-12)
    z = np.zeros(p.shape)
    live = (direction != 0) & (p < 1.0)
    mag = np.minimum(norm.isf(np.maximum(p[live], 1e-300) / 2.0), 40.0)
    z[live] = np.copysign(mag, direction[live])
    return p, z


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


def compare_many(now, before, exposure_ratio: float = 1.0) -> list[Change]:
    """``compare_counts`` of each pair ``(now[i], before[i])``, the exact tests of all pairs in
    one vectorised call (``exact_tests``: every p and z equal to the scalar test's; a page's
    ten headline comparisons cost one call instead of ten ``binomtest`` runs).

    Raises
    ------
    ValueError
        Negative counts, counts of different lengths or a non-positive exposure ratio.
    """
    now = [int(n) for n in now]
    before = [int(b) for b in before]
    if len(now) != len(before):
        raise ValueError(f"now and before differ in length: {len(now)} and {len(before)}")
    if not now:
        return []
    p, z = exact_tests(now, before, exposure_ratio)
    return [
        Change(now=n, before=b, pct=pct_change(n, b), z=z_i, p_value=p_i, significant=p_i < ALPHA)
        for n, b, p_i, z_i in zip(now, before, p.tolist(), z.tolist(), strict=True)
    ]
