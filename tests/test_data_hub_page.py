"""AppTest: the data hub page (数据中枢) shows the records it counts, by kind in a chart."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang.access import Role, Scope, Viewer
from fangcang.models import AggRecords
from tests.conftest import Factory

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "data_hub.py")


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        f = Factory(s)
        a, b = f.community("C1"), f.community("C2")
        for kind, source, cid, n in (
            ("people", "公安人口库", a.community_id, 1200),
            ("people", "公安人口库", b.community_id, 300),
            ("houses", "住建", a.community_id, 450),
            ("places", "", b.community_id, 7),
        ):
            s.add(
                AggRecords(
                    kind=kind,
                    source=source,
                    community_id=cid,
                    n=n,
                    last_updated=datetime(2026, 10, 1),
                )
            )
        s.commit()
    return sqlite_engine


def _open(viewer: Viewer) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["viewer"] = viewer
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_records_by_kind_from_data(app_db):
    at = _open(Viewer(username="admin", role=Role.ADMIN))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["基础数据总量"] == "1,957"
    chart = next(el for el in at.main if el.type == "plotly_chart")
    bars = json.loads(chart.proto.spec)["data"][0]
    # ascending, so the largest kind is the top bar; each bar carries its count
    assert list(zip(bars["y"], bars["x"], strict=True)) == [
        ("单位场所", 7),
        ("房屋", 450),
        ("人口", 1500),
    ]
    assert bars["text"] == ["7", "450", "1,500"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["类别", "来源部门", "记录数", "最新数据时间"]
    assert "(unknown)" in set(table["来源部门"])
    assert table.loc[table["来源部门"] == "公安人口库", "类别"].tolist() == ["人口"]


def test_scope_limits_the_counts(app_db):
    at = _open(Viewer(username="lead", role=Role.LEADER, scope=Scope.of(["C2"])))
    assert {m.label: m.value for m in at.metric}["基础数据总量"] == "307"
