"""Specific requirements (具体要求) generated from a community's situation."""

from __future__ import annotations

from datetime import date

import pytest

from fangcang.bulletins import Situation, requirements

ISSUED = date(2026, 4, 3)


def _expl(**over) -> dict:
    """A model-2 explanation: crime ratio drives the score, the trend rises, 4 of 30 factors
    are overdue, the floating share adds nothing."""
    indicators = {
        "crime_ratio": {"key": "crime_ratio", "ratio": 2.34, "raw": 9.1, "district": 3.9,
                        "count": 57, "contribution": 20.0},
        "incident_ratio": {"key": "incident_ratio", "ratio": 1.1, "raw": 30.0,
                           "district": 27.0, "count": 210, "contribution": 0.0},
        "trend": {"key": "trend", "mark": "up", "now": 57, "before": 31, "months": 3,
                  "raw": 2.8, "contribution": 6.0},
        "control_ratio": {"key": "control_ratio", "factors": 30, "out": 4, "raw": 0.13,
                          "district": 0.05, "contribution": 0.0},
        "floating_ratio": {"key": "floating_ratio", "raw": 0.2, "district": 0.3,
                           "contribution": 0.0},
    }  # fmt: skip
    for key, values in over.items():
        indicators[key] = {**indicators[key], **values}
    top = sorted(indicators, key=lambda k: -indicators[k]["contribution"])
    return {"model_version": 2, "months_covered": 3, "indicators": list(indicators.values()),
            "top": top}  # fmt: skip


def _s(level="red", months=1, before=None, expl=None, open_=0, overdue=0) -> Situation:
    return Situation("五马社区", level, months, before, expl or _expl(), open_, overdue)


def test_newly_red_states_its_drivers_with_figures_and_deadlines():
    lines = requirements(_s(), ISSUED)
    assert lines[0].startswith("新列为红色预警社区") and "4月10日前" in lines[0]  # 7 days
    assert lines[1] == ("刑事治安警情率为全区的2.3倍（近3个月57起）：针对高发案类开展打防。")
    assert lines[2].startswith("近3个月刑事治安警情57起，去年同期31起，明显上升")
    # the control gap is stated although it adds no points: 4 factors overdue
    assert lines[3] == "4个治安要素未按期检查（共30个）：4月10日前逐一落实检查。"
    assert len(lines) == 4  # no floating line (adds nothing), no task line (none open)


def test_level_history_changes_the_level_requirement():
    assert requirements(_s(months=2, before="red"), ISSUED)[0].startswith("连续2个月红色预警")
    assert requirements(_s(months=4, before="red"), ISSUED)[0].startswith(
        "连续4个月红色预警、未能降级：提请分局挂牌督办"
    )
    down = requirements(_s("yellow", 1, "red"), ISSUED)[0]
    assert down.startswith("由红色降为黄色") and "4月17日前" in down  # 14 days
    assert requirements(_s("yellow", 3, "yellow"), ISSUED)[0].startswith("连续3个月黄色预警")
    assert requirements(_s("yellow", 1, "blue"), ISSUED)[0].startswith("新列为黄色预警社区")


def test_open_and_overdue_tasks_are_named():
    lines = requirements(_s(open_=5, overdue=2), ISSUED)
    assert lines[-1] == "尚有5项任务未完成（其中2项已逾期）：4月10日前完成并反馈。"
    lines = requirements(_s("yellow", open_=1), ISSUED)
    assert lines[-1] == "尚有1项任务未完成：4月17日前完成并反馈。"


def test_different_situations_give_different_requirements():
    falling = _expl(
        trend={"mark": "down", "now": 12, "before": 30, "contribution": 0.0},
        control_ratio={"out": 0},
        crime_ratio={"contribution": 0.0},
        incident_ratio={"ratio": 3.02, "count": 480, "contribution": 15.0},
        floating_ratio={"contribution": 5.0, "raw": 0.612, "district": 0.25},
    )
    lines = requirements(_s(expl=falling), ISSUED)
    assert lines[1] == "110警情率为全区的3.0倍（近3个月480起）：加密重点时段巡逻。"
    assert lines[2] == "流动及境外人口占61.2%（全区25.0%）：加强流动人口登记核查。"
    assert "明显下降：巩固现有措施" in lines[3]
    assert not any("治安要素" in line for line in lines)  # no factor overdue
    assert lines != requirements(_s(), ISSUED)


def test_model1_explanations_give_the_action_alone():
    old = {"top": ["crime_rate", "control_gap"], "indicators": [
        {"key": "crime_rate", "raw": 30.0, "contribution": 20.0},
        {"key": "control_gap", "raw": 0.3, "contribution": 10.0},
    ]}  # fmt: skip
    lines = requirements(_s(expl=old), ISSUED)
    assert lines[1:] == ["针对高发案类开展打防。", "对未按期检查的治安要素逐一落实检查。"]


def test_only_red_and_yellow_get_requirements():
    with pytest.raises(ValueError, match="not 'blue'"):
        requirements(_s("blue"), ISSUED)
