"""Places (企、场所、特种行业), objects (物) and events (事)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import idcard, names
from .bundle import labels, pick, strcat
from .geography import Geography, sample_points
from .people import updated_at
from .story import PLACE_INTERVAL, Scale, allocate, last_checks

#: subtype -> (kind, share in town, share in suburbs, share in the countryside)
SUBTYPES: dict[str, tuple[str, float, float, float]] = {
    "shop": ("enterprise", 0.52, 0.40, 0.38),
    "factory": ("enterprise", 0.05, 0.22, 0.28),
    "other": ("enterprise", 0.12, 0.10, 0.08),
    "dangerous_goods": ("enterprise", 0.006, 0.012, 0.02),
    "bar": ("venue", 0.045, 0.015, 0.005),
    "ktv": ("venue", 0.03, 0.015, 0.008),
    "internet_cafe": ("venue", 0.02, 0.02, 0.01),
    "hotel": ("regulated_trade", 0.06, 0.04, 0.02),
    "pawnshop": ("regulated_trade", 0.008, 0.004, 0.001),
    "second_hand": ("regulated_trade", 0.02, 0.025, 0.015),
    "printing": ("regulated_trade", 0.015, 0.015, 0.008),
    "car_repair": ("regulated_trade", 0.03, 0.05, 0.06),
}
SUBTYPE_NAMES = np.array(list(SUBTYPES))
SUBTYPE_KIND = np.array([v[0] for v in SUBTYPES.values()])
VENUE_SUBTYPES = ("bar", "ktv", "internet_cafe")
RISKS = np.array(["low", "medium", "high"])


def make_places(geo: Geography, prof: pd.DataFrame, scale: Scale, end, rng) -> dict:
    """Places with kind, subtype, risk level and inspection (a factor for venues, regulated
    trades and dangerous goods)."""
    urban_c = geo.communities["urban"].to_numpy()
    weight = prof["pop_w"].to_numpy() * (0.6 + 0.4 * prof["venue_w"].to_numpy())
    counts = allocate(scale.places, weight, rng, minimum=2)
    owner, lon, lat = sample_points(list(geo.communities["geometry"]), counts, rng)
    n = len(owner)
    urban = urban_c[owner]
    venue_w = prof["venue_w"].to_numpy()[owner]
    table = np.array([[v[3], v[2], v[1]] for v in SUBTYPES.values()])  # subtype x urban level
    p = table[:, urban].T  # n x subtypes
    is_venue = np.isin(SUBTYPE_NAMES, VENUE_SUBTYPES)
    p = p * np.where(is_venue[None, :], venue_w[:, None], 1.0)
    p /= p.sum(axis=1, keepdims=True)
    sub = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    sub = np.minimum(sub, len(SUBTYPE_NAMES) - 1)
    subtype = SUBTYPE_NAMES[sub]
    kind = SUBTYPE_KIND[sub]

    worse = prof["worse"].to_numpy()[owner]
    risk_p = np.tile([0.8, 0.18, 0.02], (n, 1))
    risk_p[kind == "venue"] = [0.3, 0.5, 0.2]
    risk_p[kind == "regulated_trade"] = [0.4, 0.45, 0.15]
    risk_p[subtype == "dangerous_goods"] = [0.0, 0.3, 0.7]
    risk_p[worse] = risk_p[worse] * [0.5, 1.0, 2.0]
    risk_p /= risk_p.sum(axis=1, keepdims=True)
    risk = RISKS[(rng.random(n)[:, None] > np.cumsum(risk_p, axis=1)).sum(axis=1).clip(max=2)]

    factor_kind = np.where(subtype == "dangerous_goods", "dangerous_goods", kind)
    interval = np.array([PLACE_INTERVAL[k] for k in factor_kind])
    overdue = prof["overdue"].to_numpy()[owner]
    overdue = np.where(factor_kind == "enterprise", 0.25, overdue)
    inspected = last_checks(interval, overdue, end, rng)

    brand = labels(names.BRAND_WORDS, rng.integers(0, len(names.BRAND_WORDS), n))
    suffix_pool, suffix_idx = [], np.empty(n, dtype=np.int64)
    for st, pool in names.PLACE_SUFFIX.items():
        m = subtype == st
        suffix_idx[m] = len(suffix_pool) + rng.integers(0, len(pool), int(m.sum()))
        suffix_pool += pool
    suffix = labels(suffix_pool, suffix_idx)
    stem = labels([nm.removesuffix("社区") for nm in geo.communities["name"]], owner)
    name = pick(rng.random(n) < 0.5, strcat(stem, brand, suffix), strcat(brand, suffix))
    source = np.select(
        [subtype == "dangerous_goods", kind == "enterprise"],
        ["应急管理局", "市场监管局"],
        default="治安大队",
    )
    return {
        "place_id": idcard.fixed_ids("PL", n, 7),
        "name": name,
        "kind": kind,
        "subtype": subtype,
        "community_id": labels(geo.communities["community_id"], owner),
        "lon": lon,
        "lat": lat,
        "risk_level": risk,
        "last_inspected": inspected,
        "inspection_interval_days": interval,
        "source": source,
        "updated_at": updated_at(end, 90, n, rng),
        "_owner": owner,
    }


def _pick_points(houses: dict, owner: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """A random house's point in each record's community (records happen at addresses)."""
    h_owner = houses["_owner"]
    n_comm = int(h_owner.max()) + 1
    first = np.searchsorted(h_owner, np.arange(n_comm), side="left")
    count = np.searchsorted(h_owner, np.arange(n_comm), side="right") - first
    k = first[owner] + (rng.random(len(owner)) * count[owner]).astype(np.int64)
    return houses["lon"][k], houses["lat"][k]


def _plates(n: int, rng, province: str = "浙C") -> np.ndarray:
    alnum = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", dtype=np.uint8)
    codes = alnum[rng.integers(0, len(alnum), (n, 5))]
    return strcat(province, idcard.digits_to_str(codes))


OBJECT_KINDS = np.array(["vehicle", "ebike", "camera", "dangerous_goods"])
OBJECT_P = np.array([0.38, 0.54, 0.07, 0.01])


def make_objects(geo: Geography, prof: pd.DataFrame, houses: dict, scale: Scale, end, rng):
    counts = allocate(scale.objects, prof["pop_w"], rng, minimum=1)
    owner = np.repeat(np.arange(len(counts)), counts)
    n = len(owner)
    kind_i = rng.choice(len(OBJECT_KINDS), size=n, p=OBJECT_P)
    kind = OBJECT_KINDS[kind_i]
    lon, lat = _pick_points(houses, owner, rng)
    vehicle_type = labels(
        ["小型轿车", "小型普通客车", "轻型货车", "两轮摩托车"], rng.integers(0, 4, n)
    )
    goods = labels(
        ["液化石油气钢瓶", "工业氧气瓶", "乙炔气瓶", "油漆稀释剂"], rng.integers(0, 4, n)
    )
    ebike_no = idcard.digits_to_str(idcard.int_digits(rng.integers(0, 10**6, n), 6) + 48)
    desc = pick(
        kind == "vehicle",
        strcat(_plates(n, rng), " ", vehicle_type),
        pick(
            kind == "ebike",
            strcat("电动自行车 鹿城", ebike_no),
            pick(
                kind == "camera",
                strcat("公共视频监控点 #", np.arange(1, n + 1)),
                strcat(goods, " ", rng.integers(1, 40, n), "件"),
            ),
        ),
    )
    status = np.where(
        kind == "camera",
        np.where(rng.random(n) < 0.94, 0, 3),
        np.select([rng.random(n) < 0.03, rng.random(n) < 0.02], [1, 2], 0),
    )
    recorded = (end - rng.integers(0, 6 * 365, n).astype("timedelta64[D]")).astype(
        "datetime64[s]"
    ) + rng.integers(0, 86400, n).astype("timedelta64[s]")
    source = labels(["交警大队", "交警大队", "科技信息化大队", "治安大队"], kind_i)
    return {
        "object_id": idcard.fixed_ids("OB", n, 8),
        "kind": labels(OBJECT_KINDS, kind_i),
        "description": desc,
        "community_id": labels(geo.communities["community_id"], owner),
        "lon": lon,
        "lat": lat,
        "recorded_at": recorded,
        "status": labels(["active", "scrapped", "stolen", "offline"], status),
        "source": source,
        "updated_at": updated_at(end, 45, n, rng),
    }


EVENT_KINDS = np.array(["dispute", "petition", "hazard", "gathering"])
EVENT_P = np.array([0.5, 0.1, 0.3, 0.1])
EVENT_TEXT = {
    "dispute": [
        "邻里噪音纠纷",
        "房屋租赁纠纷",
        "劳资纠纷",
        "婚姻家庭纠纷",
        "物业纠纷",
        "停车位纠纷",
    ],
    "petition": ["拆迁补偿信访", "劳动报酬信访", "涉法涉诉信访", "环境问题信访"],
    "hazard": ["消防通道堵塞", "电动车违规充电", "群租房消防隐患", "燃气管道老化", "高空坠物隐患"],
    "gathering": ["讨薪聚集", "业主维权聚集", "集访苗头", "网约车司机聚集"],
}


def make_events(geo: Geography, prof: pd.DataFrame, houses: dict, scale: Scale, months, end, rng):
    """Events over the demo's months, mostly closed except recent ones."""
    w = prof["pop_w"].to_numpy() * np.where(prof["worse"], 2.0, 1.0)
    counts = allocate(scale.events, w, rng, minimum=1)
    owner = np.repeat(np.arange(len(counts)), counts)
    n = len(owner)
    kind_i = rng.choice(len(EVENT_KINDS), size=n, p=EVENT_P)
    kind = EVENT_KINDS[kind_i]
    start = months[0].start
    span = (np.datetime64(months[-1].end) - np.datetime64(start)).astype("timedelta64[s]")
    occurred = np.datetime64(start, "s") + (rng.random(n) * span.astype(np.int64)).astype(
        "timedelta64[s]"
    )
    age = (np.datetime64(end, "s") - occurred).astype("timedelta64[D]").astype(np.int64)
    u = rng.random(n)
    status = np.where(
        age > 60,
        np.where(u < 0.97, "closed", "in_progress"),
        np.select([u < 0.3, u < 0.6], ["open", "in_progress"], "closed"),
    )
    text_pool, text_idx = [], np.empty(n, dtype=np.int64)
    for k, pool in EVENT_TEXT.items():
        m = kind == k
        text_idx[m] = len(text_pool) + rng.integers(0, len(pool), int(m.sum()))
        text_pool += pool
    lon, lat = _pick_points(houses, owner, rng)
    order = np.argsort(occurred, kind="stable")
    out = {
        "event_id": idcard.fixed_ids("EV", n, 8),
        "kind": labels(EVENT_KINDS, kind_i[order]),
        "occurred_at": occurred[order],
        "status": status[order],
        "community_id": labels(geo.communities["community_id"], owner[order]),
        "lon": lon[order],
        "lat": lat[order],
        "description": labels(text_pool, text_idx[order]),
        "source": labels(["综治中心", "信访局", "应急管理局", "治安大队"], kind_i[order]),
    }
    out["updated_at"] = np.maximum(out["occurred_at"], updated_at(end, 30, n, rng))
    return out
