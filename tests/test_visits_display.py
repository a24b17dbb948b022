"""fangcang.visits.display: the visits page's tables and texts, without Streamlit."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from fangcang.models import DiscrepancyType
from fangcang.visits import display


def _queue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [7, 8],
            "type": ["use_differs", "unregistered"],
            "community_id": ["C1", "C2"],
            "house_id": ["H1", "H2"],
            "address": ["测试路**号", None],
            "name": ["陈*华", "王*"],
            "field": ["use", "new"],
            "old_value": ["self_occupied", None],
            "new_value": ["rental", "王*"],
            "confidence": [0.91234, float("nan")],
            "created_at": [datetime(2026, 10, 1, 9), datetime(2026, 10, 2, 9)],
            "decided_by": [None, "station"],
            "decided_at": [None, datetime(2026, 10, 3)],
            "reason": ["", "核实"],
        }
    )


def test_value_and_change_texts():
    assert display.value_text("use", "rental", "zh") == "出租"
    assert display.value_text("use", "rental", "en") == "Rental"
    assert display.value_text("registered_residents", 3, "zh") == "3"
    for missing in (None, float("nan"), ""):
        assert display.value_text("use", missing, "en") == "none"
    assert display.change_text("use", "self_occupied", "rental", "zh") == "自住 → 出租"
    assert display.change_text("new", None, "王*", "en") == "new floating resident: 王*"


def test_queue_table_open_and_decided():
    names = {"C1": "沿江社区", "C2": "五马社区"}
    open_ = display.queue_table(_queue(), names, "zh", one_community=False, status="open")
    assert list(open_.columns) == [
        "编号",
        "类型",
        "社区",
        "房屋",
        "姓名",
        "拟更正",
        "匹配置信度",
        "发现时间",
    ]
    assert list(open_["社区"]) == ["沿江社区", "五马社区"]
    assert list(open_["房屋"]) == ["H1 · 测试路**号", "H2 · "]
    assert list(open_["拟更正"]) == ["自住 → 出租", "新增流动人口: 王*"]
    assert list(open_["匹配置信度"]) == ["0.91", ""]
    decided = display.queue_table(_queue(), names, "zh", one_community=True, status="confirmed")
    assert "社区" not in decided.columns
    assert list(decided.columns[-3:]) == ["处理人", "处理时间", "说明"]
    assert list(decided["说明"]) == ["", "核实"]


def test_coverage_headline_and_table():
    m = pd.DataFrame(
        {
            "community_id": ["C1", "C2"],
            "name": ["甲", "乙"],
            "houses": [10, 30],
            "visited_90": [5, 3],
            "visited_365": [10, 10],
            "verified": [4, 0],
            "share_90": [0.5, 0.1],
            "share_365": [1.0, 1 / 3],
            "verified_share": [0.4, 0.0],
            "open_total": [2, 1],
            "oldest_open_days": [12.0, float("nan")],
            **{f"open_{x.value}": [0, 0] for x in DiscrepancyType},
        }
    )
    m["open_use_differs"] = [2, 1]
    cov = display.coverage(m)
    assert cov.houses == 40 and cov.open_total == 3 and cov.oldest_open_days == 12
    assert cov.share_90 == pytest.approx(8 / 40) and cov.verified == pytest.approx(4 / 40)
    assert cov.open_by_type[DiscrepancyType.USE_DIFFERS] == 3
    assert sum(cov.open_by_type.values()) == 3 and len(cov.open_by_type) == len(DiscrepancyType)
    assert display.percent_text(cov.share_365) == "50.0%"
    empty = display.coverage(m.iloc[0:0])
    assert (empty.share_90, empty.oldest_open_days) == (None, None)
    assert display.percent_text(empty.share_90) == "—" and display.count_text(None, "zh") == "—"
    table = display.coverage_table(m, "en")
    assert list(table.iloc[:, 0]) == ["乙", "甲"]  # least verified first
    assert table.iloc[1, 2] == pytest.approx(50.0)  # percent
    assert list(table.iloc[:, -1]) == ["—", "12"]


def test_changes_table():
    changes = pd.DataFrame(
        {
            "at": [datetime(2026, 10, 3)],
            "actor": ["station"],
            "type": ["use_differs"],
            "record_id": ["H1"],
            "field": ["use"],
            "old_value": ["self_occupied"],
            "new_value": ["rental"],
        }
    )
    table = display.changes_table(changes, "zh")
    assert table.iloc[0].tolist()[1:] == [
        "station",
        "房屋用途不符",
        "H1",
        "房屋用途",
        "自住",
        "出租",
    ]
