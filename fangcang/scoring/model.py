"""The default model: indicators, district-wide percentiles, score, level, stability, significance.

Indicators are small registered pieces (``INDICATORS``) sharing one interface: a key and a
function of the ``Inputs`` counts returning one raw value per community (higher = worse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sqlalchemy.orm import Session

from .. import stats
from ..access import Scope
from ..models import WarningLevel
from ..timeutil import Month
from .config import INDICATOR_KEYS, THRESHOLD_LEVELS, ScoringConfig, load_config
from .inputs import Inputs, Windows, community_ids, incident_counts, read_inputs


@dataclass(frozen=True)
class Indicator:
    key: str
    compute: Callable[[Inputs], np.ndarray]


def _per_thousand(count: np.ndarray, residents: np.ndarray) -> np.ndarray:
    # A community with no residents gets a rate of 0 (flagged in its explanation).
    out = np.zeros(len(count), dtype=float)
    has = residents > 0
    out[has] = 1000.0 * count[has] / residents[has]
    return out


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    out = np.zeros(len(part), dtype=float)
    has = whole > 0
    out[has] = part[has] / whole[has]
    return out


def poisson_trend(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``fangcang.stats.poisson_z`` for each community: 2 (sqrt(now) - sqrt(before))."""
    return np.array([stats.poisson_z(float(a), float(b)) for a, b in zip(now, before, strict=True)])


#: The indicators of the default model (keys match the weights in scoring.toml).
INDICATORS: list[Indicator] = [
    Indicator("incident_rate", lambda x: _per_thousand(x.incidents, x.residents)),
    Indicator("crime_rate", lambda x: _per_thousand(x.crime, x.residents)),
    Indicator("incident_trend", lambda x: poisson_trend(x.incidents, x.incidents_year_before)),
    Indicator("control_gap", lambda x: _share(x.factors_out, x.factors)),
    Indicator("floating_share", lambda x: _share(x.floating, x.residents)),
]
assert tuple(i.key for i in INDICATORS) == INDICATOR_KEYS


def percentiles(values: np.ndarray) -> np.ndarray:
    """p = 100 (r - 1) / (N - 1) with r the ascending rank, ties averaged; 50 when N = 1."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.array([50.0])
    return 100.0 * (rankdata(values, method="average") - 1.0) / (n - 1)


def round_score(x):
    """Round half up to one decimal (scores are >= 0); 1e-9 absorbs float noise such as
    0.25 * 50 + ... landing on 62.2499999999."""
    return np.floor(np.asarray(x, dtype=float) * 10.0 + 0.5 + 1e-9) / 10.0


def levels_of(scores: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Level rank per score (0 green, 1 blue, 2 yellow, 3 red), vectorised."""
    out = np.zeros(np.shape(scores), dtype=np.int8)
    for lvl in reversed(THRESHOLD_LEVELS):  # blue, yellow, red: later ones overwrite
        out[np.asarray(scores) >= config.thresholds[lvl]] = lvl.rank
    return out


_LEVELS = list(WarningLevel)


def raw_matrix(inputs: Inputs) -> np.ndarray:
    """N x 5 raw indicator values."""
    return (
        np.column_stack([ind.compute(inputs) for ind in INDICATORS])
        if len(inputs)
        else np.zeros((0, 5))
    )


def percentile_matrix(raw: np.ndarray) -> np.ndarray:
    return (
        np.column_stack([percentiles(raw[:, j]) for j in range(raw.shape[1])]) if len(raw) else raw
    )


def weight_stability(p: np.ndarray, base_rank: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Share of ``config.draws`` perturbed weight sets under which each community keeps its level.

    Each draw multiplies every weight by U(1 - spread, 1 + spread) independently and divides the
    set by its sum (so it sums to 1 again); scores are rounded and levelled as usual.
    """
    if len(p) == 0:
        return np.zeros(0)
    rng = np.random.default_rng(config.seed)
    w = np.asarray(config.weight_vector())
    draws = w[None, :] * rng.uniform(1 - config.spread, 1 + config.spread, (config.draws, len(w)))
    draws /= draws.sum(axis=1, keepdims=True)
    scores = round_score(p @ draws.T)  # N x draws
    return (levels_of(scores, config) == base_rank[:, None]).mean(axis=1)


def _score(p: np.ndarray, config: ScoringConfig) -> np.ndarray:
    return round_score(p @ np.asarray(config.weight_vector())) if len(p) else np.zeros(0)


def compute(
    session: Session,
    period: Month,
    config: ScoringConfig | None = None,
    scope: Scope | None = None,
    with_stability: bool = True,
) -> pd.DataFrame:
    """Score every community of the district for one month (nothing is saved).

    Parameters
    ----------
    session : Session
    period : Month
        The assessment month M; the window is the ``config.window_months`` months ending with M.
    config : ScoringConfig, optional
        Default: ``load_config()``. Pass a modified one for a what-if.
    scope : Scope, optional
        Filters the rows returned only: percentiles always rank all of the district's
        communities. Default: the whole district.
    with_stability : bool
        Compute ``stability`` / ``window_stable`` / ``borderline`` (default True).

    Returns
    -------
    DataFrame
        One row per community (sorted by score, highest first) with ``community_id``, the five
        raw indicators, ``p_<indicator>`` percentiles, ``c_<indicator>`` contributions
        (weight x percentile), ``score``, ``level`` (the WarningLevel value, ``green`` ..
        ``red``), ``stability``, ``window_stable``, ``borderline``, ``significant`` and the
        counts behind them
        (``residents``, ``floating``, ``incidents``, ``crime_incidents``,
        ``incidents_year_before``, ``factors``, ``factors_out``).
    """
    if not isinstance(period, Month):
        raise ValueError(f"period must be a Month, got {period!r}")
    config = config or load_config()
    scope = scope or Scope.district()
    ids = community_ids(session)
    inputs = read_inputs(session, period, config, ids)
    raw = raw_matrix(inputs)
    p = percentile_matrix(raw)
    score = _score(p, config)
    rank = levels_of(score, config)

    cols: dict[str, object] = {"community_id": ids}
    for j, key in enumerate(INDICATOR_KEYS):
        cols[key] = raw[:, j]
    for j, key in enumerate(INDICATOR_KEYS):
        cols[f"p_{key}"] = p[:, j]
    for j, key in enumerate(INDICATOR_KEYS):
        cols[f"c_{key}"] = p[:, j] * config.weights[key]
    cols["score"] = score
    cols["level"] = [_LEVELS[r].value for r in rank]
    cols["significant"] = (
        np.abs(raw[:, INDICATOR_KEYS.index("incident_trend")]) >= stats.Z_SIGNIFICANT
    )
    cols["residents"] = inputs.residents
    cols["floating"] = inputs.floating
    cols["incidents"] = inputs.incidents
    cols["crime_incidents"] = inputs.crime
    cols["incidents_year_before"] = inputs.incidents_year_before
    cols["factors"] = inputs.factors
    cols["factors_out"] = inputs.factors_out
    if with_stability:
        stability = weight_stability(p, rank, config)
        window_ok = _window_stable(session, period, config, ids, inputs, rank)
        cols["stability"] = stability
        cols["window_stable"] = window_ok
        cols["borderline"] = (stability < config.borderline) | ~window_ok
    df = pd.DataFrame(cols)

    df.attrs["period"] = str(period)
    df.attrs["window"] = (str(Windows.of(period, config.window_months).first), str(period))
    df.attrs["config_hash"] = config.hash
    df = df.sort_values(["score", "community_id"], ascending=[False, True], kind="stable")
    if not scope.is_district:
        df = df[df["community_id"].map(scope.allows)]
    return df.reset_index(drop=True)


def _window_stable(
    session: Session,
    period: Month,
    config: ScoringConfig,
    ids: list[str],
    inputs: Inputs,
    base_rank: np.ndarray,
) -> np.ndarray:
    """Whether each level holds when the incident window ends one month earlier.

    The three incident indicators are recomputed for the window ending with M - 1 (and its
    year-before window); control gap and floating share stay as at M.
    """
    if len(ids) == 0:
        return np.zeros(0, dtype=bool)
    w = Windows.of(period.shift(-1), config.window_months)
    incidents, crime = incident_counts(session, ids, w.first, w.last)
    yb_first, yb_last = w.year_before
    before, _ = incident_counts(session, ids, yb_first, yb_last)
    shifted = Inputs(
        community_ids=ids,
        residents=inputs.residents,
        floating=inputs.floating,
        incidents=incidents,
        crime=crime,
        incidents_year_before=before,
        factors=inputs.factors,
        factors_out=inputs.factors_out,
    )
    p = percentile_matrix(raw_matrix(shifted))
    return levels_of(_score(p, config), config) == base_rank
