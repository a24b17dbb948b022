"""Fixtures shared by the importer's real-world tests: the small demo's communities."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from fangcang.importer import import_bundle

CASES = Path(__file__).resolve().parent / "data" / "field-cases"
YANJIANG = "330302028001"  # 沿江社区 in the demo district


@pytest.fixture(scope="session")
def demo_base(tmp_path_factory) -> Path:
    """The small demo's divisions, stations, officers and community polygons, as a bundle."""
    from fangcang.demo.builder import write_bundle

    full = tmp_path_factory.mktemp("demo-bundle")
    write_bundle(full, scale="small")
    base = tmp_path_factory.mktemp("demo-base")
    for name in ("sub_districts.csv", "stations.csv", "officers.csv", "communities.geojson"):
        shutil.copy(full / name, base / name)
    return base


@pytest.fixture
def district(engine, demo_base, tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    result = import_bundle(engine, demo_base, actor="test")
    assert result.ok and not result.errors, result.report
    return engine


DATA_TABLES = [
    "sub_districts",
    "stations",
    "officers",
    "communities",
    "houses",
    "people",
    "places",
    "objects",
    "events",
    "incidents",
    "agg_incident_day",
    "agg_incident_hour",
    "agg_population",
    "agg_records",
]


def snapshot(engine) -> dict[str, list]:
    """Every data table's rows in a stable order (what "nothing changed" compares)."""
    out = {}
    with engine.connect() as conn:
        for name in DATA_TABLES:
            rows = conn.execute(text(f"SELECT * FROM {name}")).all()
            out[name] = sorted(tuple(str(v) for v in r) for r in rows)
        rows = conn.execute(
            text("SELECT community_id, kind, checked_on, interval_days, n FROM agg_factor")
        ).all()
        out["agg_factor"] = sorted(tuple(str(v) for v in r) for r in rows)
    return out
