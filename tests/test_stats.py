"""fangcang.stats: the vectorised exact tests equal the scalar ones value for value."""

from __future__ import annotations

import numpy as np
import pytest

from fangcang import stats


def _pairs():
    rng = np.random.default_rng(7)
    now = np.concatenate([rng.integers(0, 25, 400), rng.integers(0, 4000, 200)])
    before = np.concatenate([rng.integers(0, 25, 400), rng.integers(0, 4000, 200)])
    ratio = rng.uniform(0.05, 4.0, len(now))
    # Edges: both zero, one zero, k exactly at p n (p-value 1), tiny p-values.
    now = np.concatenate([now, [0, 0, 6, 10, 1, 3000, 0]])
    before = np.concatenate([before, [0, 4, 0, 10, 3, 10, 3000]])
    ratio = np.concatenate([ratio, [1.0, 1.0, 1.0, 1.0, 1 / 3, 1.0, 1.0]])
    return now, before, ratio


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_vector_p_values_equal_the_scalar_test(alternative):
    now, before, ratio = _pairs()
    vec = stats.poisson_p_values(now, before, ratio, alternative)
    one = [
        stats.poisson_p_value(int(a), int(b), float(r), alternative)
        for a, b, r in zip(now, before, ratio, strict=True)
    ]
    assert vec.tolist() == one  # exactly, not approximately
    # A scalar exposure ratio is broadcast.
    assert stats.poisson_p_values(now[:50], before[:50], 1.5, alternative).tolist() == [
        stats.poisson_p_value(int(a), int(b), 1.5, alternative)
        for a, b in zip(now[:50], before[:50], strict=True)
    ]


def test_exact_tests_equal_p_and_z_of_the_scalar_functions():
    now, before, ratio = _pairs()
    p, z = stats.exact_tests(now, before, ratio)
    pairs = list(zip(now.tolist(), before.tolist(), ratio.tolist(), strict=True))
    assert p.tolist() == [stats.poisson_p_value(a, b, r) for a, b, r in pairs]
    assert z.tolist() == [stats.exact_z(a, b, r) for a, b, r in pairs]
    p, z = stats.exact_tests(np.array([], dtype=int), np.array([], dtype=int), 1.0)
    assert p.shape == z.shape == (0,)


def test_vector_p_values_reject_what_the_scalar_rejects():
    with pytest.raises(ValueError, match="non-negative"):
        stats.poisson_p_values([1, -1], [2, 2])
    with pytest.raises(ValueError, match="exposure_ratio"):
        stats.poisson_p_values([1, 1], [2, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="alternative"):
        stats.poisson_p_values([1], [2], 1.0, "bigger")
    with pytest.raises(ValueError, match="shape"):
        stats.poisson_p_values([1, 2], [2])


def test_compare_many_equals_compare_counts_pair_by_pair():
    now, before, _ = _pairs()
    got = stats.compare_many(now[:300], before[:300])
    assert got == [
        stats.compare_counts(int(a), int(b)) for a, b in zip(now[:300], before[:300], strict=True)
    ]  # every field exactly (frozen dataclasses compare field by field)
    assert stats.compare_many([12, 0], [4, 0], 0.5) == [
        stats.compare_counts(12, 4, 0.5),
        stats.compare_counts(0, 0, 0.5),
    ]
    assert stats.compare_many([], []) == []
    with pytest.raises(ValueError, match="length"):
        stats.compare_many([1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        stats.compare_many([-1], [1])
