"""Demo extension: 124 admitted task templates across the seven branches (plus a few waiting
for review or rejected) and about a year of task items (~12,000 at full scale).

Items are created by the real ``dispatch_cycle`` for every week, month and quarter of the
last year (so the unique key and the deadline rules are exercised), then given realistic
outcomes in bulk: most are accepted within a day and fed back on time, some late, a few left
overdue; most are rated, a few unqualified and returned (some redone). Work follows the warning
levels: several templates target the red and yellow communities, and the urgent instructions
fall more often on red communities. Run after the warning extension (it reads the levels).

Size: 580 lines because it is one demo extension; about 100 lines are its Chinese template catalogue
(``CATALOGUE``, ``URGENT_TEXTS``), the rest the templates and a year of items with their outcomes,
each step reading the rows the one before made.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .. import db
from ..access import Role, Viewer
from ..models import Community, SubDistrict
from ..models.tasks import (
    Branch,
    Cycle,
    FeedbackResult,
    ItemState,
    Rating,
    TargetKind,
    TaskAction,
    TaskHistory,
    TaskItem,
    TaskTemplate,
    TemplateStatus,
)
from ..timeutil import now_local
from . import targets
from .cycles import period_of
from .dispatch import dispatch_cycle

#: (subject, action) vocabularies per branch; titles are "<subject><action>".
CATALOGUE: dict[Branch, tuple[list[str], list[str]]] = {
    Branch.POPULATION: (
        [
            "出租房屋",
            "流动人口",
            "群租房",
            "境外人员临时住宿",
            "户籍人口",
            "重点人口",
            "空挂户",
            "新生儿落户",
        ],
        ["走访核查", "信息采集", "登记更新"],
    ),
    Branch.PUBLIC_ORDER: (
        [
            "娱乐场所",
            "旅馆业",
            "典当行",
            "二手回收点",
            "寄递物流网点",
            "危险物品单位",
            "校园周边",
            "夜市",
        ],
        ["安全检查", "治安巡查", "隐患排查"],
    ),
    Branch.NARCOTICS: (
        [
            "社区戒毒人员",
            "吸毒人员",
            "易制毒化学品单位",
            "禁毒宣传",
            "涉毒重点场所",
            "戒毒康复人员",
        ],
        ["见面谈话", "动态管控", "走访检查"],
    ),
    Branch.CRIMINAL_INVESTIGATION: (
        [
            "电信诈骗高发楼栋",
            "盗窃案件发案小区",
            "视频监控点位",
            "电动车停放点",
            "重点前科人员",
            "反诈宣传",
        ],
        ["走访排查", "线索收集", "防范宣传"],
    ),
    Branch.COUNTER_TERRORISM: (
        ["人员密集场所", "加油站", "学校医院", "反恐重点目标", "物流仓储", "制式刀具销售点"],
        ["安全检查", "应急演练", "防范检查"],
    ),
    Branch.PETITIONS: (
        ["重点信访人员", "矛盾纠纷", "群体性事件苗头", "邻里纠纷", "劳资纠纷", "物业纠纷"],
        ["稳控化解", "排查登记", "回访跟进"],
    ),
    Branch.EXIT_ENTRY: (
        ["境外人员", "涉外单位", "外籍留学生", "三非人员", "出入境证件", "境外人员住宿登记"],
        ["走访核查", "信息比对", "政策宣传"],
    ),
}

#: Admitted templates per branch (sums to 124).
PER_BRANCH = {
    Branch.POPULATION: 22,
    Branch.PUBLIC_ORDER: 22,
    Branch.NARCOTICS: 17,
    Branch.CRIMINAL_INVESTIGATION: 17,
    Branch.COUNTER_TERRORISM: 15,
    Branch.PETITIONS: 17,
    Branch.EXIT_ENTRY: 14,
}

URGENT_TEXTS = [
    "反诈中心预警：辖区居民正在接听疑似诈骗电话，立即上门劝阻",
    "反诈中心预警：居民准备向陌生账户转账，立即上门劝阻",
    "群众报警：小区内发现可疑人员，立即前往核查",
    "走失老人：家属报称老人走失，请在社区内协助寻找",
    "矛盾纠纷：邻里纠纷有激化苗头，立即上门调处",
    "重点人员动态异常：立即核实当前去向",
]


BRANCH_ZH = {
    Branch.POPULATION: "人口",
    Branch.PUBLIC_ORDER: "治安",
    Branch.NARCOTICS: "禁毒",
    Branch.CRIMINAL_INVESTIGATION: "刑侦",
    Branch.COUNTER_TERRORISM: "反恐",
    Branch.PETITIONS: "信访",
    Branch.EXIT_ENTRY: "出入境",
}


def _instructions(subject: str, action: str, branch: Branch) -> str:
    return (
        f"按{BRANCH_ZH[branch]}条线要求，对辖区{subject}开展{action}；"
        f"逐一登记核查结果，发现问题当场处置并在系统中反馈数量和情况说明。"
    )


def _catalogue(rng: np.random.Generator, n_total: int) -> list[dict]:
    """``n_total`` admitted templates spread over the branches like ``PER_BRANCH``, plus one
    more per branch that is still waiting for review (four) or was rejected (three)."""
    rows = []
    for k, (branch, n) in enumerate(PER_BRANCH.items()):
        subjects, actions = CATALOGUE[branch]
        pairs = [(s, a) for s in subjects for a in actions]
        rng.shuffle(pairs)
        take = round(n * n_total / 124)
        for j, (s, a) in enumerate(pairs[: take + 1]):
            status = TemplateStatus.ADMITTED
            if j == take:
                status = TemplateStatus.PROPOSED if k % 2 == 0 else TemplateStatus.REJECTED
            rows.append(
                {
                    "branch": branch,
                    "title": f"{s}{a}",
                    "status": status,
                    "instructions": _instructions(s, a, branch),
                }
            )
    return rows


def _target(
    rng, cycle: Cycle, comm: pd.DataFrame, sub_districts: list[str]
) -> tuple[TargetKind, str]:
    """Small targets keep a year at ~12,000 items; warning-rule targets put work where risk is."""
    r = rng.random()
    if cycle is Cycle.WEEKLY:
        if r < 0.4:
            return TargetKind.RULE, json.dumps({"levels": ["red"], "rule": "warning_level"})
        ids = sorted(
            rng.choice(comm["community_id"], size=min(4, len(comm)), replace=False).tolist()
        )
        return TargetKind.COMMUNITIES, json.dumps(ids)
    if r < 0.25:
        levels = ["red", "yellow"] if rng.random() < 0.6 else ["red"]
        return TargetKind.RULE, json.dumps(
            {"levels": levels, "rule": "warning_level"}, sort_keys=True
        )
    if r < 0.35:
        return TargetKind.RULE, json.dumps(
            {"min_houses": 100, "rule": "rental_houses"}, sort_keys=True
        )
    if r < 0.7:
        pick = sorted(rng.choice(sub_districts, size=1, replace=False).tolist())
        return TargetKind.SUB_DISTRICTS, json.dumps(pick)
    size = min(int(rng.integers(3, 12)), len(comm))
    ids = sorted(rng.choice(comm["community_id"], size=size, replace=False).tolist())
    return TargetKind.COMMUNITIES, json.dumps(ids)


def demo_extend(ctx) -> dict:
    """Templates, a year of dispatched items with outcomes, and a few open urgent items."""
    rng = np.random.default_rng(ctx.seed + 5)
    full = ctx.scale == "full"
    n_templates = 124 if full else 40
    months = 12 if full else 3
    now = now_local().replace(microsecond=0)
    start = datetime.combine(ctx.until.shift(-(months - 1)).first_day, datetime.min.time())
    office = Viewer(username="demo", role=Role.DISPATCHER)
    with Session(ctx.engine, expire_on_commit=False) as s:
        if s.scalar(select(TaskTemplate.id).limit(1)) is not None:
            return {"task_templates": 0, "task_items": 0}
        comm = pd.DataFrame(
            s.execute(
                select(
                    Community.community_id,
                    Community.officer_id,
                    Community.centroid_lon,
                    Community.centroid_lat,
                )
            ).all(),
            columns=["community_id", "officer_id", "lon", "lat"],
        )
        sub_districts = list(s.scalars(select(SubDistrict.code)))
        levels = targets.latest_warning_levels(s)
        # 1. templates: admitted, plus a few proposed (waiting for review) and rejected ones.
        cat = _catalogue(rng, n_templates)
        cycles = rng.choice(
            [Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY, Cycle.AD_HOC],
            size=len(cat),
            p=[0.05, 0.45, 0.35, 0.15],
        )
        tpls = []
        for row, cycle in zip(cat, cycles, strict=True):
            kind, value = _target(rng, Cycle(cycle), comm, sub_districts)
            status = row["status"]
            tpls.append(
                TaskTemplate(
                    branch=row["branch"],
                    title=row["title"],
                    instructions=row["instructions"],
                    cycle=Cycle(cycle),
                    target_kind=kind,
                    target_value=value,
                    est_minutes=int(rng.choice([15, 20, 30, 45, 60, 90])),
                    deadline_days={
                        Cycle.WEEKLY: 5,
                        Cycle.MONTHLY: 20,
                        Cycle.QUARTERLY: 60,
                        Cycle.AD_HOC: 7,
                    }[Cycle(cycle)]
                    if rng.random() < 0.5
                    else None,
                    status=status,
                    proposed_by=f"demo-{row['branch'].value}",
                    proposed_at=start - timedelta(days=int(rng.integers(5, 60))),
                    reviewed_by=None if status is TemplateStatus.PROPOSED else "demo",
                    reviewed_at=None
                    if status is TemplateStatus.PROPOSED
                    else start - timedelta(days=3),
                    review_reason="与现有任务重复，请合并后重新提交"
                    if status is TemplateStatus.REJECTED
                    else "",
                )
            )
        s.add_all(tpls)
        s.flush()
        ctx.progress(0.1, "task templates")
        # 2. dispatch every cycle of the window with the real one-click dispatch.
        cache: dict = {}  # levels and houses do not change while the demo dispatches
        days = pd.date_range(start.date(), now.date(), freq="D")
        plan = {
            (c, period_of(c, d).key): period_of(c, d)
            for c in (Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY)
            for d in days
        }
        for n, ((cycle, _key), period) in enumerate(
            sorted(plan.items(), key=lambda kv: kv[1].first)
        ):
            at = datetime.combine(max(period.first, start.date()), datetime.min.time()) + timedelta(
                hours=8, minutes=30
            )
            if at > now:
                at = now - timedelta(minutes=30)
            dispatch_cycle(s, cycle, office, on=period.first, now=at, target_cache=cache)
            if n % 10 == 0:
                ctx.progress(0.1 + 0.5 * n / len(plan), f"dispatch {period.key}")
        adhoc = [
            t.id for t in tpls if t.cycle is Cycle.AD_HOC and t.status is TemplateStatus.ADMITTED
        ]
        for tid in adhoc:
            for _ in range(int(rng.integers(1, 3))):
                day = (
                    start + timedelta(days=int(rng.integers(0, max((now - start).days, 1))))
                ).date()
                dispatch_cycle(
                    s,
                    Cycle.AD_HOC,
                    office,
                    on=day,
                    template_ids=[tid],
                    now=datetime.combine(day, datetime.min.time()) + timedelta(hours=9),
                    target_cache=cache,
                )
        # 3. urgent instructions: ~25 a month, weighted towards red communities.
        weight = comm["community_id"].map(
            lambda c: {"red": 6, "yellow": 3, "blue": 1.5}.get(levels.get(c), 1.0)
        )
        weight = (weight / weight.sum()).to_numpy()
        n_urgent = int(25 * months)
        urgent_rows = []
        span = (now - start).total_seconds()
        for k in range(n_urgent + 3):
            i = int(rng.choice(len(comm), p=weight))
            c = comm.iloc[i]
            if not c["officer_id"]:
                continue
            at = start + timedelta(seconds=float(rng.random() * span))
            if k >= n_urgent:  # a few open right now, for the live board
                at = now - timedelta(minutes=int(rng.integers(3, 40)))
            text = URGENT_TEXTS[int(rng.integers(len(URGENT_TEXTS)))]
            minutes = int(rng.choice([30, 60, 120]))
            urgent_rows.append(
                dict(
                    template_id=None,
                    cycle_key=at.strftime("U%Y%m%d%H%M%S") + f"{k:04d}",
                    community_id=c["community_id"],
                    officer_id=c["officer_id"],
                    branch=Branch.CRIMINAL_INVESTIGATION if "诈骗" in text else Branch.PUBLIC_ORDER,
                    title=text[:40],
                    instructions=text,
                    urgent=True,
                    source="point",
                    lon=c["lon"],
                    lat=c["lat"],
                    est_minutes=0,
                    state=ItemState.DISPATCHED,
                    dispatched_by="demo",
                    dispatched_at=at,
                    deadline=at + timedelta(minutes=minutes),
                    note="",
                    returns=0,
                    version=1,
                )
            )
        if urgent_rows:
            s.execute(insert(TaskItem), urgent_rows)
        ctx.progress(0.7, "task outcomes")
        # 4. outcomes, in bulk.
        n_hist = _outcomes(s, rng, now, levels)
        db.bump_data_version(s)
        s.commit()
    from sqlalchemy import func

    with Session(ctx.engine) as s:
        n_items = s.scalar(select(func.count()).select_from(TaskItem))
        n_tpl = s.scalar(
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.status == TemplateStatus.ADMITTED)
        )
    ctx.progress(1.0, "tasks")
    return {"task_templates": n_tpl, "task_items": n_items, "task_history": n_hist}


def _outcomes(s: Session, rng: np.random.Generator, now: datetime, levels: dict[str, str]) -> int:
    items = pd.DataFrame(
        s.execute(
            select(
                TaskItem.id,
                TaskItem.community_id,
                TaskItem.officer_id,
                TaskItem.urgent,
                TaskItem.dispatched_at,
                TaskItem.deadline,
            )
        ).all(),
        columns=["id", "community_id", "officer_id", "urgent", "dispatched_at", "deadline"],
    )
    n = len(items)
    if n == 0:
        return 0
    officers = items["officer_id"].unique()
    diligence = dict(zip(officers, rng.beta(18, 1.4, size=len(officers)), strict=True))
    red = items["community_id"].map(lambda c: levels.get(c) == "red").to_numpy()
    p_done = items["officer_id"].map(diligence).to_numpy() - 0.04 * red
    disp = pd.to_datetime(items["dispatched_at"]).to_numpy()
    dl = pd.to_datetime(items["deadline"]).to_numpy()
    urgent = items["urgent"].to_numpy(bool)
    span = (dl - disp) / np.timedelta64(1, "s")
    past = dl < np.datetime64(now)
    u = rng.random(n)
    # accepted: within a day (urgent: within minutes); fed back: before the deadline mostly.
    acc_delay = np.where(urgent, rng.uniform(60, 600, n), rng.uniform(1800, 86400, n))
    accepted = disp + (np.minimum(acc_delay, span * 0.5) * 1e9).astype("timedelta64[ns]")
    on_time = rng.random(n) < np.where(urgent, 0.93, 0.86)
    fb_off = np.where(
        on_time, rng.uniform(0.3, 0.98, n) * span, span + rng.uniform(3600, 5 * 86400, n)
    )
    fed = disp + (fb_off * 1e9).astype("timedelta64[ns]")
    done = past & ((u < p_done) | urgent)  # urgent instructions always get handled
    # Most work missed long ago was closed late in the end; what stays open is mostly recent.
    late = past & ~done & (dl < np.datetime64(now - timedelta(days=21))) & (rng.random(n) < 0.95)
    fed = np.where(
        late, dl + (rng.uniform(86400, 20 * 86400, n) * 1e9).astype("timedelta64[ns]"), fed
    )
    done = done | late
    current = ~past
    # items still running: some accepted, some already fed back (only if that time is past).
    cur_u = rng.random(n)
    fed_cur = current & (cur_u < 0.3) & (fed < np.datetime64(now)) & on_time
    completed = done | fed_cur
    fed = np.where(completed & (fed > np.datetime64(now)), np.datetime64(now), fed)
    acc_any = (
        completed
        | (current & (cur_u < 0.7) & (accepted < np.datetime64(now)))
        | (past & (rng.random(n) < 0.6))
    )
    # ratings: most completed items older than a week; a few unqualified.
    rated = completed & (fed < np.datetime64(now - timedelta(days=3))) & (rng.random(n) < 0.9)
    r = rng.random(n)
    rating = np.where(r < 0.24, "excellent", np.where(r < 0.965, "qualified", "unqualified"))
    rating = np.where(rated, rating, None)
    unq = rating == "unqualified"
    redone = unq & (rng.random(n) < 0.85)
    result = np.where(
        rng.random(n) < 0.92, "done", np.where(rng.random(n) < 0.7, "partial", "unable")
    )
    counts = rng.integers(1, 60, n)
    accepted, fed = accepted.astype("datetime64[s]"), fed.astype("datetime64[s]")
    accepted_py, fed_py = accepted.tolist(), fed.tolist()  # datetime64[s] -> datetime, fast
    rows, hist = [], []
    notes = {
        "done": "已按要求完成",
        "partial": "部分对象不在家，已约定复查",
        "unable": "对象已搬离，无法完成",
    }
    item_ids = items["id"].astype(int).tolist()  # plain lists: .at per row costs ~100x more
    officer_ids = items["officer_id"].tolist()
    for i in range(n):
        iid = item_ids[i]
        state, version = ItemState.DISPATCHED, 1
        acc_at = accepted_py[i] if acc_any[i] else None
        fb_at = fed_py[i] if completed[i] else None
        ev_at, rt, returns = None, None, 0
        res = FeedbackResult(result[i]) if completed[i] else None
        officer = f"demo-{officer_ids[i]}"
        if acc_at:
            state, version = ItemState.ACCEPTED, version + 1
            hist.append(
                dict(
                    item_id=iid,
                    at=acc_at,
                    actor=officer,
                    action=TaskAction.ACCEPT,
                    from_state=ItemState.DISPATCHED,
                    to_state=ItemState.ACCEPTED,
                    note="",
                )
            )
        if fb_at:
            state, version = ItemState.FED_BACK, version + 1
            hist.append(
                dict(
                    item_id=iid,
                    at=fb_at,
                    actor=officer,
                    action=TaskAction.FEEDBACK,
                    from_state=ItemState.ACCEPTED,
                    to_state=ItemState.FED_BACK,
                    result=res,
                    note=notes[res.value],
                    count_done=int(counts[i]),
                )
            )
            if rating[i] is not None:
                ev_at = fb_at + timedelta(days=float(rng.uniform(0.2, 3)))
                rt = Rating(rating[i])
                if rt is Rating.UNQUALIFIED:
                    state, version, returns = ItemState.RETURNED, version + 1, 1
                    hist.append(
                        dict(
                            item_id=iid,
                            at=ev_at,
                            actor="demo",
                            action=TaskAction.RETURN,
                            from_state=ItemState.FED_BACK,
                            to_state=ItemState.RETURNED,
                            rating=rt,
                            note="反馈内容不完整，请补充核查记录",
                        )
                    )
                    if redone[i] and ev_at + timedelta(days=2) < now:
                        fb_at = ev_at + timedelta(days=float(rng.uniform(0.5, 2)))
                        hist.append(
                            dict(
                                item_id=iid,
                                at=fb_at,
                                actor=officer,
                                action=TaskAction.FEEDBACK,
                                from_state=ItemState.RETURNED,
                                to_state=ItemState.FED_BACK,
                                result=FeedbackResult.DONE,
                                note="已补充核查记录",
                                count_done=int(counts[i]),
                            )
                        )
                        ev_at = fb_at + timedelta(days=1)
                        rt = Rating.QUALIFIED
                        hist.append(
                            dict(
                                item_id=iid,
                                at=ev_at,
                                actor="demo",
                                action=TaskAction.EVALUATE,
                                from_state=ItemState.FED_BACK,
                                to_state=ItemState.EVALUATED,
                                rating=rt,
                                note="",
                            )
                        )
                        state, version = ItemState.EVALUATED, version + 2
                        res = FeedbackResult.DONE
                else:
                    state, version = ItemState.EVALUATED, version + 1
                    hist.append(
                        dict(
                            item_id=iid,
                            at=ev_at,
                            actor="demo",
                            action=TaskAction.EVALUATE,
                            from_state=ItemState.FED_BACK,
                            to_state=ItemState.EVALUATED,
                            rating=rt,
                            note="",
                        )
                    )
        if state is ItemState.DISPATCHED:
            continue
        rows.append(
            dict(
                b_id=iid,
                state=state,
                version=version,
                accepted_at=acc_at,
                fed_back_at=fb_at if state is not ItemState.RETURNED else fb_at,
                evaluated_at=ev_at,
                result=res,
                note=notes[res.value] if res else "",
                count_done=int(counts[i]) if res else None,
                rating=rt,
                returns=returns,
            )
        )
    tbl = TaskItem.__table__
    if rows:
        s.connection().execute(
            update(tbl)
            .where(tbl.c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                version=bindparam("version"),
                accepted_at=bindparam("accepted_at"),
                fed_back_at=bindparam("fed_back_at"),
                evaluated_at=bindparam("evaluated_at"),
                result=bindparam("result"),
                note=bindparam("note"),
                count_done=bindparam("count_done"),
                rating=bindparam("rating"),
                returns=bindparam("returns"),
            ),
            rows,
        )
    if hist:
        cols = ("result", "count_done", "rating", "photo", "photo_type")
        for h in hist:
            for c in cols:
                h.setdefault(c, None)
        s.connection().execute(insert(TaskHistory.__table__), hist)
    return len(hist)
