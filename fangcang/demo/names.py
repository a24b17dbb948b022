"""Fake Chinese names, addresses and place names (vectorised by indexing into small pools)."""

from __future__ import annotations

from functools import cache

import numpy as np

# Common surnames, roughly weighted the way they are in Wenzhou (陈, 林, 黄, 王, 张 lead).
_SURNAMES = (
    "陈 林 黄 王 张 李 周 吴 郑 叶 潘 徐 金 胡 朱 杨 刘 谢 蔡 戴 余 郭 章 董 孙 何 潘 "
    "杜 夏 高 卢 方 池 项 邵 赵 季 缪 薛 麻 姜 汤 彭 应 姚 程 孔 苏 钱 邱 詹 朱 冯 梁 曾"
).split()
_SURNAMES = list(dict.fromkeys(_SURNAMES))
_SURNAME_W = np.array([1.0 / (k + 1) ** 0.9 for k in range(len(_SURNAMES))])
_SURNAME_W /= _SURNAME_W.sum()

_MALE_CHARS = list("伟强磊军勇杰涛斌超明辉刚建国华平俊峰浩宇晨鹏飞鑫宏亮志文博凯泽洋宁海波林斌坤")
_FEMALE_CHARS = list("芳娜敏静丽艳婷雪琳慧燕霞萍红玲颖洁瑶倩晶欣怡佳悦菲蓉雅琪梅兰秀丹")
_COMMON_CHARS = list("小晓文建永金春海一子思嘉雨鸿锦瑞乐安")


def _given_pool(chars: list[str]) -> np.ndarray:
    singles = chars
    doubles = [a + b for a in _COMMON_CHARS + chars[:15] for b in chars if a != b]
    return np.array(singles + doubles, dtype=object)


_MALE_GIVEN = _given_pool(_MALE_CHARS)
_FEMALE_GIVEN = _given_pool(_FEMALE_CHARS)


def _full_names(given: np.ndarray) -> np.ndarray:
    """Every surname x given-name combination (a few tens of thousands of strings)."""
    s = np.array(_SURNAMES, dtype=object)
    return (s[:, None] + given[None, :]).ravel()


_MALE_FULL = _full_names(_MALE_GIVEN)
_FEMALE_FULL = _full_names(_FEMALE_GIVEN)


def person_names(male: np.ndarray, rng: np.random.Generator):
    """Names for people of the given genders (an Arrow string array)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(male)
    male = np.asarray(male, dtype=bool)
    surname = rng.choice(len(_SURNAMES), size=n, p=_SURNAME_W)
    index = np.empty(n, dtype=np.int64)
    # Single-character given names are a minority (about 20%). Male names come first in the
    # pool, female names after them.
    offset = 0
    for given, chars, mask in (
        (_MALE_GIVEN, _MALE_CHARS, male),
        (_FEMALE_GIVEN, _FEMALE_CHARS, ~male),
    ):
        k = int(mask.sum())
        single = rng.random(k) < 0.2
        g = np.where(
            single, rng.integers(0, len(chars), k), rng.integers(len(chars), len(given), k)
        )
        index[mask] = offset + surname[mask] * len(given) + g
        offset += len(_SURNAMES) * len(given)
    return pc.take(_name_pool(), pa.array(index))


@cache
def _name_pool():
    import pyarrow as pa

    return pa.array(list(_MALE_FULL) + list(_FEMALE_FULL), pa.string())


ROAD_WORDS = list(
    "人民 解放 信河 学院 府前 飞霞 鹿城 勤奋 锦绣 车站 划龙桥 黎明 江滨 望江 安澜 "
    "上陡门 新城 松台 水心 广化 双屿 仰义 瓯江 惠民".split()
)
ROAD_SUFFIXES = ["路", "街", "巷", "大道", "东路", "西路", "北路", "南路"]


def community_roads(community_names: list[str], rng: np.random.Generator, k: int = 4):
    """A few road names per community (list of lists), starting with one named after it."""
    out = []
    for name in community_names:
        stem = name.removesuffix("社区")
        roads = [stem + ROAD_SUFFIXES[int(rng.integers(0, 4))]]
        while len(roads) < k:
            r = (
                ROAD_WORDS[int(rng.integers(0, len(ROAD_WORDS)))]
                + ROAD_SUFFIXES[int(rng.integers(0, len(ROAD_SUFFIXES)))]
            )
            if r not in roads:
                roads.append(r)
        out.append(roads)
    return out


# Place names: a shop-name word and a suffix by subtype.
BRAND_WORDS = (
    "金鹿 瓯江 新城 鸿发 东方 华越 恒信 永盛 天成 江南 锦华 瑞丰 海潮 宏达 百顺 嘉和 "
    "兴隆 富强 星光 银河 君悦 如意 福满 万家 欣悦 华鼎 联创 荣昌 鑫源 诚信 明珠 凯旋"
).split()
PLACE_SUFFIX = {
    "bar": ["酒吧", "清吧", "音乐酒吧"],
    "ktv": ["KTV", "量贩式KTV", "歌城"],
    "internet_cafe": ["网吧", "网咖", "电竞馆"],
    "hotel": ["宾馆", "酒店", "旅馆", "商务酒店"],
    "pawnshop": ["典当行"],
    "second_hand": ["二手车行", "旧货店", "二手手机店"],
    "printing": ["印刷厂", "图文快印店"],
    "car_repair": ["汽修厂", "汽车维修中心"],
    "dangerous_goods": ["加油站", "化工仓库", "液化气站", "烟花爆竹店"],
    "factory": ["鞋业有限公司", "服装厂", "阀门有限公司", "电器厂", "眼镜厂", "包装厂"],
    "shop": ["超市", "便利店", "五金店", "餐馆", "水果店", "理发店", "药店", "手机店"],
    "other": ["商贸有限公司", "科技有限公司", "物业管理处", "培训中心"],
}
