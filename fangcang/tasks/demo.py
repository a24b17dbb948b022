"""Demo extension: 124 admitted task templates across the seven branches (plus a few waiting
for review or rejected) and about a year of task items (~22,000 at full scale).

Items are planned with the one-click dispatch's own rows (``dispatch.new_item_rows``) and audit
entries (``dispatch.cycle_audit``) for every week, month and quarter of the last year, then
given realistic outcomes in bulk: most are accepted within a day and fed back on time, some
late, a few left overdue; most are rated, a few unqualified and returned (some redone). Work
follows the warning levels: several templates target the red and yellow communities, and the
urgent instructions fall more often on red communities. Run after the warning extension (it
reads the levels). Everything is computed before it is written, then written in short
transactions while the dashboard is open (``demo_extend``).

Size: 670 lines because it is one demo extension; about 100 lines are its Chinese template
catalogue (``CATALOGUE``, ``URGENT_TEXTS``), the rest the templates, a year of items with their
outcomes, and writing them in short transactions safe to rerun.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from .. import audit, db
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
from .dispatch import DispatchResult, cycle_audit, new_item_rows

log = logging.getLogger(__name__)

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


#: Meta key marking the task demo complete: written after its last rows, in the one transaction
#: of its audit entries. Without it a rerun first deletes the rows an interrupted run left.
DONE_KEY = "demo_tasks"
#: Who dispatches and evaluates the demo's items (``dispatched_by``; the audit entries' actor).
ACTOR = "demo"
#: Items per short write at first (each with its history rows; then sized by ``ChunkSize``).
FIRST_CHUNK = 1_000


def demo_extend(ctx) -> dict:
    """Templates, a year of dispatched items with outcomes, and a few open urgent items.

    The dashboard is open meanwhile, so every row is computed before it is written (reads do
    not block SQLite's writers) and written in short transactions with
    ``fangcang.demo.builder.let_writers_in`` between them: the templates, all as proposed
    (so that no one can dispatch from them while the demo's items are missing: a user's
    dispatch would take the demo's keys, ``uq_task_items_key``); the items, each in its
    final state with its history, in chunks (``builder.ChunkSize``); last, in one
    transaction, the templates' reviews (admitted or rejected, as planned), the dispatches'
    audit entries (``task.dispatch``, one per dispatched cycle as ``dispatch_cycle`` writes
    them), the completion marker (meta ``demo_tasks``) and the data version.

    Safe to rerun after an interruption at any point: without the marker a rerun first
    deletes the partial run (``_clear_partial``) and ends with the rows of one uninterrupted
    run; with it, it writes nothing. A partial run is demo data being built: what users did
    to it meanwhile goes with it. A rerun also deletes the history entries users added to
    the demo's items (an officer accepting one) and any item dispatched from a demo template
    (possible only if a user reviewed one first); their audit entries stay (the chain is
    append-only) and name rows that no longer exist. If a user reviewed or edited a demo
    template while the run was partial, the final transaction refuses (``RuntimeError``,
    nothing of it written) and a rerun starts over.
    """
    from ..demo import builder

    def pause(session: Session) -> None:
        builder.let_writers_in(session)  # looked up at each call (tests interrupt here)

    rng = np.random.default_rng(ctx.seed + 5)
    full = ctx.scale == "full"
    n_templates = 124 if full else 40
    months = 12 if full else 3
    now = now_local().replace(microsecond=0)
    start = datetime.combine(ctx.until.shift(-(months - 1)).first_day, datetime.min.time())
    with Session(ctx.engine, expire_on_commit=False) as s:
        if db.get_meta(s, DONE_KEY) is not None:
            return {"task_templates": 0, "task_items": 0}
        _clear_partial(s, pause)
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
        tpls, reviews = [], []
        for row, cycle in zip(cat, cycles, strict=True):
            kind, value = _target(rng, Cycle(cycle), comm, sub_districts)
            status = row["status"]
            reviews.append(
                dict(
                    status=status,
                    reviewed_by=None if status is TemplateStatus.PROPOSED else ACTOR,
                    reviewed_at=None
                    if status is TemplateStatus.PROPOSED
                    else start - timedelta(days=3),
                    review_reason="与现有任务重复，请合并后重新提交"
                    if status is TemplateStatus.REJECTED
                    else "",
                )
            )
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
                    proposed_by=f"demo-{row['branch'].value}",
                    proposed_at=start - timedelta(days=int(rng.integers(5, 60))),
                    # reviewed as planned in the final transaction (``_review``)
                    status=TemplateStatus.PROPOSED,
                    reviewed_by=None,
                    reviewed_at=None,
                    review_reason="",
                )
            )
        s.add_all(tpls)
        pause(s)  # ids assigned by the flush before the commit
        ctx.progress(0.1, "task templates")
        # 2. every cycle of the window dispatched as the one-click dispatch would (planned
        # here, written in step 5).
        admitted = [
            t for t, r in zip(tpls, reviews, strict=True) if r["status"] is TemplateStatus.ADMITTED
        ]
        plan = _Plan(s, admitted)
        days = pd.date_range(start.date(), now.date(), freq="D")
        periods = {
            (c, period_of(c, d).key): period_of(c, d)
            for c in (Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY)
            for d in days
        }
        for n, ((cycle, _key), period) in enumerate(
            sorted(periods.items(), key=lambda kv: kv[1].first)
        ):
            at = datetime.combine(max(period.first, start.date()), datetime.min.time()) + timedelta(
                hours=8, minutes=30
            )
            if at > now:
                at = now - timedelta(minutes=30)
            plan.dispatch(cycle, period.first, at)
            if n % 10 == 0:
                ctx.progress(0.1 + 0.2 * n / len(periods), f"dispatch {period.key}")
        adhoc = [t.id for t in admitted if t.cycle is Cycle.AD_HOC]
        for tid in adhoc:
            for _ in range(int(rng.integers(1, 3))):
                day = (
                    start + timedelta(days=int(rng.integers(0, max((now - start).days, 1))))
                ).date()
                plan.dispatch(
                    Cycle.AD_HOC,
                    day,
                    datetime.combine(day, datetime.min.time()) + timedelta(hours=9),
                    template_ids=[tid],
                )
        # 3. urgent instructions: ~25 a month, weighted towards red communities.
        weight = comm["community_id"].map(
            lambda c: {"red": 6, "yellow": 3, "blue": 1.5}.get(levels.get(c), 1.0)
        )
        weight = (weight / weight.sum()).to_numpy()
        n_urgent = int(25 * months)
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
            plan.items.append(
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
                    dispatched_by=ACTOR,
                    dispatched_at=at,
                    deadline=at + timedelta(minutes=minutes),
                    note="",
                    returns=0,
                    version=1,
                )
            )
        ctx.progress(0.35, "task outcomes")
        # 4. outcomes, in bulk: each item's final state and its history.
        history = _outcomes(plan.items, rng, now, levels)
        ctx.progress(0.4, "task items")
        # 5. the items and their history in short writes, then the audit entries and marker.
        n_hist = _write_items(s, plan.items, history, pause, ctx.progress)
        _review(s, [(t.id, r) for t, r in zip(tpls, reviews, strict=True)])
        audit.log_many(s, actor=ACTOR, entries=plan.audits)
        db.set_meta(
            s, DONE_KEY, json.dumps({"task_items": len(plan.items), "task_history": n_hist})
        )
        db.bump_data_version(s)
        s.commit()
    with Session(ctx.engine) as s:
        n_items = s.scalar(select(func.count()).select_from(TaskItem))
        n_tpl = s.scalar(
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.status == TemplateStatus.ADMITTED)
        )
    ctx.progress(1.0, "tasks")
    return {"task_templates": n_tpl, "task_items": n_items, "task_history": n_hist}


class _Plan:
    """The items a year of one-click dispatches creates (``dispatch_cycle``'s rows and audit
    entries, computed without writing: the demo's templates are new, so the only items a
    dispatch finds existing are the ones planned before it)."""

    def __init__(self, session: Session, admitted: list[TaskTemplate]) -> None:
        self.session = session
        self.templates = sorted(admitted, key=lambda t: t.id)  # still proposed on file
        self.officer_of = dict(
            session.execute(select(Community.community_id, Community.officer_id)).all()
        )
        self.targets: dict[tuple, list[str]] = {}  # levels and houses do not change meanwhile
        self.sent: dict[tuple[int, str], set[str]] = {}
        self.items: list[dict] = []
        self.audits: list[dict] = []

    def dispatch(self, cycle: Cycle, on, at: datetime, template_ids: list[int] | None = None):
        period = period_of(cycle, on)
        chosen = [
            t
            for t in self.templates
            if t.cycle is cycle and (template_ids is None or t.id in template_ids)
        ]
        result = DispatchResult(templates=len(chosen), cycle_keys={period.key})
        for tpl in chosen:
            key = (tpl.target_kind, tpl.target_value)
            if key not in self.targets:
                self.targets[key] = targets.resolve(self.session, *key)
            sent = self.sent.setdefault((tpl.id, period.key), set())
            rows = new_item_rows(
                tpl, self.targets[key], period, ACTOR, at, self.officer_of, sent, result
            )
            sent.update(r["community_id"] for r in rows)
            result.created += len(rows)
            result.by_template[tpl.id] = len(rows)
            self.items.extend(rows)
        self.audits.append(cycle_audit(cycle, period.key, result))


#: Every column of an item row as written (rows planned by different steps name different
#: columns; the rest are NULL).
_ITEM_COLUMNS = [c.name for c in TaskItem.__table__.columns if c.name != "id"]
_HISTORY_COLUMNS = [c.name for c in TaskHistory.__table__.columns if c.name not in ("id",)]


def _write_items(
    s: Session, items: list[dict], history: dict[int, list[dict]], pause, progress
) -> int:
    """Insert ``items`` (in order) with their ``history`` ({item position: entries}) in short
    transactions, ``pause(s)`` after each. Returns the number of history entries."""
    from ..demo.builder import ChunkSize

    table, hist_table = TaskItem.__table__, TaskHistory.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    size, done, n_hist = ChunkSize(start=FIRST_CHUNK), 0, 0
    while done < len(items):
        t0 = time.perf_counter()
        chunk = items[done : done + size.n]
        rows = [{c: row.get(c) for c in _ITEM_COLUMNS} for row in chunk]
        ids = s.execute(stmt, rows).scalars().all()
        entries = [
            {**{c: None for c in _HISTORY_COLUMNS}, **h, "item_id": item_id}
            for pos, item_id in enumerate(ids, start=done)
            for h in history.get(pos, ())
        ]
        if entries:
            s.execute(insert(hist_table), entries)
        done += len(chunk)
        n_hist += len(entries)
        size.took(time.perf_counter() - t0)
        pause(s)
        progress(0.4 + 0.55 * done / len(items), "task items")
    return n_hist


def _review(s: Session, reviews: list[tuple[int, dict]]) -> None:
    """Give the demo's templates (written as proposed) their planned reviews, in the caller's
    transaction; they keep version 1, as if written reviewed.

    Raises
    ------
    RuntimeError
        A template is no longer as the demo wrote it (a user reviewed or edited it while the
        run was partial); the transaction is rolled back and a rerun starts over.
    """
    tpl = TaskTemplate.__table__
    for tid, review in reviews:
        if review["status"] is TemplateStatus.PROPOSED:
            continue
        done = s.execute(
            update(tpl)
            .where(
                tpl.c.id == tid,
                tpl.c.status == TemplateStatus.PROPOSED,
                tpl.c.version == 1,
                tpl.c.reviewed_by.is_(None),
            )
            .values(**review)
        )
        if done.rowcount != 1:
            s.rollback()
            raise RuntimeError(
                f"tasks demo: template {tid} was reviewed or edited while the demo was being "
                "written; run the extension again (it starts over)"
            )


def _clear_partial(s: Session, pause, step: int = 5_000) -> int:
    """Delete what an interrupted run wrote, in short transactions: the demo's templates, its
    items, any item dispatched from its templates (by a user who reviewed one meanwhile)
    and the history of these items (users' entries too), children first: no row is left
    pointing at a deleted one. Returns the number of rows deleted."""
    items, hist, tpl = TaskItem.__table__, TaskHistory.__table__, TaskTemplate.__table__
    demo_tpls = select(tpl.c.id).where(tpl.c.proposed_by.like("demo-%"))
    demo_items = select(items.c.id).where(
        or_(items.c.dispatched_by == ACTOR, items.c.template_id.in_(demo_tpls))
    )
    n = 0
    while ids := s.scalars(
        select(hist.c.id).where(hist.c.item_id.in_(demo_items)).limit(step)
    ).all():
        s.execute(delete(hist).where(hist.c.id.in_(ids)))
        n += len(ids)
        pause(s)
    while ids := s.scalars(demo_items.limit(step)).all():
        s.execute(delete(items).where(items.c.id.in_(ids)))
        n += len(ids)
        pause(s)
    # Read first: a DELETE takes SQLite's write lock even when it deletes nothing.
    if ids := s.scalars(demo_tpls).all():
        s.execute(delete(tpl).where(tpl.c.id.in_(ids)))
        n += len(ids)
        pause(s)
    if n:
        log.info("tasks demo: %d rows of an interrupted run deleted", n)
    return n


def _outcomes(
    planned: list[dict], rng: np.random.Generator, now: datetime, levels: dict[str, str]
) -> dict[int, list[dict]]:
    """Give the ``planned`` items (dispatched rows, in order) realistic outcomes: each item
    that changed gets its final fields in place; returns its history entries by position."""
    items = pd.DataFrame(
        {
            k: [row[k] for row in planned]
            for k in ("community_id", "officer_id", "urgent", "dispatched_at", "deadline")
        }
    )
    n = len(items)
    if n == 0:
        return {}
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
    history: dict[int, list[dict]] = {}
    notes = {
        "done": "已按要求完成",
        "partial": "部分对象不在家，已约定复查",
        "unable": "对象已搬离，无法完成",
    }
    officer_ids = items["officer_id"].tolist()  # plain lists: .at per row costs ~100x more
    for i in range(n):
        hist: list[dict] = []
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
        history[i] = hist
        planned[i].update(
            state=state,
            version=version,
            accepted_at=acc_at,
            fed_back_at=fb_at,
            evaluated_at=ev_at,
            result=res,
            note=notes[res.value] if res else "",
            count_done=int(counts[i]) if res else None,
            rating=rt,
            returns=returns,
        )
    return history
