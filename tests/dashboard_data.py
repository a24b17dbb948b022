"""A tiny district with known numbers for the dashboard tests (overview, maps, trends,
community): sub-districts, stations, square communities, aggregated incidents for two years,
factors, population, record counts and stored warning runs for two months.

Every number the tests assert is derived here by construction (see the docstrings).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from fangcang import aggregates
from fangcang.models import (
    AggFactor,
    AggIncidentDay,
    AggIncidentHour,
    AggIncidentMonth,
    AggPopulation,
    AggRecords,
    FactorKind,
    IncidentCategory,
    ResidenceType,
    WarningResult,
    WarningRun,
)
from fangcang.timeutil import Month

PERIOD = Month(2026, 10)
LEVELS = ["red", "yellow", "blue", "green"]
KEYS = ["incident_rate", "crime_rate", "incident_trend", "control_gap", "floating_share"]
#: Model-2 indicators (fangcang.scoring.config.INDICATOR_KEYS).
KEYS2 = ["crime_ratio", "incident_ratio", "trend", "control_ratio", "floating_ratio"]


def explanation2(level: str, score: float) -> dict:
    """A model-2 explanation (the shape ``scoring.explain.build`` stores)."""
    items = []
    for i, k in enumerate(KEYS2):
        item = {
            "key": k,
            "ratio": 1.5 + i,
            "raw": 10.0 + i,
            "district": 8.0,
            "points": 60.0 - 10 * i,
            "weight": 0.2,
            "contribution": 12.0 - 2 * i,
        }
        if k == "trend":
            item.update(
                raw=2.5, mark="up", now=30, before=18, p=0.004, district_pct=-10.0, months=3
            )
        if k == "control_ratio":
            item.update(raw=0.25, district=0.2, factors=40, out=10)
        if k == "floating_ratio":
            item.update(raw=0.4, district=0.3)
        items.append(item)
    return {
        "model_version": 2,
        "score": score,
        "level": level,
        "raw_level": level,
        "pending": None,
        "residents": 1000,
        "zero_residents": False,
        "window_months": 12,
        "months_covered": 12,
        "significant": level in ("red", "yellow"),
        "excess_p": 0.001 if level in ("red", "yellow") else 0.5,
        "alpha": 0.01,
        "gated": False,
        "stability": 0.9,
        "window_stable": True,
        "borderline": False,
        "spread": 0.2,
        "draws": 1000,
        "indicators": items,
        "top": KEYS2,
        "hotspot": None,
    }


def explanation(level: str, score: float) -> dict:
    items = []
    for i, k in enumerate(KEYS):
        item = {
            "key": k,
            "raw": 1.5 + i,
            "percentile": 90.0 - 10 * i,
            "weight": 0.2,
            "contribution": 18.0 - 2 * i,
            "median": 1.0,
            "ratio": 1.5 + i,
        }
        if k == "incident_trend":
            item.update(raw=2.5, now=30, before=18)
        if k == "control_gap":
            item.update(raw=0.25, factors=40, out=10)
        if k == "floating_share":
            item.update(raw=0.4, median=0.3)
        items.append(item)
    return {
        "score": score,
        "level": level,
        "residents": 1000,
        "zero_residents": False,
        "window_months": 3,
        "significant": level == "red",
        "stability": 0.9,
        "window_stable": True,
        "borderline": False,
        "spread": 0.2,
        "draws": 1000,
        "indicators": items,
        "top": KEYS,
    }


def add_run(
    session, period: Month, levels: dict[str, str], version: int = 1, model_version: int = 2
) -> WarningRun:
    """Store a warning run of ``period`` with the given level per community (score by level);
    ``model_version=1`` stores an old percentile-model run (as made before migration 0007)."""
    score_of = {"red": 85.0, "yellow": 70.0, "blue": 55.0, "green": 30.0}
    run = WarningRun(
        period=str(period),
        version=version,
        created_at=datetime(2026, 11, 1),
        created_by="test",
        config="{}",
        config_hash="x" * 64,
        data_version=1,
        window_first=str(period.shift(-2)),
        n_communities=len(levels),
        model_version=model_version,
    )
    session.add(run)
    session.flush()
    for i, (cid, level) in enumerate(sorted(levels.items())):
        score = score_of[level] - i * 0.1
        vals = {k: 1.0 + i for k in KEYS}
        v2 = model_version >= 2
        extra = (
            {
                "raw_level": level,
                "excess_p": 0.001 if level in ("red", "yellow") else 0.5,
                "crime_ratio": 1.0 + i,
                "trend_mark": "flat",
                "trend_z": 0.5,
                "points": json.dumps(
                    {
                        k: {"ratio": 1.0 + i + j, "points": 10.0 * (i + j)}
                        for j, k in enumerate(KEYS2)
                    }
                ),
            }
            if v2
            else {f"p_{k}": 50.0 for k in KEYS}
        )
        session.add(
            WarningResult(
                run_id=run.id,
                community_id=cid,
                **vals,
                **extra,
                residents=1000,
                incidents=30,
                crime_incidents=10,
                incidents_year_before=18,
                factors=40,
                factors_out=10,
                score=score,
                level=level,
                stability=0.9,
                window_stable=True,
                borderline=False,
                significant=level == "red",
                explanation=json.dumps(
                    explanation2(level, score) if v2 else explanation(level, score)
                ),
            )
        )
    session.flush()
    return run


def build(session, factory, n: int = 8, with_runs: bool = True) -> dict:
    """``n`` communities in 2 sub-districts (SDA: first half, SDB: second half), 2 stations.

    Incidents (agg_incident_day and agg_incident_month): for every community and every month of 2025 and 2026 up to
    October: on the 5th, ``criminal`` 2 (2026) / 1 (2025), ``public_order`` 1 with subtype
    ``assault``, ``other`` 3 with subtype ``telecom_fraud`` of which 1 alcohol-related. So per
    community and month: 2026 total 6, 2025 total 5.
    Factors: per community 4 key persons checked 2026-10-20 (interval 30: in control at
    2026-10-31) and 2 rental houses never checked (out of control).
    Population: 100 registered, 50 floating per community.
    Warning runs: 2026-10 with levels cycling red, yellow, blue, green; 2026-09 all green.
    """
    sda = factory.sub_district("SDA", "仰义街道", label_lon=120.6, label_lat=28.0)
    sdb = factory.sub_district("SDB", "五马街道")
    st1 = factory.station("ST1", "仰义派出所", lon=120.605, lat=28.005)
    st2 = factory.station("ST2", "五马派出所", lon=120.645, lat=28.005)
    ids = []
    for i in range(n):
        sd = sda if i < n // 2 else sdb
        st = st1 if i < n // 2 else st2
        x0 = 120.60 + 0.01 * i
        c = factory.community(
            f"C{i + 1:03d}",
            name=f"社区{i + 1}" if i else "沿江社区",
            sub_district=sd,
            station=st,
            bbox=(x0, 28.0, x0 + 0.01, 28.01),
        )
        ids.append(c.community_id)
    s = session
    for cid in ids:
        for year in (2025, 2026):
            for m in range(1, 13):
                if year == 2026 and m > 10:
                    continue
                d = date(year, m, 5)
                for category, subtype, k, alcohol, loss in (
                    (IncidentCategory.CRIMINAL, "", 2 if year == 2026 else 1, 0, 0.0),
                    (IncidentCategory.PUBLIC_ORDER, "assault", 1, 0, 0.0),
                    (IncidentCategory.OTHER, "telecom_fraud", 3, 1, 100.0),
                ):
                    # the day and the month grain hold the same incidents
                    for model, when in (
                        (AggIncidentDay, {"day": d}),
                        (AggIncidentMonth, {"month": d.replace(day=1)}),
                    ):
                        s.add(
                            model(
                                community_id=cid,
                                category=category,
                                subtype=subtype,
                                n=k,
                                n_alcohol=alcohol,
                                loss_yuan=loss,
                                **when,
                            )
                        )
                s.add(
                    AggIncidentHour(
                        community_id=cid,
                        month=date(year, m, 1),
                        dow=d.weekday(),
                        hour=12,
                        category=IncidentCategory.CRIMINAL,
                        n=2 if year == 2026 else 1,
                    )
                )
                s.add(
                    AggIncidentHour(
                        community_id=cid,
                        month=date(year, m, 1),
                        dow=d.weekday(),
                        hour=21,
                        category=IncidentCategory.OTHER,
                        n=4,
                    )
                )
        s.add(
            AggFactor(
                community_id=cid,
                kind=FactorKind.KEY_PERSON,
                checked_on=date(2026, 10, 20),
                interval_days=30,
                n=4,
            )
        )
        s.add(
            AggFactor(
                community_id=cid,
                kind=FactorKind.RENTAL_HOUSE,
                checked_on=None,
                interval_days=0,
                n=2,
            )
        )
        s.add(AggPopulation(community_id=cid, residence_type=ResidenceType.REGISTERED, n=100))
        s.add(AggPopulation(community_id=cid, residence_type=ResidenceType.FLOATING, n=50))
        s.add(
            AggRecords(
                kind="people",
                source="公安户政",
                community_id=cid,
                n=150,
                last_updated=datetime(2026, 10, 30, 8),
            )
        )
        s.add(
            AggRecords(
                kind="houses",
                source="住建",
                community_id=cid,
                n=40,
                last_updated=datetime(2026, 10, 28, 8),
            )
        )
    s.flush()
    aggregates.derive(s)  # the district-wide and per-metric tables from the rows above
    if with_runs:
        add_run(s, PERIOD, {cid: LEVELS[i % 4] for i, cid in enumerate(ids)})
        add_run(s, PERIOD.shift(-1), {cid: "green" for cid in ids})
    s.commit()
    return {"ids": ids, "sub_districts": ["SDA", "SDB"], "stations": ["ST1", "ST2"]}


# ---------------------------------------------------------------------------------------------
# A city: two districts in one database (the map's city view, the district choice)
# ---------------------------------------------------------------------------------------------
#: Sub-districts: two in 鹿城区 (330302), one in 龙湾区 (330303).
CITY_SUB_DISTRICTS = {
    "330302006": "五马街道",
    "330302023": "七都街道",
    "330303024": "<b>海滨</b>街道",
}
#: Communities: (id, sub-district, level); x offsets keep the squares apart.
CITY_COMMUNITIES = [
    ("330302006001", "330302006", "red"),
    ("330302006002", "330302006", "green"),
    ("330302023001", "330302023", "blue"),
    ("330302023002", "330302023", "green"),
    ("330303024001", "330303024", "yellow"),
    ("330303024002", "330303024", None),  # no result this month
]


def city(session, factory, districts: int = 2, only: str | None = None) -> dict[str, str]:
    """``CITY_COMMUNITIES`` (``districts=1``: 鹿城区's alone; ``only``: that district's alone)
    with a warning run of ``PERIOD`` (one station, squares 0.01 degrees wide); returns
    {community_id: level} of the run."""
    keep = {only} if only else {"330302", "330303"} if districts == 2 else {"330302"}
    sds = {
        c: factory.sub_district(c, n, label_lon=None, label_lat=None)
        for c, n in CITY_SUB_DISTRICTS.items()
        if c[:6] in keep
    }
    st1 = factory.station("ST1", "五马派出所", lon=120.6, lat=28.0)
    levels = {}
    for i, (cid, sd, level) in enumerate(CITY_COMMUNITIES):
        if sd not in sds:
            continue
        x0 = 120.60 + 0.02 * i
        factory.community(
            cid,
            name=f"社区{i}",
            sub_district=sds[sd],
            station=st1,
            bbox=(x0, 28.0, x0 + 0.01, 28.01),
        )
        if level:
            levels[cid] = level
    add_run(session, PERIOD, levels)
    session.commit()
    return levels
