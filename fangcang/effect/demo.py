"""Demo extension: focused work for 沿江社区 and a few other warned communities, then a year
of numbered bulletins (``fangcang.bulletins``; imported here only, so that the package
``fangcang.effect``, which the bulletins read, does not import them back)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bulletins import demo_bulletins
from ..models import Community, SubDistrict, WarningLevel
from ..scoring import store
from .focus import start_focus


def demo_extend(ctx) -> dict:
    """Demo extension: focused work from six months before the demo's last month for 沿江社区
    (仰义街道) and up to two other communities that were red in the month before; then a year of
    numbered bulletins from the stored warning runs (``fangcang.bulletins.demo_bulletins``)."""
    start_month = ctx.until.shift(-5)  # six months: start_month .. until
    counts = {"focus_work": 0}
    with Session(ctx.engine) as s:
        yj = s.scalar(
            select(Community)
            .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
            .where(Community.name == "沿江社区", SubDistrict.name.like("仰义%"))
        )
        chosen = [yj.community_id] if yj is not None else []
        levels = store.levels_for_month(s, start_month.shift(-1)) or {}
        others = sorted(
            c for c, lv in levels.items() if lv == WarningLevel.RED.value and c not in chosen
        )
        # Deterministic pick of two other red communities (by id) when the warning ran.
        chosen += others[:2]
        measures = {
            0: "派出所所长挂点督办；每周清查出租房屋和群租房；夜间巡逻加密至每晚两次；"
            "对重点人员逐人走访；联合市场监管整治娱乐场所。",
            1: "社区民警驻点；出租房屋逐户核查；重点场所每周检查。",
            2: "加强巡逻防控；重点人员走访；反诈宣传进楼入户。",
        }
        for i, cid in enumerate(chosen):
            start_focus(s, cid, start_month.first_day, measures[min(i, 2)], "demo")
            counts["focus_work"] += 1
        s.commit()
    ctx.progress(0.5, "focused work")
    counts.update(demo_bulletins(ctx))
    return counts
