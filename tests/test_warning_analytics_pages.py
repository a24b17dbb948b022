"""AppTest of the warning page's analytics sections (ui/warning_analytics.py): the emerging hot
spots of the grid district (tests/test_hotspots.py) and a kept back-test with known figures,
in Chinese and English, and their empty states."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from support import GRID, LAST, grid_district

from fangcang import palette
from fangcang.access import Role, Viewer
from fangcang.models import BacktestMethod, WarningBacktest
from fangcang.scoring.config import load_config
from tests.dashboard_data import add_run

APP = str(Path(__file__).resolve().parent.parent / "app.py")

# Two kept months: rho with counts 0.9 / 1.0 (model) against 0.9 / 0.9 (12-month count).
FIGURES = {
    "2025-10": {
        BacktestMethod.MODEL: (0.9, 0.4, 1.3, 1.2),
        BacktestMethod.LAST_COUNT: (0.9, 0.5, 1.3, 0.6),
        BacktestMethod.RATE_12M: (0.6, 0.9487, 2.1, 2.1),
    },
    "2025-11": {
        BacktestMethod.MODEL: (1.0, 0.8, 2.1, 2.1),
        BacktestMethod.LAST_COUNT: (0.9, 0.6, 1.3, 0.7),
        BacktestMethod.RATE_12M: (0.7, 1.0, 2.1, 2.1),
    },
}


def keep_backtest(session) -> None:
    h = load_config().hash
    for period, by_method in FIGURES.items():
        for method, (rc, rr, pai, pai_pop) in by_method.items():
            session.add(
                WarningBacktest(
                    period=period,
                    config_hash=h,
                    method=method,
                    computed_at=datetime(2026, 1, 1),
                    data_version=1,
                    share=0.1,
                    excluded=None,
                    n_communities=11,
                    next_crime=57,
                    rho_count=rc,
                    rho_rate=rr,
                    pai=pai,
                    pai_pop=pai_pop,
                )
            )
    for method in BacktestMethod:
        session.add(
            WarningBacktest(
                period="2025-09",
                config_hash=h,
                method=method,
                computed_at=datetime(2026, 1, 1),
                data_version=1,
                share=0.1,
                excluded="window_incomplete",
                n_communities=11,
                next_crime=50,
            )
        )


@pytest.fixture
def page_db(engine, session, factory, monkeypatch):
    # Caches are keyed on the data version, which starts alike in every fresh test database.
    st.cache_data.clear()
    grid_district(session, factory)
    add_run(session, LAST, {cid: "yellow" for cid in [*GRID, "I", "N"]})
    session.commit()
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    return session


def open_warning(lang: str = "zh", period: str = str(LAST)) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = lang
    at.query_params["period"] = period
    at.switch_page("pages/warning.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at: AppTest, column: str):
    for df in at.dataframe:
        value = df.value
        data = value.data if hasattr(value, "data") else value
        if column in data.columns:
            return data
    raise AssertionError(f"no table with column {column!r}")


def test_sections_in_chinese(page_db):
    keep_backtest(page_db)
    page_db.commit()
    at = open_warning("zh")
    headers = [h.value for h in at.subheader]
    assert "新兴热点（高发案社区聚集）" in headers
    assert "回测：预警是否预见了下一季度" in headers
    assert [m.value for m in at.metric if m.label == "本月热点社区"] == ["1"]
    hot = frame_with(at, "本月Gi* z")
    assert hot["社区"].tolist() == ["格00社区"]  # only marked categories by default
    assert hot["热点类型"].tolist() == ["加剧热点"] and hot["警情趋势"].tolist() == ["上升"]
    counts = frame_with(at, "各类型社区数")
    assert dict(zip(counts["热点类型"], counts["各类型社区数"], strict=True)) == {
        "加剧热点": 1,
        "无显著模式": 8,
        "无相邻社区": 1,
        "未评估（无人口或无边界）": 1,
    }
    assert any("孤岛社区" in c.value for c in at.caption)  # the island is named

    summ = frame_with(at, "模型胜出月数")
    first = summ.iloc[0]
    assert first["预警模型"] == "0.95（0.90～1.00）"
    assert first["基线"] == "0.90（0.90～0.90）"
    assert first["差值（模型−基线）"] == "+0.05（+0.00～+0.10）"
    assert first["模型胜出月数"] == "1/2"
    assert first["指标"].startswith("排序相关ρ：下一季度警情数")
    assert "PAI（10%面积；基线：近12个月警情数）" in summ["指标"].tolist()
    months = frame_with(at, "评估月")
    assert months["评估月"].tolist() == ["2025-10", "2025-11"]
    assert months["数量：模型胜"].tolist() == ["平", "胜"]
    assert months["警情率：模型胜"].tolist() == ["负", "负"]
    assert any("2025-09（近12个月数据不完整）" in c.value for c in at.caption)
    # What the back-test covers is named: the whole database (a city's: 全市), not the page's area.
    assert any(
        "合计占鹿城区10%面积" in c.value and "回测覆盖鹿城区全部社区" in c.value for c in at.caption
    )

    # Widening the filter to every category shows the rest too.
    at.multiselect(key="hotspot_categories").set_value(
        ["intensifying_hot", "no_pattern", "island", "not_assessed"]
    ).run()
    assert len(frame_with(at, "本月Gi* z")) == 11


def test_sections_in_english(page_db):
    keep_backtest(page_db)
    page_db.commit()
    at = open_warning("en")
    hot = frame_with(at, "Gi* z this month")
    assert hot["Category"].tolist() == ["Intensifying hot spot"]
    summ = frame_with(at, "Months the model wins")
    assert summ.iloc[0]["Warning model"] == "0.95 (0.90 to 1.00)"
    assert summ.iloc[0]["Months the model wins"] == "1 of 2"
    assert "Assessment month" in frame_with(at, "Assessment month").columns
    assert any("10% of the area of Lucheng District" in c.value for c in at.caption)


def test_communities_whose_codes_name_no_district_are_said_to_be_analysed_apart(page_db, factory):
    """The grid's sub-district codes are local (no district); a community with a standard
    code (330303: 龙湾区) makes it a study area of its own: the page says so."""
    from support import XS, YS

    from fangcang.models import AggPopulation, ResidenceType

    sd = factory.sub_district("330303024", "海滨街道")
    station = factory.station("STL", "海滨派出所")
    factory.community(
        "L1",
        name="龙0社区",
        sub_district=sd,
        station=station,
        bbox=(XS[4], YS[0], XS[4] + 0.01, YS[1]),
    )
    page_db.add(AggPopulation(community_id="L1", residence_type=ResidenceType.REGISTERED, n=1000))
    keep_backtest(page_db)
    page_db.commit()
    at = open_warning("zh")
    said = [c.value for c in at.caption if "不是标准区划代码" in c.value]
    assert len(said) == 1 and said[0].startswith(f"{len(GRID) + 2}个社区") and "格00社区" in said[0]
    at = open_warning("en")
    assert any("are not standard division codes" in c.value for c in at.caption)
    # the back-test covers them all: named by the deployment, not by the one standard code
    covers = "the back-test covers every community of Lucheng District"
    assert any(covers in c.value for c in at.caption), [c.value for c in at.caption]


def test_one_district_says_nothing_of_codes(page_db):
    at = open_warning("zh")
    assert not [c.value for c in at.caption if "不是标准区划代码" in c.value]


def test_empty_states(page_db):
    at = open_warning("zh")
    assert any("暂无回测结果" in i.value for i in at.info)
    # Six months only up to 2025-06: too short for the hot-spot analysis.
    add_run(page_db, LAST.shift(-6), {cid: "green" for cid in GRID})
    page_db.commit()
    at = open_warning("zh", period=str(LAST.shift(-6)))
    assert any("无法分析新兴热点" in i.value and "10" in i.value for i in at.info)


def test_map_page_in_hot_spot_mode(page_db):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = "zh"
    at.query_params["period"] = str(LAST)
    at.query_params["colour"] = "hotspot"
    at.switch_page("pages/map.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.selectbox if s.label == "着色依据"] == ["hotspot"]
    maps = at.get("component_instance")
    assert maps, "no map component"
    args = json.loads(maps[0].proto.json_args)
    # The fill of the intensifying hot spot and of the eight communities with no pattern.
    assert args["script"].count(palette.HOTSPOT_COLOURS["intensifying_hot"]) >= 1
    assert args["script"].count(palette.HOTSPOT_COLOURS["no_pattern"]) >= 8


def test_the_pending_line_names_the_first_changes_and_counts_the_rest():
    import pandas as pd

    from ui.warning_analytics import PENDING_NAMES, pending_line

    n = PENDING_NAMES + 3
    pending = pd.DataFrame(
        {
            "name": [f"第{i}社区" for i in range(n - 1)] + ["*粗体*社区"],
            "level": ["blue"] * n,
            "raw_level": ["yellow"] * n,
        }
    )
    line = pending_line(pending)
    assert line.startswith("待生效（本月测得的新等级需连续两个月才生效）： 第0社区（蓝→黄）；")
    assert f"第{PENDING_NAMES - 1}社区" in line and f"第{PENDING_NAMES}社区" not in line
    assert line.endswith("；另有 3 个，见风险排名的“待生效变化”列")
    whole = pending_line(pending, limit=n)
    assert "另有" not in whole and r"\*粗体\*社区" in whole  # names are escaped for markdown
    assert pending_line(pending.head(2)).count("→") == 2
    with pytest.raises(ValueError, match="limit"):
        pending_line(pending, limit=0)
