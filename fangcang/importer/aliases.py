"""Accepted spellings of enum values: English values and labels, the Chinese labels in
``fangcang.i18n`` and the short forms departments write in their exports."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from functools import cache

from .. import i18n
from ..models import (
    EventKind,
    EventStatus,
    Gender,
    HouseUse,
    IncidentCategory,
    KeyPersonType,
    ObjectKind,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
    RiskLevel,
)

#: Extra accepted spellings per enum (besides value, English label and Chinese label).
EXTRA: dict[type[enum.Enum], dict[str, str]] = {
    Gender: {
        "男": "male",
        "女": "female",
        "m": "male",
        "f": "female",
        "未知": "unknown",
        "1": "male",
        "2": "female",
        "0": "unknown",
        "9": "unknown",
    },
    ResidenceType: {
        "户籍": "registered",
        "常住": "registered",
        "常住人口": "registered",
        "流动": "floating",
        "暂住": "floating",
        "暂住人口": "floating",
        "境外": "overseas",
        "境外人口": "overseas",
    },
    KeyPersonType: {
        "涉毒": "drugs",
        "吸毒": "drugs",
        "精神病": "mental",
        "肇事肇祸精神病": "mental",
        "精神障碍": "mental",
        "信访": "petition",
        "刑释": "released",
        "刑满释放": "released",
        "酗酒": "alcohol",
        "其他": "other",
    },
    HouseUse: {
        "自住": "self_occupied",
        "自用": "self_occupied",
        "出租": "rental",
        "出租房": "rental",
        "群租": "group_rental",
        "群租房": "group_rental",
        "空置": "vacant",
        "闲置": "vacant",
        "商用": "commercial",
        "经营": "commercial",
    },
    PlaceKind: {
        "企业": "enterprise",
        "单位": "enterprise",
        "场所": "venue",
        "娱乐场所": "venue",
        "特行": "regulated_trade",
        "特种行业": "regulated_trade",
    },
    PlaceSubtype: {
        "酒吧": "bar",
        "ktv": "ktv",
        "歌舞厅": "ktv",
        "网吧": "internet_cafe",
        "旅馆": "hotel",
        "宾馆": "hotel",
        "酒店": "hotel",
        "典当": "pawnshop",
        "典当行": "pawnshop",
        "二手": "second_hand",
        "废旧回收": "second_hand",
        "印刷": "printing",
        "机修": "car_repair",
        "汽修": "car_repair",
        "危化品": "dangerous_goods",
        "危险品": "dangerous_goods",
        "危险化学品": "dangerous_goods",
        "工厂": "factory",
        "商铺": "shop",
        "其他": "other",
    },
    RiskLevel: {
        "低": "low",
        "中": "medium",
        "高": "high",
        "低风险": "low",
        "中风险": "medium",
        "高风险": "high",
        "一般": "low",
        "较高": "medium",
        "重点": "high",
    },
    ObjectKind: {
        "车辆": "vehicle",
        "机动车": "vehicle",
        "电动车": "ebike",
        "电瓶车": "ebike",
        "监控": "camera",
        "摄像头": "camera",
        "危险物品": "dangerous_goods",
        "危险品": "dangerous_goods",
    },
    EventKind: {
        "纠纷": "dispute",
        "矛盾纠纷": "dispute",
        "信访": "petition",
        "隐患": "hazard",
        "安全隐患": "hazard",
        "聚集": "gathering",
    },
    EventStatus: {
        "未处置": "open",
        "待处置": "open",
        "未办结": "open",
        "处置中": "in_progress",
        "办理中": "in_progress",
        "已办结": "closed",
        "办结": "closed",
        "已处置": "closed",
    },
    IncidentCategory: {
        "刑事": "criminal",
        "刑事案件": "criminal",
        "治安": "public_order",
        "治安案件": "public_order",
        "纠纷": "dispute",
        "交通": "traffic",
        "交通事故": "traffic",
        "火灾": "fire",
        "求助": "assistance",
        "群众求助": "assistance",
        "其他": "other",
    },
}

#: Reserved incident subtypes in Chinese; other subtype text is stored as given.
INCIDENT_SUBTYPES: dict[str, str] = {
    "殴打": "assault",
    "殴打他人": "assault",
    "电信诈骗": "telecom_fraud",
    "电信网络诈骗": "telecom_fraud",
    "电诈": "telecom_fraud",
    "盗窃": "theft",
}


def _snake(cls: type) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")


def fold(text: str) -> str:
    """How cell text is compared: NFKC (full-width to ASCII), stripped and case-folded."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


@cache
def choices_for(cls: type[enum.Enum]) -> Mapping[str, str]:
    """Accepted text (folded) -> stored value for an enum class."""
    out: dict[str, str] = {}
    cat = i18n.catalogue()
    prefix = _snake(cls)
    for member in cls:
        value = member.value
        out[fold(value)] = value
        out[fold(value.replace("_", " "))] = value
        out[fold(value.replace("_", "-"))] = value
        for label in cat.get(f"{prefix}.{value}", ()):
            out[fold(label)] = value
    for text, value in EXTRA.get(cls, {}).items():
        out[fold(text)] = value
    return out


def mapping_for(choices) -> Mapping[str, str]:
    """Normalise a Field's ``choices`` (enum class or mapping) to folded text -> value."""
    if isinstance(choices, type) and issubclass(choices, enum.Enum):
        return choices_for(choices)
    out = {fold(k): v for k, v in dict(choices).items()}
    for v in dict(choices).values():
        out.setdefault(fold(v), v)
    return out
