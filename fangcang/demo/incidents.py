"""Incidents (警情): two full years ending with the demo's last month, telling the story.

Expected counts ``lam[community, month, subtype]`` follow population, venues and each
community's multiplier, a seasonal shape and a per-subtype trend. The headline figures are then
made exact (up to rounding) by allocating fixed totals per *stratum* with a multinomial:
district groups (telecom fraud, assault, other crime, everything else) x year, and for
沿江社区 (crime, non-crime) x (earlier year, six months before focused work, six months
after). Cells inside a stratum keep their random, population-driven spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..timeutil import Month
from . import idcard
from .bundle import labels
from .story import (
    FOCUS_CRIME,
    FOCUS_MONTHS,
    FOCUS_TOTAL,
    YOY_ASSAULT,
    YOY_CRIME,
    YOY_TELECOM,
    Scale,
    crime_path,
)


@dataclass(frozen=True)
class Subtype:
    category: str
    subtype: str
    share: float  # share of 110 incidents in the earlier year
    ratio: float  # last year / earlier year (shape only for the exact groups)
    hours: str  # hour-of-day profile
    dow: str  # day-of-week profile
    where: str  # "pop" (people), "venue" (night economy), "home"
    zh: str  # Chinese label


SUBTYPES: list[Subtype] = [
    Subtype("criminal", "telecom_fraud", 12_000, YOY_TELECOM, "day", "weekday", "home", "电信诈骗"),
    Subtype("criminal", "theft", 14_000, 0.90, "theft", "flat", "pop", "盗窃"),
    Subtype("criminal", "burglary", 2_500, 0.88, "theft", "flat", "home", "入室盗窃"),
    Subtype("criminal", "fraud", 3_000, 0.95, "day", "weekday", "pop", "其他诈骗"),
    Subtype("criminal", "robbery", 300, 0.80, "night", "weekend", "venue", "抢劫抢夺"),
    Subtype("criminal", "injury", 600, 0.92, "night", "weekend", "venue", "故意伤害"),
    Subtype("criminal", "other", 1_600, 0.96, "flat", "flat", "pop", "其他刑事"),
    Subtype("public_order", "assault", 8_000, YOY_ASSAULT, "night", "weekend", "venue", "殴打他人"),
    Subtype("public_order", "disturbance", 5_000, 0.93, "night", "weekend", "venue", "寻衅滋事"),
    Subtype("public_order", "gambling", 2_500, 0.90, "night", "weekend", "venue", "赌博"),
    Subtype("public_order", "drugs", 1_200, 0.90, "night", "weekend", "venue", "涉毒"),
    Subtype("public_order", "prostitution", 900, 0.88, "night", "weekend", "venue", "卖淫嫖娼"),
    Subtype("public_order", "damage", 1_400, 0.93, "evening", "flat", "pop", "故意损毁财物"),
    Subtype("public_order", "other", 6_000, 0.94, "flat", "flat", "pop", "其他治安"),
    Subtype("dispute", "family", 9_000, 1.00, "evening", "weekend", "home", "家庭纠纷"),
    Subtype("dispute", "neighbour", 12_000, 0.97, "evening", "flat", "home", "邻里纠纷"),
    Subtype("dispute", "labour", 5_000, 0.95, "day", "weekday", "pop", "劳资纠纷"),
    Subtype("dispute", "consumer", 6_000, 1.02, "day", "flat", "pop", "消费纠纷"),
    Subtype("dispute", "other", 13_000, 0.97, "evening", "flat", "pop", "其他纠纷"),
    Subtype("traffic", "accident", 22_000, 1.02, "traffic", "weekday", "pop", "交通事故"),
    Subtype("traffic", "drunk_driving", 2_000, 0.90, "night", "weekend", "venue", "酒驾醉驾"),
    Subtype("traffic", "violation", 6_000, 1.03, "traffic", "weekday", "pop", "交通违法"),
    Subtype("fire", "fire", 2_000, 0.95, "evening", "flat", "home", "火灾"),
    Subtype("assistance", "medical", 12_000, 1.03, "flat", "flat", "home", "急病求助"),
    Subtype("assistance", "lost_person", 6_000, 1.00, "day", "flat", "pop", "走失寻人"),
    Subtype("assistance", "lockout", 9_000, 1.04, "evening", "flat", "home", "开锁求助"),
    Subtype("assistance", "help", 28_000, 1.03, "day", "flat", "pop", "其他求助"),
    Subtype("other", "noise", 3_000, 1.00, "night", "weekend", "venue", "噪音扰民"),
    Subtype("other", "other", 6_000, 1.00, "flat", "flat", "pop", "其他警情"),
]
#: Chinese labels of the demo's subtypes, by (category, subtype).
SUBTYPE_LABELS: dict[tuple[str, str], str] = {(s.category, s.subtype): s.zh for s in SUBTYPES}

_H = np.arange(24)


def _bump(center: float, width: float) -> np.ndarray:
    d = np.minimum(np.abs(_H - center), 24 - np.abs(_H - center))
    return np.exp(-0.5 * (d / width) ** 2)


HOURS: dict[str, np.ndarray] = {
    "day": 0.08 + _bump(10.5, 2.5) + 0.9 * _bump(15.5, 2.5),
    "night": 0.12 + _bump(23.0, 2.3) + 0.3 * _bump(19.0, 1.5),
    "theft": 0.35 + 0.8 * _bump(11.0, 3.0) + 0.9 * _bump(16.0, 2.5) + 0.5 * _bump(3.0, 1.5),
    "traffic": 0.15 + _bump(8.0, 1.0) + 1.1 * _bump(17.8, 1.2) + 0.4 * _bump(13.0, 2.5),
    "evening": 0.1 + _bump(20.0, 2.2) + 0.4 * _bump(12.0, 2.0),
    "flat": 0.35 + 0.6 * _bump(14.0, 4.0),
}
HOURS = {k: v / v.sum() for k, v in HOURS.items()}
#: Monday .. Sunday.
DOW: dict[str, np.ndarray] = {
    "weekday": np.array([1.1, 1.1, 1.08, 1.08, 1.05, 0.78, 0.72]),
    "weekend": np.array([0.85, 0.85, 0.9, 0.95, 1.25, 1.4, 1.1]),
    "flat": np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.05, 1.0]),
}
#: (log mean, log sd) of loss in yuan; other subtypes have none.
LOSS = {
    "telecom_fraud": (9.5, 1.2),
    "fraud": (8.3, 1.0),
    "theft": (7.0, 1.1),
    "burglary": (8.0, 1.0),
    "robbery": (7.2, 1.0),
    "damage": (6.5, 0.8),
}
VENUE_NIGHT = ("bar", "ktv")


def _seasonal(s: Subtype, months: list[Month]) -> np.ndarray:
    moy = np.array([m.month for m in months])
    f = 1.0 + 0.06 * np.cos(2 * np.pi * (moy - 7) / 12)  # summer a little busier
    if s.hours in ("night", "evening"):
        f = f + 0.06 * np.cos(2 * np.pi * (moy - 7) / 12)
    if s.category == "fire":
        f = 1.0 + 0.25 * np.cos(2 * np.pi * (moy - 1) / 12)
    # Spring Festival: many floating residents go home.
    f = np.where(moy == 2, f * 0.82, f)
    return f


def expected(prof: pd.DataFrame, n_venues: np.ndarray, scale: Scale, months: list[Month]):
    """Expected counts ``lam[c, m, s]`` (district trend; 沿江社区's own profile applied)."""
    n_c, n_m, n_s = len(prof), len(months), len(SUBTYPES)
    pop = prof["pop_w"].to_numpy()
    crime_t = crime_path(prof, n_m)  # community x month
    worse = prof["worse"].to_numpy()
    venues = n_venues / max(n_venues.sum(), 1)
    lam = np.empty((n_c, n_m, n_s))
    per_year = scale.incidents_per_year / sum(s.share for s in SUBTYPES)
    m_idx = np.arange(n_m)
    focus = np.flatnonzero(prof["focus"].to_numpy())
    before_end = n_m - FOCUS_MONTHS
    rise = 1.0 + 0.035 * m_idx  # 沿江社区 worsens until focused work starts, then falls
    shape = np.concatenate(
        [rise[:before_end], rise[before_end - 1] * np.linspace(0.8, 0.6, FOCUS_MONTHS)]
    )
    shape = shape / shape[:12].mean()
    for k, s in enumerate(SUBTYPES):
        crime = s.category in ("criminal", "public_order")
        base = (0.5 * pop + 0.5 * venues) if s.where == "venue" else pop
        if crime:
            w = base[:, None] * crime_t
        else:
            w = (base * np.where(worse, 1.6 if s.where == "venue" else 1.5, 1.0))[:, None]
            w = np.repeat(w, n_m, axis=1)
        w = w / w.sum(axis=0, keepdims=True)
        season = _seasonal(s, months)
        season = season / season[:12].sum()
        time = season * s.ratio ** (m_idx / 12.0)
        lam[:, :, k] = (s.share * per_year) * w * time[None, :]
        if len(focus):  # 沿江社区's own story replaces the district trend
            f = focus[0]
            lam[f, :, k] = (s.share * per_year) * w[f, 0] * season * shape
    return lam


def true_crime_ratio(lam: np.ndarray, prof: pd.DataFrame) -> np.ndarray:
    """The demo's true risk: each community's expected criminal + public-order rate per
    resident as a ratio to the district's, community x month (what the warning should find)."""
    crime = np.array([s.category in ("criminal", "public_order") for s in SUBTYPES])
    exp = lam[:, :, crime].sum(axis=2)  # c x m
    pop = prof["pop_w"].to_numpy()[:, None]
    return (exp / pop) / (exp.sum(axis=0, keepdims=True) / pop.sum())


def allocate_counts(lam: np.ndarray, prof: pd.DataFrame, rng) -> np.ndarray:
    """Integer counts per (community, month, subtype) hitting the story's totals exactly."""
    n_c, n_m, n_s = lam.shape
    crime = np.array([s.category in ("criminal", "public_order") for s in SUBTYPES])
    telecom = np.array([s.subtype == "telecom_fraud" for s in SUBTYPES])
    assault = np.array([s.subtype == "assault" for s in SUBTYPES])
    other_crime = crime & ~telecom & ~assault
    groups = {
        "telecom": telecom,
        "assault": assault,
        "other_crime": other_crime,
        "noncrime": ~crime,
    }
    year1 = np.arange(n_m) < n_m - 12
    year2 = ~year1
    counts = np.zeros_like(lam, dtype=np.int64)
    focus = np.flatnonzero(prof["focus"].to_numpy())
    others = np.ones(n_c, dtype=bool)

    def fill(c_mask, m_mask, s_mask, total):
        sel = np.ix_(c_mask, m_mask, s_mask)
        w = lam[sel]
        if total <= 0 or w.sum() <= 0:
            return
        counts[sel] += rng.multinomial(int(total), (w / w.sum()).ravel()).reshape(w.shape)

    if len(focus):
        c = focus[0]
        others[c] = False
        one = np.zeros(n_c, dtype=bool)
        one[c] = True
        before = (np.arange(n_m) >= n_m - 2 * FOCUS_MONTHS) & (np.arange(n_m) < n_m - FOCUS_MONTHS)
        after = np.arange(n_m) >= n_m - FOCUS_MONTHS
        early = ~(before | after)
        exp = {
            (g, p): lam[c][np.ix_(pm, gm)].sum()
            for g, gm in (("crime", crime), ("non", ~crime))
            for p, pm in (("early", early), ("before", before))
        }
        b_crime = int(round(exp["crime", "before"]))
        b_non = int(round(exp["non", "before"]))
        a_crime = int(round(FOCUS_CRIME * b_crime))
        a_non = int(round(FOCUS_TOTAL * (b_crime + b_non))) - a_crime
        for gm, e, b, a in ((crime, "crime", b_crime, a_crime), (~crime, "non", b_non, a_non)):
            fill(one, early, gm, int(round(exp[e, "early"])))
            fill(one, before, gm, b)
            fill(one, after, gm, a)

    def district(gm, pm):
        return lam[:, pm][:, :, gm].sum()

    y1 = {g: int(round(district(gm, year1))) for g, gm in groups.items()}
    y2 = {
        "telecom": int(round(YOY_TELECOM * y1["telecom"])),
        "assault": int(round(YOY_ASSAULT * y1["assault"])),
        "noncrime": int(round(district(~crime, year2))),
    }
    crime_y1 = y1["telecom"] + y1["assault"] + y1["other_crime"]
    y2["other_crime"] = int(round(YOY_CRIME * crime_y1)) - y2["telecom"] - y2["assault"]
    for g, gm in groups.items():
        for pm, target in ((year1, y1[g]), (year2, y2[g])):
            already = counts[:, pm][:, :, gm].sum()
            fill(others, pm, gm, target - already)
    return counts


def make_incidents(
    geo, prof: pd.DataFrame, houses: dict, places: dict, scale: Scale, months: list[Month], rng
) -> dict:
    """The incidents file's columns (sorted by time)."""
    n_c = len(prof)
    p_owner = places["_owner"]
    night_venue = np.isin(places["subtype"], VENUE_NIGHT + ("internet_cafe",))
    n_venues = np.bincount(p_owner[night_venue], minlength=n_c)
    lam = expected(prof, n_venues, scale, months)
    counts = allocate_counts(lam, prof, rng)

    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    c_of, rem = np.divmod(cell, counts.shape[1] * counts.shape[2])
    m_of, s_of = np.divmod(rem, counts.shape[2])
    n = len(cell)

    # Day of month, weighted by day of week (rejection sampling, a few rounds).
    first = np.array([np.datetime64(m.first_day) for m in months])
    ndays = np.array([(m.last_day - m.first_day).days + 1 for m in months])
    dow_w = np.stack([DOW[s.dow] for s in SUBTYPES]) / 1.4
    day = np.empty(n, dtype="datetime64[D]")
    todo = np.arange(n)
    while len(todo):
        d = first[m_of[todo]] + (rng.random(len(todo)) * ndays[m_of[todo]]).astype("timedelta64[D]")
        dow = (d.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        ok = rng.random(len(todo)) < dow_w[s_of[todo], dow]
        day[todo[ok]] = d[ok]
        todo = todo[~ok]
    hour = np.empty(n, dtype=np.int64)
    profiles = np.array([s.hours for s in SUBTYPES])
    for key, p in HOURS.items():
        m = profiles[s_of] == key
        hour[m] = rng.choice(24, size=int(m.sum()), p=p)
    occurred = day.astype("datetime64[s]") + (hour * 3600 + rng.integers(0, 3600, n)).astype(
        "timedelta64[s]"
    )

    # Where: at home / in the street near a house, or at a bar/KTV/internet cafe at night.
    h_owner = houses["_owner"]
    h_first = np.searchsorted(h_owner, np.arange(n_c), side="left")
    h_count = np.searchsorted(h_owner, np.arange(n_c), side="right") - h_first
    k = h_first[c_of] + (rng.random(n) * h_count[c_of]).astype(np.int64)
    lon, lat = houses["lon"][k].copy(), houses["lat"][k].copy()
    v_idx = np.flatnonzero(night_venue)  # sorted by community (places are)
    v_owner = p_owner[v_idx]
    v_first = np.searchsorted(v_owner, np.arange(n_c), side="left")
    v_count = np.searchsorted(v_owner, np.arange(n_c), side="right") - v_first
    where = np.array([s.where for s in SUBTYPES])[s_of]
    night = (hour >= 20) | (hour < 4)
    at_venue = (where == "venue") & night & (v_count[c_of] > 0) & (rng.random(n) < 0.6)
    vk = v_idx[
        v_first[c_of[at_venue]]
        + (rng.random(int(at_venue.sum())) * v_count[c_of[at_venue]]).astype(np.int64)
    ]
    lon[at_venue] = places["lon"][vk]
    lat[at_venue] = places["lat"][vk]
    bar_ktv = np.zeros(n, dtype=bool)
    bar_ktv[np.flatnonzero(at_venue)] = np.isin(places["subtype"][vk], VENUE_NIGHT)

    sub_names = np.array([s.subtype for s in SUBTYPES])
    subtype = sub_names[s_of]
    p_alcohol = np.where(bar_ktv, 0.7, 0.0)
    p_alcohol = np.maximum(p_alcohol, np.where(night & (where == "venue"), 0.22, 0.0))
    p_alcohol = np.where(subtype == "drunk_driving", 1.0, p_alcohol)
    p_alcohol = np.maximum(
        p_alcohol,
        np.where(night & np.isin(subtype, ["family", "accident", "injury"]), 0.12, 0.02 * night),
    )
    alcohol = rng.random(n) < p_alcohol

    loss = np.zeros(n)
    for st, (mu, sd) in LOSS.items():
        m = subtype == st
        loss[m] = np.round(rng.lognormal(mu, sd, int(m.sum())), 0)

    end = np.datetime64(months[-1].end, "s") - np.timedelta64(1, "s")
    upd = np.minimum(occurred + rng.integers(600, 5 * 86400, n).astype("timedelta64[s]"), end)
    order = np.argsort(occurred, kind="stable")
    return {
        "incident_id": idcard.fixed_ids("JQ", n, 9),
        "occurred_at": occurred[order],
        "category": labels([s.category for s in SUBTYPES], s_of[order]),
        "subtype": labels(sub_names, s_of[order]),
        "lon": lon[order],
        "lat": lat[order],
        "community_id": labels(geo.communities["community_id"], c_of[order]),
        "loss_yuan": loss[order],
        "alcohol_related": alcohol[order],
        "source": labels(
            ["110指挥中心", "反诈中心"], (subtype == "telecom_fraud")[order].astype(np.int64)
        ),
        "updated_at": upd[order],
    }
