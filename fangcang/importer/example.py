"""A small, complete example bundle: the data contract by example.

Four square communities in a 2 x 2 grid near Wuma (shared borders on purpose), two officers,
and a handful of every record kind. Tests import it; departments can use it as a template
(``python -c "from fangcang.importer.example import write_example_bundle as w; w('bundle')"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

#: (community_id, name, street, station, officer_id, (min lon, min lat, max lon, max lat))
COMMUNITIES = [
    ("C001", "东门社区", "五马街道", "五马派出所", "O01", (120.60, 28.00, 120.62, 28.02)),
    ("C002", "西门社区", "五马街道", "五马派出所", "O01", (120.62, 28.00, 120.64, 28.02)),
    ("C003", "南门社区", "330302026", "松台派出所", "O02", (120.60, 28.02, 120.62, 28.04)),
    ("C004", "北门社区", "330302026", "松台派出所", "O02", (120.62, 28.02, 120.64, 28.04)),
]

UPDATED = "2026-10-01 08:00:00"

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(region: str, birth: str, seq: int) -> str:
    """A well-formed 18-digit ID (GB 11643 check digit): region 6 digits, birth YYYYMMDD."""
    body = f"{region}{birth}{seq:03d}"
    if len(body) != 17 or not body.isdigit():
        raise ValueError(f"ID body must be 17 digits, got {body!r}")
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def square(bbox) -> dict:
    x0, y0, x1, y1 = bbox
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def frames() -> dict[str, pd.DataFrame]:
    """The example records as frames with the contract's English column names."""
    officers = pd.DataFrame(
        {
            "officer_id": ["O01", "O02"],
            "name": ["王警官", "李警官"],
            "station": ["五马派出所", "松台派出所"],
            "phone": ["13800000001", "13800000002"],
            "source": "政治处",
            "updated_at": UPDATED,
        }
    )
    people = pd.DataFrame(
        {
            "person_id": [f"P{i:03d}" for i in range(1, 9)],
            "name": ["张三", "李四", "王五", "赵六", "陈七", "周八", "吴九", "郑十"],
            "id_number": [id_number("330302", f"19{80 + i}0101", i) for i in range(1, 9)],
            "phone": [f"1390000000{i}" for i in range(1, 9)],
            "gender": ["male", "female"] * 4,
            "birth_date": [f"19{80 + i}-01-01" for i in range(1, 9)],
            "residence_type": ["registered", "floating", "registered", "overseas"] * 2,
            "community_id": ["C001", "C001", "C002", "C002", "C003", "C003", "C004", "C004"],
            "house_id": ["H001", "H001", "H002", "H002", "H003", "H003", "H004", "H004"],
            "key_person_type": ["drugs", "", "", "mental", "", "", "petition", ""],
            "last_visit": ["2026-09-20", "", "", "", "", "", "2026-05-01", ""],
            "visit_interval_days": ["30", "", "", "", "", "", "", ""],
            "source": "户籍",
            "updated_at": UPDATED,
        }
    )
    houses = pd.DataFrame(
        {
            "house_id": ["H001", "H002", "H003", "H004", "H005"],
            "address": ["解放街1号101室", "解放街2号", "松台路3号", "松台路4号", "五马街5号"],
            "community_id": ["C001", "C002", "C003", "C004", ""],
            "lon": ["120.61", "120.63", "120.61", "120.63", "120.605"],
            "lat": ["28.01", "28.01", "28.03", "28.03", "28.005"],
            "use": ["rental", "group_rental", "self_occupied", "rental", "vacant"],
            "registered_residents": ["2", "6", "3", "1", "0"],
            "last_checked": ["2026-09-01", "", "", "2026-10-01", ""],
            "check_interval_days": ["90", "30", "", "", ""],
            "source": "出租房屋管理",
            "updated_at": UPDATED,
        }
    )
    places = pd.DataFrame(
        {
            "place_id": ["PL1", "PL2", "PL3", "PL4"],
            "name": ["欢乐KTV", "老城典当行", "化工仓库", "服装厂"],
            "kind": ["venue", "regulated_trade", "enterprise", "enterprise"],
            "subtype": ["ktv", "pawnshop", "dangerous_goods", "factory"],
            "community_id": ["C001", "", "C003", "C004"],
            "lon": ["", "120.63", "", ""],
            "lat": ["", "28.015", "", ""],
            "risk_level": ["high", "medium", "high", "low"],
            "last_inspected": ["2026-10-10", "", "2026-08-01", ""],
            "inspection_interval_days": ["30", "", "60", ""],
            "source": "治安大队",
            "updated_at": UPDATED,
        }
    )
    objects = pd.DataFrame(
        {
            "object_id": ["OB1", "OB2"],
            "kind": ["camera", "ebike"],
            "description": ["路口监控", "电动车"],
            "community_id": ["C001", "C004"],
            "lon": ["", ""],
            "lat": ["", ""],
            "recorded_at": ["2026-01-05 10:00:00", "2026-03-01 09:00:00"],
            "status": ["active", "active"],
            "source": "科信",
            "updated_at": UPDATED,
        }
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "kind": ["dispute", "hazard"],
            "occurred_at": ["2026-09-10 14:00:00", "2026-10-02 09:30:00"],
            "status": ["closed", "open"],
            "community_id": ["C002", ""],
            "lon": ["", "120.61"],
            "lat": ["", "28.035"],
            "description": ["邻里纠纷", "消防通道堵塞"],
            "source": "社区",
            "updated_at": UPDATED,
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": [f"I{i:03d}" for i in range(1, 9)],
            "occurred_at": [
                "2025-01-31 23:59:00",
                "2025-02-01 00:00:00",
                "2025-10-15 21:00:00",
                "2026-01-10 08:00:00",
                "2026-03-03 03:00:00",
                "2026-09-30 23:59:59",
                "2026-10-01 00:00:00",
                "2026-10-12 12:00:00",
            ],
            "category": [
                "criminal",
                "public_order",
                "dispute",
                "criminal",
                "traffic",
                "fire",
                "criminal",
                "assistance",
            ],
            "subtype": ["theft", "assault", "", "telecom_fraud", "", "", "theft", ""],
            "lon": ["", "", "", "120.61", "120.63", "120.61", "120.63", ""],
            "lat": ["", "", "", "28.01", "28.03", "28.03", "28.01", ""],
            "community_id": ["C001", "C001", "C002", "", "", "", "", "C004"],
            "loss_yuan": ["500", "0", "", "12000", "", "", "300", ""],
            "alcohol_related": ["0", "1", "0", "0", "1", "0", "0", "0"],
            "source": "110指挥中心",
            "updated_at": UPDATED,
        }
    )
    return {
        "officers": officers,
        "people": people,
        "houses": houses,
        "places": places,
        "objects": objects,
        "events": events,
        "incidents": incidents,
    }


def communities_geojson(communities=COMMUNITIES) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "community_id": cid,
                    "name": name,
                    "street": street,
                    "station": station,
                    "officer_id": officer,
                    "updated_at": UPDATED,
                },
                "geometry": square(bbox),
            }
            for cid, name, street, station, officer, bbox in communities
        ],
    }


def write_example_bundle(
    folder: str | Path, *, encoding: str = "utf-8", only: list[str] | None = None
) -> Path:
    """Write the example bundle to ``folder`` (created) and return it.

    Parameters
    ----------
    encoding : str
        CSV encoding (``utf-8``, ``utf-8-sig``, ``gb18030`` ...).
    only : list of str, optional
        Write just these kinds (``communities`` for the GeoJSON).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if only is None or "communities" in only:
        (folder / "communities.geojson").write_text(
            json.dumps(communities_geojson(), ensure_ascii=False), encoding="utf-8"
        )
    for name, frame in frames().items():
        if only is None or name in only:
            frame.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
    return folder
