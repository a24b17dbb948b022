"""Back-test: did the warning score foresee next quarter's crime better than plain baselines?

For each assessment month M (docs/scoring.md, "Back-test"):

- the **model** scores every community with data up to M (``model.compute``);
- the **targets** are each community's criminal + public-order incidents in M+1 .. M+3, as a
  count and as a rate per 1,000 residents;
- the **baselines** are the last 12 months' count (M-11 .. M; for the count target) and the
  plain 12-month rate per 1,000 residents (for the rate target);
- the figures are Spearman's rho between each ranking and each target, and the predictive
  accuracy index PAI (Chainey, Tompson & Uhlig 2008) of the top-ranked communities covering a
  fixed share of the district's area (``SHARE``), plus a population-weighted PAI (the same
  with residents in place of area);
- months whose inputs are incomplete are left out and named (``Exclusion``);
- ``summary`` gives the means over the months kept, the months the model wins, and 95%
  moving-block bootstrap intervals over months (Kuensch 1989) for the means and the
  model - baseline differences.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import db, geo
from ..incidents import data_span
from ..models import BacktestMethod, Community, WarningBacktest
from ..timeutil import Month, now_local
from .config import ScoringConfig, load_config
from .inputs import Inputs, population
from .model import compute
from .monthly import crime_by_month, months_without_data

#: CGCS2000 / 3-degree Gauss-Kruger CM 120E: metric areas around Wenzhou.
AREA_CRS = "EPSG:4549"
#: PAI is read at this share of the district's area (and of its residents for the
#: population-weighted PAI): about the area a district can patrol with extra attention.
SHARE = 0.10
#: Months of history behind each baseline; also the months that must be in the data before M.
BASELINE_MONTHS = 12
#: Months ahead that make the target (next quarter).
HORIZON = 3
#: Moving-block bootstrap: block length (months; the targets of consecutive months overlap by
#: up to two months), resamples and seed.
BLOCK = 3
DRAWS = 2000
SEED = 20261


class Exclusion(enum.StrEnum):
    """Why a month is left out of the back-test."""

    WINDOW_INCOMPLETE = "window_incomplete"  # M-11 .. M not all complete months of data
    GAP = "gap"  # a month in M-11 .. M+3 without any incident on file (a missing import)
    NO_RESIDENTS = "no_residents"  # no community has residents: no rates


METHODS: tuple[BacktestMethod, ...] = tuple(BacktestMethod)
FIGURES: tuple[str, ...] = ("rho_count", "rho_rate", "pai", "pai_pop")

#: One row per assessment month: ``<figure>_<method>`` for every figure and method.
COLUMNS = [
    "period",
    "excluded",
    "n_communities",
    "next_crime",
    *[f"{f}_{m.value}" for f in FIGURES for m in METHODS],
]

#: The comparisons shown: (key, figure, baseline method). The model is always the challenger.
COMPARISONS: tuple[tuple[str, str, BacktestMethod], ...] = (
    ("rho_count", "rho_count", BacktestMethod.LAST_COUNT),
    ("rho_rate", "rho_rate", BacktestMethod.RATE_12M),
    ("pai_count", "pai", BacktestMethod.LAST_COUNT),
    ("pai_rate", "pai", BacktestMethod.RATE_12M),
    ("pai_pop_count", "pai_pop", BacktestMethod.LAST_COUNT),
    ("pai_pop_rate", "pai_pop", BacktestMethod.RATE_12M),
)


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def community_areas(session: Session, ids: list[str]) -> np.ndarray:
    """Area of each community's polygon in km² (``geo.communities_frame`` projected to
    EPSG:4549), aligned with ``ids``; 0 for a community without a polygon."""
    frame = geo.communities_frame(session).set_index("community_id")
    km2 = frame.geometry.to_crs(AREA_CRS).area / 1e6
    return km2.reindex(list(ids)).fillna(0.0).to_numpy(dtype=float)


def spearman(a, b) -> float | None:
    """Spearman's rho (ties averaged); None when undefined (fewer than 3 values or a constant
    input)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    return float(spearmanr(a, b).statistic)


def pai_at_share(rank_by, hits, weights, share: float = SHARE) -> tuple[float | None, float | None]:
    """Hit share and PAI of the top-ranked places covering exactly ``share`` of the weight.

    PAI = (n / N) / (a / A) (Chainey, Tompson & Uhlig 2008): n of the N incidents fall in the
    selected places, which cover a of the total area A. Here a / A is fixed at ``share``:
    places are taken in descending ``rank_by`` order (ties: the earlier position first) until
    their weights reach ``share`` of the total; the place that crosses the line counts with
    the fraction of its weight needed (and that fraction of its incidents: incidents spread
    evenly inside it). Places with weight 0 (no polygon, no residents) are left out of N and A.

    Parameters
    ----------
    rank_by, hits, weights : array-like, equal length
        Ranking score (higher = predicted worse), incidents in the target period, and area
        (km²) or residents.
    share : float
        In (0, 1].

    Returns
    -------
    (hit_share, pai) : floats, or (None, None) when there are no incidents or no weight.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be within (0, 1], got {share!r}")
    rank_by = np.asarray(rank_by, dtype=float)
    hits = np.asarray(hits, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if not (len(rank_by) == len(hits) == len(weights)):
        raise ValueError("rank_by, hits and weights must have the same length")
    keep = weights > 0
    rank_by, hits, weights = rank_by[keep], hits[keep], weights[keep]
    total_hits, total_weight = hits.sum(), weights.sum()
    if total_hits <= 0 or total_weight <= 0:
        return None, None
    order = np.argsort(-rank_by, kind="stable")
    budget = share * total_weight
    caught = 0.0
    for i in order:
        if budget <= 0:
            break
        take = min(1.0, budget / weights[i])
        caught += take * hits[i]
        budget -= take * weights[i]
    hit_share = float(caught / total_hits)
    return hit_share, hit_share / share


def _rates(counts: np.ndarray, residents: np.ndarray) -> np.ndarray:
    out = np.full(len(counts), np.nan)
    has = residents > 0
    out[has] = 1000.0 * counts[has] / residents[has]
    return out


def month_figures(
    score: np.ndarray,
    last12: np.ndarray,
    next_q: np.ndarray,
    residents: np.ndarray,
    areas: np.ndarray,
    share: float = SHARE,
) -> dict[str, float | None]:
    """Every figure of one month for every method (``<figure>_<method>`` keys).

    Parameters
    ----------
    score : the model's score per community at M (higher = worse).
    last12 : criminal + public-order incidents in M-11 .. M.
    next_q : the same in M+1 .. M+3.
    residents, areas : per community (areas in km²).

    Rates are per 1,000 residents; communities without residents have no rate and are left out
    of the rate correlations and of the population-weighted PAI (their incidents would cost
    no residents). The rate baseline ranks them last for the area PAI.
    """
    rate12 = _rates(last12, residents)
    next_rate = _rates(next_q, residents)
    rankings = {
        BacktestMethod.MODEL: np.asarray(score, dtype=float),
        BacktestMethod.LAST_COUNT: np.asarray(last12, dtype=float),
        BacktestMethod.RATE_12M: np.nan_to_num(rate12, nan=-np.inf),
    }
    has_rate = residents > 0
    out: dict[str, float | None] = {}
    for method, rank in rankings.items():
        m = method.value
        out[f"rho_count_{m}"] = spearman(rank, next_q)
        out[f"rho_rate_{m}"] = spearman(rank[has_rate], next_rate[has_rate])
        out[f"pai_{m}"] = pai_at_share(rank, next_q, areas, share)[1]
        out[f"pai_pop_{m}"] = pai_at_share(rank, next_q, residents, share)[1]
    return out


# ---------------------------------------------------------------------------------------------
# The back-test
# ---------------------------------------------------------------------------------------------
def _scores(
    session: Session,
    period: Month,
    config: ScoringConfig,
    ids: list[str],
    inputs: Mapping[Month, Inputs] | None = None,
) -> np.ndarray:
    # Stability and the persistence of levels do not change the score the ranking uses.
    df = compute(
        session, period, config=config, with_stability=False, persistence=False, inputs=inputs
    )
    by_id = dict(zip(df["community_id"], df["score"], strict=True))
    return np.array([float(by_id.get(c, np.nan)) for c in ids])


def candidate_months(until: Month, months: int) -> list[Month]:
    """The ``months`` assessment months whose next quarter ends with ``until`` at the latest,
    oldest first."""
    last = until.shift(-HORIZON)
    return [last.shift(-i) for i in reversed(range(months))]


def backtest(
    session: Session,
    months: int = 12,
    config: ScoringConfig | None = None,
    until: Month | None = None,
    store: bool = False,
    share: float = SHARE,
    inputs: Mapping[Month, Inputs] | None = None,
) -> pd.DataFrame:
    """Back-test the last ``months`` assessment months whose next quarter is in the data.

    Parameters
    ----------
    months : int
        How many assessment months (1..60).
    config : ScoringConfig, optional
        The model's configuration (default ``load_config()``).
    until : Month, optional
        The last month of data to use (default, and at most: the last complete month of
        incident data); the last assessment month is ``until - 3``.
    store : bool
        Also keep the rows in ``warning_backtest`` (replacing earlier rows for the same month
        and configuration); the caller commits.
    share : float
        Share of area / residents at which PAI is read (default ``SHARE``).
    inputs : mapping, optional
        {month: Inputs} read beforehand for the district's communities
        (``inputs.read_inputs_for``); months missing from it are read (see ``compute``).

    Returns
    -------
    DataFrame
        ``COLUMNS``, oldest month first; ``excluded`` is an ``Exclusion`` value (and the figures
        NaN) for a month left out. Empty when there is no incident data. ``attrs["share"]``.
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 60:
        raise ValueError(f"months must be an integer 1..60, got {months!r}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be within (0, 1], got {share!r}")
    config = config or load_config()
    span = data_span(session)
    if span is None:
        df = pd.DataFrame(columns=COLUMNS)
        df.attrs["share"] = share
        return df
    first_data, last_data = span
    until = min(until, last_data) if until is not None else last_data
    periods = candidate_months(until, months)
    ids = sorted(session.scalars(select(Community.community_id)))
    areas = community_areas(session, ids)
    residents, _ = population(session, ids)
    lo = periods[0].shift(-(BASELINE_MONTHS - 1))
    hi = periods[-1].shift(HORIZON)
    counts = crime_by_month(session, ids, lo, hi)  # N x months lo..hi
    missing = set(months_without_data(session, lo, hi))

    def col(m: Month) -> int:
        return (m.year - lo.year) * 12 + (m.month - lo.month)

    rows = []
    for m in periods:
        a, b, c = col(m.shift(-(BASELINE_MONTHS - 1))), col(m), col(m.shift(HORIZON))
        reason = None
        if m.shift(-(BASELINE_MONTHS - 1)) < first_data:
            reason = Exclusion.WINDOW_INCOMPLETE
        elif any(m.shift(k) in missing for k in range(-(BASELINE_MONTHS - 1), HORIZON + 1)):
            reason = Exclusion.GAP
        elif residents.sum() == 0:
            reason = Exclusion.NO_RESIDENTS
        last12 = counts[:, a : b + 1].sum(axis=1)
        next_q = counts[:, b + 1 : c + 1].sum(axis=1)
        row = {
            "period": str(m),
            "excluded": reason.value if reason else None,
            "n_communities": len(ids),
            "next_crime": int(next_q.sum()),
        }
        if reason is None:
            row.update(
                month_figures(
                    _scores(session, m, config, ids, inputs),
                    last12,
                    next_q,
                    residents,
                    areas,
                    share,
                )
            )
        rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["share"] = share
    if store:
        save(session, df, config)
    return df


# ---------------------------------------------------------------------------------------------
# Stored rows
# ---------------------------------------------------------------------------------------------
def _none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def save(session: Session, df: pd.DataFrame, config: ScoringConfig) -> None:
    """Keep back-test rows: one per month, configuration and method (newer replace older)."""
    if df.empty:
        return
    session.execute(
        delete(WarningBacktest).where(
            WarningBacktest.period.in_(df["period"].tolist()),
            WarningBacktest.config_hash == config.hash,
        )
    )
    version = db.data_version(session)
    now = now_local()
    share = float(df.attrs.get("share", SHARE))
    for r in df.to_dict("records"):
        for method in METHODS:
            session.add(
                WarningBacktest(
                    period=r["period"],
                    config_hash=config.hash,
                    method=method,
                    computed_at=now,
                    data_version=version,
                    share=share,
                    excluded=_none(
                        r["excluded"]
                    ),  # NaN would be stored as "NaN" text on PostgreSQL
                    n_communities=int(r["n_communities"]),
                    next_crime=int(r["next_crime"]),
                    **{f: _none(r.get(f"{f}_{method.value}")) for f in FIGURES},
                )
            )
    session.flush()


def stored_backtest(session: Session, config: ScoringConfig | None = None) -> pd.DataFrame:
    """The kept back-test of ``config`` (default: the current configuration) in the shape
    ``backtest`` returns, oldest month first (``attrs["share"]`` as stored)."""
    config = config or load_config()
    rows = session.scalars(
        select(WarningBacktest)
        .where(WarningBacktest.config_hash == config.hash)
        .order_by(WarningBacktest.period)
    ).all()
    by_period: dict[str, dict] = {}
    share = SHARE
    for r in rows:
        share = r.share
        rec = by_period.setdefault(
            r.period,
            {
                "period": r.period,
                "excluded": r.excluded,
                "n_communities": r.n_communities,
                "next_crime": r.next_crime,
            },
        )
        method = BacktestMethod(r.method).value
        for f in FIGURES:
            rec[f"{f}_{method}"] = getattr(r, f)
    df = pd.DataFrame(list(by_period.values()), columns=COLUMNS)
    for c in COLUMNS[4:]:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df.attrs["share"] = share
    return df


# ---------------------------------------------------------------------------------------------
# Summary with intervals
# ---------------------------------------------------------------------------------------------
def block_bootstrap_interval(
    values,
    block: int = BLOCK,
    draws: int = DRAWS,
    seed: int = SEED,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """Percentile interval of the mean of a monthly series by the moving-block bootstrap
    (Kuensch 1989): each resample joins ceil(n / block) blocks of ``block`` consecutive months
    drawn with replacement from the n - block + 1 possible blocks, cut to n months. Blocks keep
    the dependence of neighbouring months (their next quarters overlap). With fewer than 2
    values there is no interval (None, None); with n <= block the blocks shrink to 1 month
    (the plain bootstrap)."""
    x = np.asarray([v for v in values if v is not None and not np.isnan(v)], dtype=float)
    n = len(x)
    if n < 2:
        return None, None
    b = block if n > block else 1
    starts = np.arange(n - b + 1)
    k = math.ceil(n / b)
    rng = np.random.default_rng(seed)
    picks = rng.choice(starts, size=(draws, k))
    idx = (picks[:, :, None] + np.arange(b)[None, None, :]).reshape(draws, k * b)[:, :n]
    means = x[idx].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def stored_summary(session: Session) -> tuple[pd.DataFrame, dict]:
    """The kept back-test of the current configuration and its ``summary`` (what the warning
    page shows): ``(stored_backtest(session), summary(...))``, one call for the UI cache."""
    df = stored_backtest(session)
    return df, summary(df)


def summary(df: pd.DataFrame, draws: int = DRAWS, block: int = BLOCK, seed: int = SEED) -> dict:
    """Means, wins and bootstrap intervals over the months kept.

    Returns
    -------
    dict
        ``months`` (kept), ``excluded`` (list of (period, reason)), ``share``, and
        ``comparisons``: one dict per ``COMPARISONS`` entry with ``key``, ``figure``,
        ``baseline`` (method), ``n`` (months where both are defined), ``model`` / ``base`` /
        ``diff`` means and their ``*_low`` / ``*_high`` 95% intervals, and ``wins`` (months the
        model is strictly better), ``ties``.
    """
    kept = df[df["excluded"].isna()] if len(df) else df
    out = {
        "months": len(kept),
        "excluded": [
            (p, reason)
            for p, reason in zip(df["period"], df["excluded"], strict=True)
            if isinstance(reason, str)
        ],
        "share": float(df.attrs.get("share", SHARE)),
        "comparisons": [],
    }
    for key, figure, base in COMPARISONS:
        model_col = f"{figure}_{BacktestMethod.MODEL.value}"
        base_col = f"{figure}_{base.value}"
        if len(kept):
            pair = kept[[model_col, base_col]].apply(pd.to_numeric, errors="coerce").dropna()
        else:
            pair = pd.DataFrame(columns=[model_col, base_col])
        mv, bv = pair[model_col].to_numpy(float), pair[base_col].to_numpy(float)
        d = mv - bv
        item = {"key": key, "figure": figure, "baseline": base.value, "n": len(pair)}
        for name, series in (("model", mv), ("base", bv), ("diff", d)):
            item[name] = float(series.mean()) if len(series) else None
            low, high = block_bootstrap_interval(series, block, draws, seed)
            item[f"{name}_low"], item[f"{name}_high"] = low, high
        item["wins"] = int((d > 1e-12).sum())
        item["ties"] = int((np.abs(d) <= 1e-12).sum())
        out["comparisons"].append(item)
    return out


def month_table(df: pd.DataFrame) -> pd.DataFrame:
    """The month-by-month table the warning page shows: per kept month the two correlations
    and PAIs of the model and the baselines, and who won (``win_*``: True model, False
    baseline, None tie or undefined)."""
    kept = df[df["excluded"].isna()].copy() if len(df) else df.copy()

    def win(a, b):
        if pd.isna(a) or pd.isna(b) or abs(a - b) <= 1e-12:
            return None
        return bool(a > b)

    if len(kept):
        kept["win_count"] = [
            win(a, b)
            for a, b in zip(kept["rho_count_model"], kept["rho_count_last_count"], strict=True)
        ]
        kept["win_rate"] = [
            win(a, b)
            for a, b in zip(kept["rho_rate_model"], kept["rho_rate_rate_12m"], strict=True)
        ]
    else:
        kept["win_count"], kept["win_rate"] = [], []
    return kept.reset_index(drop=True)
