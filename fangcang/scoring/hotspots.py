"""Emerging hot spots (新兴热点): where high-crime communities cluster, and how that changed over
the last 24 months.

Three steps, each documented in docs/scoring.md ("Emerging hot spots"):

1. **Local Getis-Ord Gi\\*** (Getis & Ord 1992; Ord & Getis 1995) on each month's
   criminal + public-order incident rate per 1,000 residents, with binary Queen contiguity
   weights built from the community polygons (``libpysal``) and the community itself included
   (``esda.G_Local(..., transform="B", star=True)``). The analytical z-score is used; a month is
   a *hot* (*cold*) month for a community when z > 0 (< 0) and the two-sided p < ``alpha``.
2. **Mann-Kendall trend** (Mann 1945; Kendall 1975; ``pymannkendall.original_test``) of each
   community's monthly counts over the same months.
3. **Categories** of ESRI's emerging hot-spot analysis ("How Emerging Hot Spot Analysis works",
   ArcGIS Pro documentation): new, consecutive, intensifying, persistent, diminishing, sporadic,
   oscillating and historical hot spots and their cold-spot counterparts; ``classify`` holds
   the exact rules.

Islands (a community whose polygon touches no other) have no neighbourhood, so their Gi* would
only restate their own rate: they are reported as ``island`` and never classed hot or cold.
Communities without residents or without a polygon have no rate or no place in the weights and
are reported as ``not_assessed``.

Size: 547 lines because it is one method (Gi*, Mann-Kendall, ESRI categories) whose steps only make
sense together; about 150 lines are docstrings citing the method's sources and ``classify``'s exact
rules.
"""

from __future__ import annotations

import enum
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from sqlalchemy.orm import Session

from .. import geo
from ..access import Scope
from ..divisions import district_areas
from ..i18n import t
from ..timeutil import Month, month_range
from .inputs import population
from .monthly import crime_by_month, data_span

log = logging.getLogger(__name__)

#: Months analysed (time steps), ending with the assessment month.
MONTHS = 24
#: ESRI's emerging hot-spot analysis needs at least ten time steps.
MIN_MONTHS = 10
#: Significance of one month's Gi* (two-sided) and of the Mann-Kendall trend.
ALPHA = 0.05
#: Share of months that makes a hot (cold) spot persistent, intensifying, diminishing or
#: historical (ESRI: 90 percent of the time-step intervals).
PERSISTENT_SHARE = 0.9


class HotSpotCategory(enum.StrEnum):
    """ESRI's emerging hot-spot categories, plus the two cases the analysis cannot judge."""

    NEW_HOT = "new_hot"
    CONSECUTIVE_HOT = "consecutive_hot"
    INTENSIFYING_HOT = "intensifying_hot"
    PERSISTENT_HOT = "persistent_hot"
    DIMINISHING_HOT = "diminishing_hot"
    SPORADIC_HOT = "sporadic_hot"
    OSCILLATING_HOT = "oscillating_hot"
    HISTORICAL_HOT = "historical_hot"
    NEW_COLD = "new_cold"
    CONSECUTIVE_COLD = "consecutive_cold"
    INTENSIFYING_COLD = "intensifying_cold"
    PERSISTENT_COLD = "persistent_cold"
    DIMINISHING_COLD = "diminishing_cold"
    SPORADIC_COLD = "sporadic_cold"
    OSCILLATING_COLD = "oscillating_cold"
    HISTORICAL_COLD = "historical_cold"
    NO_PATTERN = "no_pattern"
    ISLAND = "island"  # no Queen neighbour: no cluster can be judged
    NOT_ASSESSED = "not_assessed"  # no residents (no rate) or no polygon

    @property
    def is_hot(self) -> bool:
        return self.value.endswith("_hot")

    @property
    def is_cold(self) -> bool:
        return self.value.endswith("_cold")

    @property
    def hot_now(self) -> bool:
        """A hot spot in the final month (every hot category except historical)."""
        return self.is_hot and self is not HotSpotCategory.HISTORICAL_HOT


#: The kinds in display order (hot, then cold, then the rest), for legends and tables.
CATEGORY_ORDER: tuple[HotSpotCategory, ...] = tuple(HotSpotCategory)

#: Trend words from the Mann-Kendall test.
TRENDS = ("up", "down", "flat")


# ---------------------------------------------------------------------------------------------
# The pieces
# ---------------------------------------------------------------------------------------------
def queen_weights(geometries: list, ids: list[str]):
    """Binary Queen contiguity weights (libpysal ``W``): two communities are neighbours when
    their polygons share at least one boundary point (a vertex or an edge).

    Parameters
    ----------
    geometries : list of shapely Polygon/MultiPolygon
    ids : list of str
        Same length; the ids of the weights.

    Returns
    -------
    libpysal.weights.W
        ``w.islands`` lists the ids without a neighbour.
    """
    from libpysal.weights import Queen

    if len(geometries) != len(ids):
        raise ValueError(f"{len(geometries)} geometries for {len(ids)} ids")
    with warnings.catch_warnings():
        # libpysal warns about islands and disconnected components; the caller reports both.
        warnings.simplefilter("ignore")
        return Queen.from_iterable(list(geometries), ids=list(ids))


def gi_star(values, w, islands: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local Getis-Ord Gi* z-scores and two-sided p-values (normal approximation).

    ``esda.G_Local(values, w, transform="B", star=True, permutations=0)``: binary weights with
    the location itself included, so for location i with W_i* neighbours (itself included)

        z_i = (sum_j w_ij x_j - W_i* xbar) / (s * sqrt((n W_i* - W_i*^2) / (n - 1)))

    with xbar and s = sqrt(sum x^2 / n - xbar^2) over all n locations (Ord & Getis 1995,
    eq. 14 with binary weights). When every value is the same there is no clustering, and a
    location whose neighbourhood is every location cannot stand out: z = 0, p = 1 for both. Islands get NaN: ``islands`` (ids), by default ``w.islands``. ``w`` may already carry
    the self-weights (diagonal 1, as ``libpysal.weights.fill_diagonal(w, 1)`` gives); then pass
    ``islands`` from the weights before the diagonal was filled.

    Returns
    -------
    (z, p) : arrays aligned with ``w.id_order``.
    """
    from esda import G_Local
    from libpysal.weights import fill_diagonal

    islands = list(w.islands) if islands is None else list(islands)
    if not w.sparse.diagonal().any():
        with warnings.catch_warnings():  # libpysal repeats its island warning
            warnings.simplefilter("ignore")
            w = fill_diagonal(w, 1)
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or len(y) != w.n:
        raise ValueError(f"gi_star needs one value per location ({w.n}), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("gi_star values must be finite")
    n = len(y)
    if n < 3 or np.allclose(y, y[0]):
        z = np.zeros(n)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = np.asarray(G_Local(y, w, transform="B", star=True, permutations=0).Zs, float)
        # A neighbourhood that is the whole district (W_i* = n) cannot stand out: 0 / 0.
        z[~np.isfinite(z)] = 0.0
    p = 2.0 * norm.sf(np.abs(z))
    if islands:
        pos = {cid: i for i, cid in enumerate(w.id_order)}
        idx = [pos[c] for c in islands]
        z[idx] = np.nan
        p[idx] = np.nan
    return z, p


@dataclass(frozen=True)
class Trend:
    """A Mann-Kendall test of one series."""

    tau: float  # Kendall's tau (-1 .. 1)
    s: float  # the S statistic
    z: float
    p: float  # two-sided
    trend: str  # "up", "down" or "flat" (p >= alpha)


def mann_kendall(series, alpha: float = ALPHA) -> Trend:
    """The original Mann-Kendall test (``pymannkendall.original_test``): S = sum over i < j of
    sign(x_j - x_i), its variance with the tie correction, z with the continuity correction and
    a two-sided p. ``trend`` is ``up``/``down`` when p < ``alpha``, else ``flat``. A constant
    series has S = 0, z = 0, p = 1."""
    import pymannkendall

    x = np.asarray(series, dtype=float)
    if x.ndim != 1 or len(x) < 3:
        raise ValueError(f"Mann-Kendall needs a series of at least 3 values, got {x.shape}")
    r = pymannkendall.original_test(x, alpha=alpha)
    p = float(r.p)
    word = "flat" if not p < alpha else ("up" if r.s > 0 else "down")
    return Trend(tau=float(r.Tau), s=float(r.s), z=float(r.z), p=p, trend=word)


def _final_run(flags: np.ndarray) -> int:
    """Length of the run of True values that ends at the last step."""
    run = 0
    for f in flags[::-1]:
        if not f:
            break
        run += 1
    return run


def classify(hot, cold, trend: str = "flat", share: float = PERSISTENT_SHARE) -> HotSpotCategory:
    """The emerging hot-spot category of one community from its monthly hot/cold flags.

    Parameters
    ----------
    hot, cold : sequence of bool
        Per month, oldest first: significant hot (Gi* z > 0, p < alpha) / cold (z < 0).
    trend : str
        The Mann-Kendall trend of the community's monthly counts: ``up``, ``down`` or ``flat``.
    share : float
        ESRI's 90 percent.

    Rules (H = hot months, n = months, "final" = the last month; cold mirrors hot with "up"
    and "down" swapped in intensifying/diminishing; checked in this order):

    - final hot and |H| >= share x n: **intensifying** when the trend is up, **diminishing** when
      down, otherwise **persistent**;
    - final hot and it is the only hot month: **new**;
    - final hot, the hot months are one uninterrupted run of at least 2 ending with the final
      month: **consecutive**;
    - final hot and some earlier month was cold: **oscillating**;
    - final hot otherwise (on and off, never cold): **sporadic**;
    - final not hot and |H| >= share x n: **historical**;
    - none of these (for hot or cold): **no pattern**.
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    if hot.shape != cold.shape or hot.ndim != 1 or len(hot) == 0:
        raise ValueError("hot and cold must be equal-length, non-empty 1-d sequences")
    if np.any(hot & cold):
        raise ValueError("a month cannot be both hot and cold")
    if trend not in TRENDS:
        raise ValueError(f"trend must be one of {TRENDS}, got {trend!r}")
    n = len(hot)
    C = HotSpotCategory

    def side(flags, other, rising, falling, names):
        k = int(flags.sum())
        mostly = k >= share * n
        if flags[-1]:
            if mostly:
                return names[2] if rising else names[4] if falling else names[3]
            if k == 1:
                return names[0]
            run = _final_run(flags)
            if run >= 2 and run == k:
                return names[1]
            if other[:-1].any():
                return names[6]
            return names[5]
        if mostly:
            return names[7]
        return None

    hot_names = (
        C.NEW_HOT,
        C.CONSECUTIVE_HOT,
        C.INTENSIFYING_HOT,
        C.PERSISTENT_HOT,
        C.DIMINISHING_HOT,
        C.SPORADIC_HOT,
        C.OSCILLATING_HOT,
        C.HISTORICAL_HOT,
    )
    cold_names = (
        C.NEW_COLD,
        C.CONSECUTIVE_COLD,
        C.INTENSIFYING_COLD,
        C.PERSISTENT_COLD,
        C.DIMINISHING_COLD,
        C.SPORADIC_COLD,
        C.OSCILLATING_COLD,
        C.HISTORICAL_COLD,
    )
    # A cold spot intensifies when its counts keep falling.
    found = side(hot, cold, trend == "up", trend == "down", hot_names)
    if found is None:
        found = side(cold, hot, trend == "down", trend == "up", cold_names)
    return found or C.NO_PATTERN


# ---------------------------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------------------------
COLUMNS = [
    "community_id",
    "name",
    "sub_district",
    "station",
    "category",
    "gi_z",
    "gi_p",
    "hot_months",
    "cold_months",
    "months",
    "mk_tau",
    "mk_z",
    "mk_p",
    "trend",
    "neighbours",
    "residents",
    "crime_last",
    "rate_last",
]


def analysis_months(session: Session, period: Month, months: int = MONTHS) -> list[Month]:
    """The months analysed for ``period``: the ``months`` months ending with it, less those
    before the first complete month of incident data.

    Raises
    ------
    ValueError
        When ``period`` is after the last complete month of data, or fewer than ``MIN_MONTHS``
        months remain.
    """
    if not isinstance(period, Month):
        raise ValueError(f"period must be a Month, got {period!r}")
    if isinstance(months, bool) or not isinstance(months, int) or months < MIN_MONTHS:
        raise ValueError(f"months must be an integer >= {MIN_MONTHS}, got {months!r}")
    span = data_span(session)
    if span is None:
        raise ValueError("no incident data: emerging hot spots need monthly counts")
    first_data, last_data = span
    if period > last_data:
        raise ValueError(
            f"{period} is after the last complete month of incident data ({last_data})"
        )
    first = max(period.shift(-(months - 1)), first_data)
    steps = month_range(first, period) if first <= period else []
    if len(steps) < MIN_MONTHS:
        raise ValueError(
            f"emerging hot spots need at least {MIN_MONTHS} complete months of incident data "
            f"up to {period}; the data has {len(steps)} (from {first_data})"
        )
    return steps


def categories(
    session: Session,
    period: Month,
    scope: Scope | None = None,
    *,
    months: int = MONTHS,
    alpha: float = ALPHA,
    district: str | None = None,
) -> pd.DataFrame:
    """Emerging hot-spot category of every community for the months ending with ``period``.

    Parameters
    ----------
    session : Session
    period : Month
        The final time step.
    scope : Scope, optional
        Filters the rows returned only: Gi* always uses the whole study area (its mean, spread
        and neighbourhoods). Default: the whole study area.
    months : int
        Time steps (default 24; fewer when the data starts later, at least ``MIN_MONTHS``).
    alpha : float
        Significance of a month's Gi* (two-sided) and of the Mann-Kendall trend.
    district : str, optional
        The study area: the communities of this district (区县, a code of
        ``fangcang.divisions.district_code``) only; only they are read. Default: each
        district in the database analysed on its own and the rows put together (one district:
        the whole database). A city's districts are never mixed in one Gi*: each district's
        branch compares its own communities, and a community's category is the same whichever
        page asks (map, warning page, task selection, community page).

    Returns
    -------
    DataFrame
        ``COLUMNS``, one row per community in ``scope`` (hot spots first, strongest z first):
        ``category`` (``HotSpotCategory`` value), ``gi_z`` / ``gi_p`` of the final month,
        ``hot_months`` / ``cold_months`` of ``months``, the Mann-Kendall ``mk_tau``, ``mk_z``,
        ``mk_p`` and ``trend`` (up/down/flat) of the monthly counts, Queen ``neighbours``,
        ``residents``, and the final month's count ``crime_last`` and rate ``rate_last`` (per
        1,000 residents). ``attrs`` holds ``first``, ``last``, ``months``, ``alpha``,
        ``islands``, ``not_assessed`` and ``unplaced`` (lists of ids; ``unplaced``: those in
        scope whose sub-district codes name no district while other communities' codes do,
        analysed as a study area of their own).

    Raises
    ------
    ValueError
        Bad arguments, or too few months of data (see ``analysis_months``).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be within (0, 1), got {alpha!r}")
    scope = scope or Scope.district()
    steps = analysis_months(session, period, months)
    areas = district_areas(session)
    if district is not None:
        study = [areas.get(district, Scope.of([]))]
    elif len(areas) <= 1:
        study = [None]  # one district: the whole database
    else:
        study = [
            a for a in areas.values() if scope.is_district or scope.community_ids & a.community_ids
        ] or [next(iter(areas.values()))]  # a scope in no district: its (empty) rows
    parts = [_categories(session, steps, scope, alpha, area, period) for area in study]
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    order = {c.value: k for k, c in enumerate(CATEGORY_ORDER)}
    df = (
        df.assign(_o=df["category"].map(order), _z=-df["gi_z"].fillna(0.0))
        .sort_values(["_o", "_z", "community_id"], kind="stable")
        .drop(columns=["_o", "_z"])
        .reset_index(drop=True)
    )
    df.attrs.update(
        first=str(steps[0]),
        last=str(steps[-1]),
        months=len(steps),
        alpha=alpha,
        islands=[i for part in parts for i in part.attrs["islands"]],
        not_assessed=[i for part in parts for i in part.attrs["not_assessed"]],
        # Communities whose sub-district codes name no district, analysed as a study area of
        # their own beside the districts that standard codes name (their district is unknown).
        unplaced=sorted(c for c in areas[""].community_ids if scope.allows(c))
        if "" in areas and len(areas) > 1 and district in (None, "")
        else [],
    )
    return df


def _categories(
    session: Session,
    steps: list[Month],
    scope: Scope,
    alpha: float,
    area: Scope | None,
    period: Month,
) -> pd.DataFrame:
    """``categories`` of one study area (``area``; None: every community), rows in ``scope``
    unsorted; ``attrs``: ``islands`` and ``not_assessed`` of the area."""
    from libpysal.weights import fill_diagonal

    comm = geo.communities_frame(session, area)
    ids = comm["community_id"].tolist()
    counts = crime_by_month(session, ids, steps[0], steps[-1], area)  # N x T
    residents, _ = population(session, ids)
    shapes = list(comm.geometry)  # None where a community has no usable polygon
    assessed = np.array([r > 0 and g is not None for r, g in zip(residents, shapes, strict=True)])

    n, steps_n = len(ids), len(steps)
    z = np.full((n, steps_n), np.nan)
    p = np.full((n, steps_n), np.nan)
    neighbours = np.zeros(n, dtype=int)
    islands: list[str] = []
    idx = np.flatnonzero(assessed)
    if len(idx):
        sub_ids = [ids[i] for i in idx]
        w = queen_weights([shapes[i] for i in idx], sub_ids)
        islands = sorted(w.islands)
        neighbours[idx] = [w.cardinalities[c] for c in sub_ids]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w_star = fill_diagonal(w, 1)  # once, not once per month
        rates = 1000.0 * counts[idx] / residents[idx, None]
        for j in range(steps_n):
            z[idx, j], p[idx, j] = gi_star(rates[:, j], w_star, islands)
        if islands:
            log.info(
                "hot spots %s: %d island communities (no Queen neighbour)", period, len(islands)
            )

    island_set = set(islands)
    names, sub_districts, stations = (comm[c].tolist() for c in ("name", "sub_district", "station"))
    rows = []
    for i, cid in enumerate(ids):
        if not scope.allows(cid):
            continue  # Gi* used the whole study area; only the rows returned follow the scope
        trend = mann_kendall(counts[i], alpha)
        zi, pi = z[i], p[i]
        hot = np.nan_to_num(zi) > 0
        hot &= np.nan_to_num(pi, nan=1.0) < alpha
        cold = (np.nan_to_num(zi) < 0) & (np.nan_to_num(pi, nan=1.0) < alpha)
        if not assessed[i]:
            category = HotSpotCategory.NOT_ASSESSED
        elif cid in island_set:
            category = HotSpotCategory.ISLAND
        else:
            category = classify(hot, cold, trend.trend)
        res = int(residents[i])
        rows.append(
            {
                "community_id": cid,
                "name": names[i],
                "sub_district": sub_districts[i],
                "station": stations[i],
                "category": category.value,
                "gi_z": float(zi[-1]),
                "gi_p": float(pi[-1]),
                "hot_months": int(hot.sum()),
                "cold_months": int(cold.sum()),
                "months": steps_n,
                "mk_tau": trend.tau,
                "mk_z": trend.z,
                "mk_p": trend.p,
                "trend": trend.trend,
                "neighbours": int(neighbours[i]),
                "residents": res,
                "crime_last": int(counts[i, -1]),
                "rate_last": 1000.0 * counts[i, -1] / res if res else float("nan"),
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(islands=islands, not_assessed=[ids[i] for i in np.flatnonzero(~assessed)])
    return df


def categories_or_reason(
    session: Session, period: Month, scope: Scope | None = None, district: str | None = None
) -> tuple[pd.DataFrame | None, str]:
    """``categories`` of ``period`` and ``scope``, or ``None`` and the reason it cannot be computed.

    For callers that show the reason instead of failing (the warning page): the answer, a
    ``ValueError``'s message included, is a plain value a cache can keep, so a district with
    too few months is not re-analysed on every run.

    Returns
    -------
    (DataFrame, "") or (None, str)
        As ``categories``; or ``None`` and the message of the ``ValueError`` it raised
        (too few months, no incident data, a period after the data).
    """
    try:
        return categories(session, period, scope, district=district), ""
    except ValueError as exc:
        log.info("no hot-spot analysis for %s: %s", period, exc)
        return None, str(exc)


def category_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Communities per category (every category, zeros included, in ``CATEGORY_ORDER``)."""
    counts = frame["category"].value_counts() if len(frame) else pd.Series(dtype=int)
    return {c.value: int(counts.get(c.value, 0)) for c in CATEGORY_ORDER}


def explanation_line(row, lang: str = "zh") -> str | None:
    """The sentence added to a community's explanation when it is a hot spot in the final
    month ("part of a cluster of high-crime communities"), naming the category, or None.

    ``row``: a mapping with ``category``, ``gi_z`` and ``months`` (a ``categories`` row).
    """
    category = HotSpotCategory(row["category"])
    if not category.hot_now:
        return None
    return t(
        "hotspot.explain",
        lang,
        category=t(f"hotspot.category.{category.value}", lang),
        z=f"{float(row['gi_z']):+.1f}",
        months=int(row["months"]),
    )


def explanation_for(
    session: Session,
    community_id: str,
    period: Month,
    lang: str = "zh",
    district: str | None = None,
) -> str | None:
    """``explanation_line`` of one community for ``period``, analysed within its district (the
    study area, as the warning page's hot spots of that district; ``district`` names it when
    the caller knows it, None finds it: ``categories``); None when it is not a hot spot this
    month or the data are too short for the analysis (logged)."""
    try:
        frame = categories(session, period, Scope.of([community_id]), district=district)
    except ValueError as exc:
        log.info("no hot-spot line for %s in %s: %s", community_id, period, exc)
        return None
    if frame.empty:
        return None
    return explanation_line(frame.iloc[0], lang)
