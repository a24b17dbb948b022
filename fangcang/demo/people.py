"""Houses and people (房、人): houses placed in communities, people living in them.

Houses have a use; rental and group-rental houses are public-order factors with a check date
and interval. People are assigned to houses (group rentals crowded, vacant and commercial houses
empty), their residence type follows the house (tenants are mostly floating residents), and
``registered_residents`` of each house is the number of people linked to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import idcard, names
from .bundle import labels, pick, strcat, to_arrow
from .geography import Geography, sample_points
from .story import HOUSE_INTERVAL, KEY_PERSON_INTERVAL, Scale, allocate, last_checks

HOUSE_USES = np.array(["self_occupied", "rental", "group_rental", "vacant", "commercial"])
#: Relative number of residents a house of each use holds.
CAPACITY = np.array([3.0, 2.6, 11.0, 0.0, 0.0])
#: Share of people of each house use who are floating residents (plus the community's mix).
FLOATING_BY_USE = np.array([0.06, 0.78, 0.95, 0.0, 0.0])
KEY_TYPES = np.array(["released", "drugs", "mental", "petition", "alcohol", "other"])
KEY_TYPE_P = np.array([0.30, 0.20, 0.20, 0.15, 0.10, 0.05])


def _seconds(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")


def updated_at(end: np.datetime64, max_lag_days: int, n: int, rng) -> np.ndarray:
    """Export times within ``max_lag_days`` before the end day (working hours)."""
    day = end - rng.integers(0, max_lag_days, n).astype("timedelta64[D]")
    return day.astype("datetime64[s]") + _seconds(n, rng)


def make_houses(geo: Geography, prof: pd.DataFrame, scale: Scale, end, rng) -> dict:
    """Houses: id, address, community, point, use, check date and interval (no residents yet)."""
    n_people = allocate(scale.people, prof["pop_w"], rng, minimum=8)
    n_houses = np.maximum(np.round(n_people / scale.people_per_house).astype(int), 4)
    owner, lon, lat = sample_points(list(geo.communities["geometry"]), n_houses, rng)
    n = len(owner)
    rental = prof["rental"].to_numpy()[owner]
    group = prof["group_rental"].to_numpy()[owner]
    urban = geo.communities["urban"].to_numpy()[owner]
    vacant = np.choose(urban, [0.16, 0.11, 0.09])
    commercial = np.choose(urban, [0.03, 0.05, 0.07])
    u = rng.random(n)
    use = np.select(
        [
            u < group,
            u < group + rental,
            u < group + rental + vacant,
            u < group + rental + vacant + commercial,
        ],
        [2, 1, 3, 4],
        default=0,
    )
    interval = np.array([HOUSE_INTERVAL.get(x, 0) for x in HOUSE_USES])[use]
    is_factor = interval > 0
    checked = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    overdue = prof["overdue"].to_numpy()[owner]
    checked[is_factor] = last_checks(interval[is_factor], overdue[is_factor], end, rng)

    # Address: road, number, building, unit and room in town; village and number in the west.
    roads = names.community_roads(list(geo.communities["name"]), rng)
    road_pool = [r for rs in roads for r in rs]
    road = labels(road_pool, owner * 4 + rng.integers(0, 4, n))
    district = labels([geo.district_name + d for d in geo.communities["division"]], owner)
    no = rng.integers(1, 400, n)
    flat = strcat(
        district,
        road,
        no,
        "号",
        rng.integers(1, 30, n),
        "幢",
        rng.integers(1, 5, n),
        "单元",
        rng.integers(1, 28, n) * 100 + rng.integers(1, 6, n),
        "室",
    )
    village = strcat(district, road, no, "号")
    address = pick((urban == 0) & (rng.random(n) < 0.7), village, flat)
    source = labels(["住建局", "治安大队"], is_factor.astype(np.int64))
    return {
        "house_id": idcard.fixed_ids("H", n, 8),
        "address": address,
        "community_id": labels(geo.communities["community_id"], owner),
        "lon": lon,
        "lat": lat,
        "use": labels(HOUSE_USES, use),
        "registered_residents": np.zeros(n, dtype=np.int64),  # filled by make_people
        "last_checked": checked,
        "check_interval_days": np.where(is_factor, interval, -1),
        "source": source,
        "updated_at": updated_at(end, 60, n, rng),
        # internal (not written): the community row, the use index, people per community
        "_owner": owner,
        "_use": use,
        "_people": n_people,
    }


def make_people(geo: Geography, prof: pd.DataFrame, houses: dict, end, rng) -> dict:
    """People linked to houses of their community; fills ``houses['registered_residents']``."""
    n_people = houses["_people"]
    owner_h = houses["_owner"]
    n_comm = len(geo.communities)
    c_of = np.repeat(np.arange(n_comm), n_people)
    n = len(c_of)

    # Each person picks a house of their community with probability ~ capacity: a global
    # cumulative capacity and a search keep it vectorised.
    cap = CAPACITY[houses["_use"]] * rng.uniform(0.5, 1.5, len(owner_h))
    cum = np.cumsum(cap)
    first = np.searchsorted(owner_h, np.arange(n_comm), side="left")
    last = np.searchsorted(owner_h, np.arange(n_comm), side="right")
    lo = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    lo[first == 0] = 0.0
    hi = cum[last - 1]
    target = lo[c_of] + rng.random(n) * (hi - lo)[c_of]
    house = np.searchsorted(cum, target, side="right").clip(max=len(cum) - 1)
    # Rounding at the edges can land in a neighbour's range: clamp into the community.
    house = np.clip(house, first[c_of], last[c_of] - 1)
    homeless = rng.random(n) < 0.03
    use = np.where(homeless, -1, houses["_use"][house])

    float_base = np.where(use >= 0, FLOATING_BY_USE[np.maximum(use, 0)], 0.5)
    overseas_p = np.choose(geo.communities["urban"].to_numpy()[c_of], [0.001, 0.003, 0.007])
    u = rng.random(n)
    residence = np.where(u < overseas_p, 2, np.where(u < overseas_p + float_base, 1, 0))

    male = rng.random(n) < np.where(residence == 1, 0.56, 0.505)
    # Ages: residents across all ages; floating residents mostly of working age.
    # (No clipping to a bound: a clipped tail would put thousands on one birth date.)
    age_res = rng.gamma(4.2, 10.0, n)
    age_res = np.where(age_res < 99, age_res, rng.uniform(80, 99, n))
    age_float = rng.normal(34, 10, n)
    age_float = np.where((age_float >= 16) & (age_float < 70), age_float, rng.uniform(16, 60, n))
    age = np.where(residence == 1, age_float, age_res)
    birth = end - (age * 365.25).astype(np.int64).astype("timedelta64[D]")
    region = np.where(
        residence == 1,
        idcard.OTHER_REGIONS[rng.integers(0, len(idcard.OTHER_REGIONS), n)],
        np.where(rng.random(n) < 0.9, geo.region, idcard.OTHER_REGIONS[rng.integers(0, 6, n)]),
    )
    ids = idcard.id_numbers(region, birth, male, rng)
    # Overseas residents carry passports, not resident IDs.
    ids = pa.array(ids, mask=residence == 2).cast(pa.string())
    phone = idcard.phones(n, rng)
    phone = pa.array(phone, mask=(age < 12) | (rng.random(n) < 0.05)).cast(pa.string())

    # Key persons (about 1%, more in the worse communities), adults only.
    kp_rate = np.where(prof["worse"].to_numpy()[c_of], 0.025, 0.009)
    is_kp = (rng.random(n) < kp_rate) & (age >= 18)
    k = int(is_kp.sum())
    kp_code = np.full(n, -1, dtype=np.int64)
    kp_code[is_kp] = rng.choice(len(KEY_TYPES), size=k, p=KEY_TYPE_P)
    kp_interval = np.array([KEY_PERSON_INTERVAL[t] for t in KEY_TYPES])
    interval = np.where(is_kp, kp_interval[np.maximum(kp_code, 0)], -1)
    visit = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    visit[is_kp] = last_checks(interval[is_kp], prof["overdue"].to_numpy()[c_of][is_kp], end, rng)

    # Sources: 户籍科 / 流动人口管理中心 / 出入境管理大队 by residence; key persons come from
    # 禁毒大队 (drugs) or 治安大队.
    src = residence.copy()
    src[is_kp] = np.where(KEY_TYPES[kp_code[is_kp]] == "drugs", 3, 4)
    source = labels(["户籍科", "流动人口管理中心", "出入境管理大队", "禁毒大队", "治安大队"], src)
    lag = np.array([30, 90, 180])[residence]
    upd = updated_at(end, 1, n, rng) - (rng.random(n) * lag).astype("timedelta64[D]")

    houses["registered_residents"] = np.bincount(house[~homeless], minlength=len(owner_h))
    return {
        "person_id": idcard.fixed_ids("P", n, 8),
        "name": names.person_names(male, rng),
        "id_number": ids,
        "phone": phone,
        "gender": labels(["female", "male"], male.astype(np.int64)),
        "birth_date": birth,
        "residence_type": labels(["registered", "floating", "overseas"], residence),
        "community_id": labels(geo.communities["community_id"], c_of),
        "house_id": pc.take(to_arrow(houses["house_id"]), pa.array(house, mask=homeless)),
        "key_person_type": labels(KEY_TYPES, np.maximum(kp_code, 0), mask=kp_code < 0),
        "last_visit": visit,
        "visit_interval_days": interval,
        "source": source,
        "updated_at": upd,
    }
