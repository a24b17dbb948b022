"""Sizes and the story the demo data tells (targets the generators aim at).

The story (issue 2, section 4): over the last 12 months vs the 12 before, criminal and
public-order incidents fall about 15%, assault about 9%, telecom fraud about 45%; incident
density follows population and venues; a few communities are clearly worse (high incidents,
many uncontrolled factors, many floating residents), among them 沿江社区 in 仰义街道, whose
incidents rise and then, after focused work starts six months before the end, fall by about 29%
(110 total) and 35% (criminal and public order), six months after vs six months before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .geography import Geography


@dataclass(frozen=True)
class Scale:
    name: str
    people: int
    places: int
    objects: int
    events: int
    incidents_per_year: int  # 110 incidents in the earlier of the two years
    people_per_house: float = 2.65


SCALES: dict[str, Scale] = {
    # A few thousand records per kind at most: seconds, for tests.
    "small": Scale(
        "small", people=4_000, places=600, objects=900, events=300, incidents_per_year=3_000
    ),
    # One tenth of the real platform: for development and benchmarks.
    "medium": Scale(
        "medium",
        people=120_000,
        places=10_000,
        objects=136_000,
        events=30_000,
        incidents_per_year=20_000,
    ),
    # The real platform's size: about 3.8 million records in all.
    "full": Scale(
        "full",
        people=1_200_000,
        places=100_000,
        objects=1_360_000,
        events=300_000,
        incidents_per_year=200_000,
    ),
}

#: Last 12 months vs the 12 before (ratio = last / before).
YOY_CRIME = 0.85  # criminal + public_order
YOY_ASSAULT = 0.91
YOY_TELECOM = 0.55

#: 沿江社区: six months after focused work started vs the six months before.
FOCUS_COMMUNITY = ("仰义街道", "沿江社区")
FOCUS_MONTHS = 6
FOCUS_TOTAL = 0.71  # 110 total falls 29%
FOCUS_CRIME = 0.65  # criminal + public order falls 35%

#: The clearly worse communities (沿江 first). High incidents, many uncontrolled factors, many
#: floating residents.
WORSE: list[tuple[str, str]] = [
    FOCUS_COMMUNITY,
    ("双屿街道", "中央涂社区"),
    ("南郊街道", "横渎社区"),
    ("丰门街道", "上岸社区"),
    ("蒲鞋市街道", "葡萄棚社区"),
]
#: Risk that changes over the two years (the true crime multiplier per resident; see
#: ``crime_path``): a few communities are lastingly elevated, some rise (emerging), some fall.
N_ELEVATED = 8  # about 1.6-1.8x the district all along
N_EMERGING = 4  # from about 1.0x to 2.0x over the 24 months
N_FADING = 3  # from about 2.0x to 1.0x
FOCUS_CRIME_W = 1.65  # 沿江社区 before its rise (its own shape in incidents.expected)
#: Communities with a lively night economy (many bars and KTVs).
NIGHTLIFE = {"葡萄棚社区", "江滨社区", "会展社区", "五马社区", "公园路社区", "东游社区"}

#: Visit / check / inspection intervals (days) the demo records carry.
KEY_PERSON_INTERVAL = {
    "drugs": 30,
    "mental": 30,
    "petition": 60,
    "released": 90,
    "alcohol": 60,
    "other": 90,
}
HOUSE_INTERVAL = {"rental": 90, "group_rental": 30}
PLACE_INTERVAL = {"venue": 30, "regulated_trade": 60, "dangerous_goods": 30, "enterprise": 365}


def community_profile(geo: Geography, rng: np.random.Generator) -> pd.DataFrame:
    """Per-community parameters every generator reads.

    Columns: ``pop_w`` (relative population), ``rental`` and ``group_rental`` (house shares),
    ``overdue`` (share of factors out of control at the end), ``venue_w`` (relative venue
    density per resident), ``crime_w`` (incident multiplier per resident), ``crime_end``
    (the multiplier at the last month: ``crime_path`` moves linearly from ``crime_w`` to it),
    ``risk`` (``normal``, ``worse``, ``focus``, ``elevated``, ``emerging``, ``fading``),
    ``worse`` (bool), ``focus`` (bool, 沿江社区), ``overdue_before`` (沿江社区's share out of
    control before its focused work).
    """
    c = geo.communities
    n = len(c)
    urban = c["urban"].to_numpy()
    base_pop = np.choose(urban, [5_500.0, 9_000.0, 12_500.0])
    pop = base_pop * rng.lognormal(0.0, 0.25, n)
    keys = list(zip(c["division"], c["name"], strict=True))
    worse = np.array([k in WORSE for k in keys])
    focus = np.array([k == FOCUS_COMMUNITY for k in keys])
    pop = np.where(worse, pop * 1.3, pop)
    rental = np.choose(urban, [0.14, 0.32, 0.27]) * rng.uniform(0.8, 1.2, n)
    rental = np.where(c["division"].eq("双屿街道"), rental * 1.4, rental)
    rental = np.where(worse, 0.52, rental)
    group = np.where(worse, 0.07, np.choose(urban, [0.006, 0.018, 0.012]))
    overdue = np.clip(rng.beta(2.0, 22.0, n), 0.02, 0.2)
    overdue = np.where(worse, rng.uniform(0.42, 0.55, n), overdue)
    # Focused work includes catching up on checks: by the end 沿江社区's factors are in control.
    overdue = np.where(focus, 0.05, overdue)
    venue = np.choose(urban, [0.35, 0.8, 1.4]) * rng.uniform(0.8, 1.25, n)
    venue = np.where(c["name"].isin(NIGHTLIFE), venue * 2.5, venue)
    crime = rng.uniform(0.85, 1.1, n)
    crime = np.where(worse, 2.4, crime)
    crime = np.where(focus, FOCUS_CRIME_W, crime)
    crime_end = crime.copy()
    risk = np.where(focus, "focus", np.where(worse, "worse", "normal")).astype(object)
    # Changing risk among ordinary communities (not the night-life ones, whose venues already
    # raise their rate): drawn from a stream of their own so the rest of the profile is kept.
    pick = np.random.default_rng(rng.integers(1 << 31))
    pool = np.flatnonzero(~worse & ~c["name"].isin(NIGHTLIFE).to_numpy())
    chosen = pick.permutation(pool)[: N_ELEVATED + N_EMERGING + N_FADING]
    elevated = chosen[:N_ELEVATED]
    emerging = chosen[N_ELEVATED : N_ELEVATED + N_EMERGING]
    fading = chosen[N_ELEVATED + N_EMERGING :]
    crime[elevated] = crime_end[elevated] = pick.uniform(1.6, 1.8, len(elevated))
    crime[emerging], crime_end[emerging] = 1.0, pick.uniform(1.9, 2.1, len(emerging))
    crime[fading], crime_end[fading] = pick.uniform(1.9, 2.1, len(fading)), 1.0
    risk[elevated], risk[emerging], risk[fading] = "elevated", "emerging", "fading"
    return pd.DataFrame(
        {
            "pop_w": pop / pop.sum(),
            "rental": rental,
            "group_rental": group,
            "overdue": overdue,
            "venue_w": venue,
            "crime_w": crime,
            "crime_end": crime_end,
            "risk": risk,
            "worse": worse,
            "focus": focus,
            "overdue_before": np.where(focus, 0.5, overdue),
        },
        index=c.index,
    )


def crime_path(prof: pd.DataFrame, n_months: int) -> np.ndarray:
    """The true crime multiplier per resident, community x month: linear from ``crime_w`` at
    the first month to ``crime_end`` at the last (constant for most communities)."""
    f = np.linspace(0.0, 1.0, n_months)[None, :]
    a = prof["crime_w"].to_numpy()[:, None]
    b = prof["crime_end"].to_numpy()[:, None]
    return a + (b - a) * f


def allocate(total: int, weights: np.ndarray, rng: np.random.Generator, minimum: int = 0):
    """Split ``total`` into integer counts proportional to ``weights`` (each >= ``minimum``)."""
    weights = np.asarray(weights, dtype=float)
    rest = total - minimum * len(weights)
    if rest < 0:
        raise ValueError(f"cannot give {minimum} to each of {len(weights)} with total {total}")
    return rng.multinomial(rest, weights / weights.sum()) + minimum


def last_checks(
    interval: np.ndarray,
    overdue_rate: np.ndarray,
    end: np.datetime64,
    rng: np.random.Generator,
    never_rate: float = 0.01,
) -> np.ndarray:
    """Dates of the last check for factors with the given intervals (``datetime64[D]``, NaT
    for never checked).

    In control (checked within the interval ending ``end``) with probability
    ``1 - overdue_rate``; otherwise the last check is 1 to about 200 days overdue, and a small
    part was never checked at all.
    """
    n = len(interval)
    interval = np.asarray(interval, dtype=np.int64)
    late = rng.random(n) < overdue_rate
    in_days = (rng.random(n) * interval).astype(np.int64)  # 0 .. interval-1
    late_days = interval + 1 + rng.geometric(1 / 45, n).clip(max=400)
    days = np.where(late, late_days, in_days)
    out = end - days.astype("timedelta64[D]")
    never = late & (rng.random(n) < never_rate / np.maximum(overdue_rate, 1e-9))
    return np.where(never, np.datetime64("NaT"), out).astype("datetime64[D]")
