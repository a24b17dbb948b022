"""Model 2: risk relative to the district, through fixed anchors, gated by significance, with
persistence (docs/scoring.md).

For each community: incident rates over a 12-month window smoothed toward the district rate by
empirical Bayes (Poisson-gamma), expressed as ratios to the district rate; a short-term trend
against the district's own change; the share of factors out of control and of floating
residents, each as a ratio to the district's. Every ratio maps to points through fixed anchors
(ratio 1.0 -> 0 points), never through ranks. Yellow and red need a significant excess of the
crime rate (exact conditional Poisson test); a level change takes effect once it has held two
consecutive months.

Indicators are small registered pieces (``INDICATORS``): a key and a function of the ``Derived``
values returning one ratio per community.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from .. import stats
from ..access import Scope
from ..models import WarningLevel
from ..timeutil import Month
from .config import INDICATOR_KEYS, MODEL_VERSION, THRESHOLD_LEVELS, ScoringConfig, load_config
from .inputs import Inputs, Windows, community_ids, read_inputs

log = logging.getLogger(__name__)

_LEVELS = list(WarningLevel)


# ---------------------------------------------------------------------------------------------
# Empirical Bayes
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shrunk:
    """Empirical-Bayes relative risks of one count."""

    ratio: np.ndarray  # smoothed rate / district rate (1.0 where there are no residents)
    raw_ratio: np.ndarray  # observed / expected (NaN where there are no residents)
    expected: np.ndarray  # residents x district rate
    weight: np.ndarray  # credibility: share of the raw ratio kept (0 where no residents)
    prior_var: float  # between-community variance of the relative risk (>= 0)
    district_rate: float  # per resident over the window


def eb_ratio(observed: np.ndarray, residents: np.ndarray) -> Shrunk:
    """Relative risks smoothed toward the district rate (Poisson-gamma empirical Bayes).

    With O_i observed, E_i = residents_i x (sum O / sum residents) expected, r_i = O_i / E_i and
    the district mean m = sum O / sum E = 1, the moment estimator of Marshall (1991) gives the
    between-community variance ``v = max(0, sum E_i (r_i - m)^2 / sum E_i - m / mean(E))`` and
    the posterior mean of a gamma prior with that mean and variance
    ``theta_i = m + w_i (r_i - m)``, ``w_i = v / (v + m / E_i)`` (Clayton & Kaldor 1987). A
    small community (small E_i) keeps little of its raw ratio; v = 0 (no more spread than
    chance) gives every community the district rate.

    Communities without residents have no rate: ratio 1.0, weight 0 (flagged by the caller).

    References: D. Clayton, J. Kaldor (1987), Empirical Bayes estimates of age-standardized
    relative risks for use in disease mapping, Biometrics 43:671-681; R. J. Marshall (1991),
    Mapping disease and mortality rates using empirical Bayes estimators, Applied Statistics
    40:283-294.
    """
    o = np.asarray(observed, dtype=float)
    pop = np.asarray(residents, dtype=float)
    has = pop > 0
    n = len(o)
    ratio = np.ones(n)
    raw = np.full(n, np.nan)
    weight = np.zeros(n)
    expected = np.zeros(n)
    if not has.any() or o[has].sum() <= 0:
        rate = 0.0 if not has.any() else float(o[has].sum() / pop[has].sum())
        raw[has] = 1.0 if rate == 0 else raw[has]
        return Shrunk(ratio, raw, expected, weight, 0.0, rate)
    rate = float(o[has].sum() / pop[has].sum())
    e = pop[has] * rate
    r = o[has] / e
    m = 1.0  # sum O / sum E over communities with residents, by construction
    s2 = float(np.sum(e * (r - m) ** 2) / e.sum())
    v = max(0.0, s2 - m / float(e.mean()))
    w = v / (v + m / e) if v > 0 else np.zeros(len(e))
    ratio[has] = m + w * (r - m)
    raw[has] = r
    weight[has] = w
    expected[has] = e
    return Shrunk(ratio, raw, expected, weight, v, rate)


def excess_p(observed: np.ndarray, residents: np.ndarray) -> np.ndarray:
    """One-sided exact p that each community's rate exceeds the rest of the district's.

    Conditional test of two Poisson rates (``stats.poisson_p_values``, alternative "greater"):
    given O_i + O_rest, O_i is Binomial with p0 = residents_i / all residents under equal
    rates. 1.0 for a community without residents or alone in the district.
    """
    o = np.asarray(observed, dtype=np.int64)
    pop = np.asarray(residents, dtype=float)
    total_o, total_pop = int(o.sum()), float(pop.sum())
    out = np.ones(len(o))
    rest = total_pop - pop
    live = (pop > 0) & (rest > 0)
    if live.any():
        out[live] = stats.poisson_p_values(
            o[live], total_o - o[live], pop[live] / rest[live], alternative="greater"
        )
    return out


# ---------------------------------------------------------------------------------------------
# Indicators
# ---------------------------------------------------------------------------------------------
@dataclass
class Derived:
    """Per-community quantities the indicators read."""

    inputs: Inputs
    crime: Shrunk
    incidents: Shrunk
    trend_ratio: np.ndarray  # (recent / year before) / district's; NaN when not available
    trend_p: np.ndarray  # exact two-sided p against the district's change
    trend_z: np.ndarray
    trend_mark: np.ndarray  # "up", "down", "flat", "na"
    control_gap: np.ndarray  # share out of control
    floating_share: np.ndarray


@dataclass(frozen=True)
class Indicator:
    key: str
    ratio: Callable[[Derived], np.ndarray]  # the ratio mapped to points through the anchors
    counts: Callable[[Derived, np.ndarray], np.ndarray] | None = None  # points kept where True


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    out = np.zeros(len(part), dtype=float)
    has = whole > 0
    out[has] = part[has] / whole[has]
    return out


def _to_district(values: np.ndarray, district: float) -> np.ndarray:
    return values / district if district > 0 else np.ones(len(values))


def _trend_ratio(d: Derived) -> np.ndarray:
    return np.where(np.isnan(d.trend_ratio), 1.0, d.trend_ratio)


#: The indicators of model 2 (keys match the weights and anchors in scoring.toml).
INDICATORS: list[Indicator] = [
    Indicator("crime_ratio", lambda d: d.crime.ratio),
    Indicator("incident_ratio", lambda d: d.incidents.ratio),
    Indicator("trend", _trend_ratio),
    Indicator(
        "control_ratio",
        lambda d: _to_district(
            d.control_gap,
            float(d.inputs.factors_out.sum() / d.inputs.factors.sum())
            if d.inputs.factors.sum()
            else 0.0,
        ),
    ),
    Indicator(
        "floating_ratio",
        lambda d: _to_district(
            d.floating_share,
            float(d.inputs.floating.sum() / d.inputs.residents.sum())
            if d.inputs.residents.sum()
            else 0.0,
        ),
    ),
]
assert tuple(i.key for i in INDICATORS) == INDICATOR_KEYS


def points(key: str, ratio: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Points of ``ratio`` through the fixed anchors of ``key`` (linear between anchors, flat
    beyond the first and last)."""
    xs, ys = zip(*config.anchors[key], strict=True)
    return np.interp(np.asarray(ratio, dtype=float), xs, ys)


def round_score(x):
    """Round half up to one decimal (scores are >= 0); 1e-9 absorbs float noise such as
    0.25 * 50 + ... landing on 62.2499999999."""
    return np.floor(np.asarray(x, dtype=float) * 10.0 + 0.5 + 1e-9) / 10.0


def levels_of(scores: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Level rank per score (0 green, 1 blue, 2 yellow, 3 red) before the gate, vectorised."""
    out = np.zeros(np.shape(scores), dtype=np.int8)
    for lvl in reversed(THRESHOLD_LEVELS):  # blue, yellow, red: later ones overwrite
        out[np.asarray(scores) >= config.thresholds[lvl]] = lvl.rank
    return out


def gate(rank: np.ndarray, significant: np.ndarray) -> np.ndarray:
    """Yellow and red only with a significant excess; otherwise at most blue."""
    rank = np.asarray(rank)
    sig = np.asarray(significant, dtype=bool)
    if rank.ndim == 2:
        sig = sig[:, None]
    return np.where(~sig & (rank > WarningLevel.BLUE.rank), WarningLevel.BLUE.rank, rank)


def derive(inputs: Inputs, config: ScoringConfig) -> Derived:
    """EB ratios, the trend test and the shares for one month's inputs."""
    crime = eb_ratio(inputs.crime, inputs.residents)
    incidents = eb_ratio(inputs.incidents, inputs.residents)
    n = len(inputs)
    now, before = inputs.crime_recent, inputs.crime_year_before
    d_now, d_before = int(now.sum()), int(before.sum())
    ratio = np.full(n, np.nan)
    p = np.ones(n)
    z = np.zeros(n)
    mark = np.full(n, "na", dtype=object)
    if inputs.trend_available and d_now > 0 and d_before > 0:
        rho = d_now / d_before
        a, b = np.asarray(now, dtype=np.int64), np.asarray(before, dtype=np.int64)
        ratio = ((a + 0.5) / (b + 0.5)) / rho
        p, z = stats.exact_tests(a, b, rho)
        mark = np.where(p < config.trend_alpha, np.where(z > 0, "up", "down"), "flat")
        mark = mark.astype(object)
    return Derived(
        inputs=inputs,
        crime=crime,
        incidents=incidents,
        trend_ratio=ratio,
        trend_p=p,
        trend_z=z,
        trend_mark=mark,
        control_gap=_share(inputs.factors_out, inputs.factors),
        floating_share=_share(inputs.floating, inputs.residents),
    )


def point_matrix(d: Derived, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """(N x 5 ratios, N x 5 points). The trend's points count only when it is marked up or
    down (its exact test significant); otherwise 0."""
    if len(d.inputs) == 0:
        return np.zeros((0, 5)), np.zeros((0, 5))
    ratios = np.column_stack([ind.ratio(d) for ind in INDICATORS])
    pts = np.column_stack(
        [points(ind.key, ratios[:, j], config) for j, ind in enumerate(INDICATORS)]
    )
    j = INDICATOR_KEYS.index("trend")
    pts[:, j] = np.where(np.isin(d.trend_mark, ["up", "down"]), pts[:, j], 0.0)
    return ratios, pts


def _score(pts: np.ndarray, config: ScoringConfig) -> np.ndarray:
    if not len(pts):
        return np.zeros(0)
    return round_score(np.clip(pts @ np.asarray(config.weight_vector()), 0.0, 100.0))


def weight_stability(
    pts: np.ndarray, significant: np.ndarray, base_rank: np.ndarray, config: ScoringConfig
) -> np.ndarray:
    """Share of ``config.draws`` perturbed weight sets under which each community keeps its
    (gated, raw) level. Each draw multiplies every weight by U(1 - spread, 1 + spread)
    independently and divides the set by its sum."""
    if len(pts) == 0:
        return np.zeros(0)
    rng = np.random.default_rng(config.seed)
    w = np.asarray(config.weight_vector())
    draws = w[None, :] * rng.uniform(1 - config.spread, 1 + config.spread, (config.draws, len(w)))
    draws /= draws.sum(axis=1, keepdims=True)
    scores = round_score(np.clip(pts @ draws.T, 0.0, 100.0))  # N x draws
    ranks = gate(levels_of(scores, config), significant)
    return (ranks == base_rank[:, None]).mean(axis=1)


# ---------------------------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------------------------
def persist(
    raw: WarningLevel,
    score: float,
    previous_level: WarningLevel | None,
    previous_raw: WarningLevel | None,
    config: ScoringConfig,
) -> tuple[WarningLevel, str | None]:
    """The level in force and the pending change for one community.

    A change takes effect when the raw level has differed from the level in force, in the same
    direction, for ``persistence_months`` consecutive months (1: at once; 2: this month and
    last); the new level is then the one of those months nearest the old level. Exception: a
    raw red with a score >= ``immediate_red`` takes effect at once. Without a previous level
    the raw level is in force.

    Returns
    -------
    (level, pending)
        ``pending`` is "upgrade" / "downgrade" when the raw level differs from the level in
        force, else None.
    """
    if previous_level is None:
        level = raw
    elif raw == previous_level:
        level = raw
    elif raw is WarningLevel.RED and score >= config.immediate_red:
        level = raw
    elif config.persistence_months == 1:
        level = raw
    else:
        level = previous_level
        if previous_raw is not None and previous_raw != previous_level:
            up_now = raw.rank > previous_level.rank
            up_before = previous_raw.rank > previous_level.rank
            if up_now == up_before:
                level = min((previous_raw, raw), key=lambda lv: abs(lv.rank - previous_level.rank))
    pending = None
    if raw.rank > level.rank:
        pending = "upgrade"
    elif raw.rank < level.rank:
        pending = "downgrade"
    return level, pending


def _previous_levels(
    session: Session,
    period: Month,
    config: ScoringConfig,
    ids: list[str],
    inputs: Mapping[Month, Inputs] | None = None,
) -> dict[str, tuple[WarningLevel, WarningLevel]] | None:
    """{community: (level in force, raw level)} of the month before ``period``.

    From the stored run of that month when it is a model-2 run; otherwise the month is
    computed (raw levels, no persistence) and its raw level taken as its level; None when the
    month has no incident data in its window.
    """
    from . import store  # store imports this module

    prev = period.shift(-1)
    stored = store.persistence_state(session, prev)
    if stored is not None:
        return stored
    inputs = dict(inputs or {})
    if prev not in inputs or inputs[prev].community_ids != ids:
        inputs[prev] = read_inputs(session, prev, config, ids)
    if int(inputs[prev].incidents.sum()) == 0:
        return None
    df = compute(
        session, prev, config, with_stability=False, persistence=False, ids=ids, inputs=inputs
    )
    return {
        r.community_id: (WarningLevel(r.raw_level), WarningLevel(r.raw_level))
        for r in df.itertuples(index=False)
    }


# ---------------------------------------------------------------------------------------------
# compute
# ---------------------------------------------------------------------------------------------
def compute(
    session: Session,
    period: Month,
    config: ScoringConfig | None = None,
    scope: Scope | None = None,
    with_stability: bool = True,
    persistence: bool = True,
    previous: dict[str, tuple[WarningLevel, WarningLevel]] | None = None,
    ids: list[str] | None = None,
    inputs: Mapping[Month, Inputs] | None = None,
) -> pd.DataFrame:
    """Score every community of the district for one month (nothing is saved).

    Parameters
    ----------
    session : Session
    period : Month
        The assessment month M; rates over the ``config.window_months`` months ending with M.
    config : ScoringConfig, optional
        Default: ``load_config()``. Pass a modified one for a what-if.
    scope : Scope, optional
        Filters the rows returned only: district rates are always the whole district's.
    with_stability : bool
        Compute ``stability`` / ``window_stable`` / ``borderline`` (default True).
    persistence : bool
        Apply the two-month persistence rule (default True); False gives ``level = raw_level``.
    previous : dict, optional
        {community: (level in force, raw level)} of M - 1; default: the stored model-2 run of
        M - 1, else M - 1 computed on the fly (see ``_previous_levels``).
    ids : list of str, optional
        The district's community ids (default: ``community_ids``).
    inputs : mapping, optional
        {month: Inputs} already read for these ``ids`` (``read_inputs_for``: several months
        in one read); a month missing from it is read.

    Returns
    -------
    DataFrame
        One row per community (highest score first): ``community_id``; the five indicator
        ratios (``crime_ratio`` .. ``floating_ratio``), their points ``pt_<key>`` and
        contributions ``c_<key>`` (weight x points); the raw measures ``crime_rate``,
        ``incident_rate`` (per 1,000 residents over the window), ``trend_z``, ``trend_p``,
        ``trend_mark`` (up / down / flat / na), ``control_gap``, ``floating_share``;
        ``crime_raw_ratio``, ``crime_weight`` (EB credibility), ``excess_p``, ``significant``
        (excess_p < alpha); ``score``, ``raw_level`` (gated), ``level`` (in force after
        persistence), ``pending`` (upgrade / downgrade / None); the counts ``residents``,
        ``floating``, ``incidents``, ``crime_incidents``, ``crime_recent``,
        ``crime_year_before``, ``factors``, ``factors_out``; with stability ``stability``,
        ``window_stable``, ``borderline``. ``attrs``: period, window, config_hash,
        model_version, district rates, trend_available.

    Raises
    ------
    ValueError
        When ``period`` is not a Month.
    """
    if not isinstance(period, Month):
        raise ValueError(f"period must be a Month, got {period!r}")
    config = config or load_config()
    scope = scope or Scope.district()
    ids = community_ids(session) if ids is None else ids
    known = inputs or {}
    given = known.get(period)
    if given is not None and given.community_ids == ids:
        inputs = given
    else:
        inputs = read_inputs(session, period, config, ids)
    d = derive(inputs, config)
    ratios, pts = point_matrix(d, config)
    score = _score(pts, config)
    p_ex = excess_p(inputs.crime, inputs.residents)
    significant = p_ex < config.alpha
    raw_rank = gate(levels_of(score, config), significant)
    raw_levels = [_LEVELS[r] for r in raw_rank]

    if persistence:
        prev = (
            previous
            if previous is not None
            else _previous_levels(session, period, config, ids, known)
        )
    else:
        prev = None
    level, pending = [], []
    for i, cid in enumerate(ids):
        before = (prev or {}).get(cid)
        lv, pend = persist(
            raw_levels[i],
            float(score[i]),
            before[0] if before else None,
            before[1] if before else None,
            config,
        )
        level.append(lv.value)
        pending.append(pend)

    months = max(inputs.months_covered, 1)
    cols: dict[str, object] = {"community_id": ids}
    for j, key in enumerate(INDICATOR_KEYS):
        cols[key] = ratios[:, j] if len(ids) else []
    for j, key in enumerate(INDICATOR_KEYS):
        cols[f"pt_{key}"] = pts[:, j] if len(ids) else []
    for j, key in enumerate(INDICATOR_KEYS):
        cols[f"c_{key}"] = (pts[:, j] * config.weights[key]) if len(ids) else []
    per_k = np.where(inputs.residents > 0, 1000.0 / np.maximum(inputs.residents, 1), 0.0)
    cols["crime_rate"] = inputs.crime * per_k
    cols["incident_rate"] = inputs.incidents * per_k
    cols["trend_z"] = d.trend_z
    cols["trend_p"] = d.trend_p
    cols["trend_mark"] = d.trend_mark
    cols["control_gap"] = d.control_gap
    cols["floating_share"] = d.floating_share
    cols["crime_raw_ratio"] = d.crime.raw_ratio
    cols["crime_weight"] = d.crime.weight
    cols["excess_p"] = p_ex
    cols["significant"] = significant
    cols["score"] = score
    cols["raw_level"] = [lv.value for lv in raw_levels]
    cols["level"] = level
    cols["pending"] = pending
    cols["residents"] = inputs.residents
    cols["floating"] = inputs.floating
    cols["incidents"] = inputs.incidents
    cols["crime_incidents"] = inputs.crime
    cols["crime_recent"] = inputs.crime_recent
    cols["crime_year_before"] = inputs.crime_year_before
    cols["factors"] = inputs.factors
    cols["factors_out"] = inputs.factors_out
    if with_stability:
        stability = weight_stability(pts, significant, raw_rank, config)
        window_ok = np.array([p is None for p in pending], dtype=bool)
        cols["stability"] = stability
        cols["window_stable"] = window_ok
        cols["borderline"] = (stability < config.borderline) | ~window_ok
    df = pd.DataFrame(cols)

    df.attrs["period"] = str(period)
    df.attrs["window"] = (str(Windows.of(period, config.window_months).first), str(period))
    df.attrs["config_hash"] = config.hash
    df.attrs["model_version"] = MODEL_VERSION
    df.attrs["district_crime_rate"] = 1000.0 * d.crime.district_rate
    df.attrs["district_incident_rate"] = 1000.0 * d.incidents.district_rate
    df.attrs["crime_prior_var"] = d.crime.prior_var
    df.attrs["trend_available"] = inputs.trend_available
    df.attrs["months_covered"] = months
    df = df.sort_values(["score", "community_id"], ascending=[False, True], kind="stable")
    if not scope.is_district:
        df = df[df["community_id"].map(scope.allows)]
    return df.reset_index(drop=True)
