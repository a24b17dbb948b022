"""The task demo extension on a small district: templates, items with realistic outcomes,
more work where the warning is red, consistent history, and a second run adds nothing."""

from __future__ import annotations

import json

import pytest
import time_machine
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fangcang import audit, db
from fangcang.demo import DemoContext, builder
from fangcang.models import AuditEntry, Base
from fangcang.models.tasks import ItemState, TaskHistory, TaskItem, TaskTemplate, TemplateStatus
from fangcang.tasks import demo as tasks_demo
from fangcang.tasks import demo_extend
from fangcang.tasks import targets as targets_mod
from fangcang.timeutil import Month
from tests.conftest import Factory
from tests.tasks_support import build_district


def test_demo_extend(engine, monkeypatch):
    with Session(engine, expire_on_commit=False) as s:
        build_district(Factory(s))
        s.commit()
    monkeypatch.setattr(
        targets_mod,
        "latest_warning_levels",
        lambda s: {"C01": "red", "C02": "yellow", "C03": "green", "C04": "blue"},
    )
    ctx = DemoContext(engine=engine, scale="small", seed=7, until=Month(2026, 10))
    counts = demo_extend(ctx)
    with Session(engine) as s:
        admitted = s.scalar(
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.status == TemplateStatus.ADMITTED)
        )
        others = s.scalar(
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.status != TemplateStatus.ADMITTED)
        )
        assert counts["task_templates"] == admitted and 35 <= admitted <= 45 and others == 7
        states = dict(
            s.execute(select(TaskItem.state, func.count()).group_by(TaskItem.state)).all()
        )
        assert counts["task_items"] == sum(states.values()) > 100
        assert states[ItemState.EVALUATED] > states.get(ItemState.RETURNED, 0) > 0
        by_c = dict(
            s.execute(
                select(TaskItem.community_id, func.count()).group_by(TaskItem.community_id)
            ).all()
        )
        assert by_c["C01"] > by_c["C03"]  # more work in the red community
        # Every fed-back or evaluated item has a feedback entry; versions count the changes.
        done = s.scalars(
            select(TaskItem).where(TaskItem.state == ItemState.EVALUATED).limit(20)
        ).all()
        for it in done:
            n = s.scalar(
                select(func.count()).select_from(TaskHistory).where(TaskHistory.item_id == it.id)
            )
            assert it.version == 1 + n and it.fed_back_at is not None and it.rating is not None
    assert demo_extend(ctx) == {"task_templates": 0, "task_items": 0}


def test_full_catalogue_has_124_admitted_templates_across_seven_branches():
    import numpy as np

    from fangcang.tasks.demo import _catalogue

    rows = _catalogue(np.random.default_rng(1), 124)
    admitted = [r for r in rows if r["status"] is TemplateStatus.ADMITTED]
    assert len(admitted) == 124 and len({r["branch"] for r in admitted}) == 7
    assert len({(r["branch"], r["title"]) for r in rows}) == len(rows)  # no title twice


class _Stopped(Exception):
    """The fill interrupted (the server stopped) at one of its commits."""


def _dump(engine, after: int) -> dict:
    """What the task demo wrote, comparable across runs and backends: every row of its tables
    with the keys (ids, which a rerun may not repeat: PostgreSQL's sequences go on) replaced
    by the row's natural key, its audit entries after entry ``after`` in order (less their
    time and links), its completion marker."""
    tpl, item, hist = (
        Base.metadata.tables[t] for t in ("task_templates", "task_items", "task_history")
    )
    out = {}
    with engine.connect() as c:

        def rows(stmt):
            return sorted(map(tuple, c.execute(stmt).all()), key=repr)

        out["templates"] = rows(select(*[col for col in tpl.c if col.name != "id"]))
        item_cols = [col for col in item.c if col.name not in ("id", "template_id")]
        key = (tpl.c.branch, tpl.c.title, item.c.cycle_key, item.c.community_id)
        out["items"] = rows(select(*key, *item_cols).outerjoin(tpl, item.c.template_id == tpl.c.id))
        hist_cols = [col for col in hist.c if col.name not in ("id", "item_id")]
        out["history"] = rows(
            select(*key, *hist_cols)
            .join(item, hist.c.item_id == item.c.id)
            .outerjoin(tpl, item.c.template_id == tpl.c.id)
        )
        log = AuditEntry.__table__
        out["audit"] = [
            tuple(r)
            for r in c.execute(
                select(log.c.actor, log.c.action, log.c.target, log.c.detail)
                .where(log.c.id > after)
                .order_by(log.c.id)
            )
        ]
    with Session(engine) as s:
        out["marker"] = db.get_meta(s, tasks_demo.DONE_KEY)
    return out


class _FixedChunks:
    """``builder.ChunkSize`` writing 40 items at a time whatever the time taken."""

    def __init__(self, **kwargs) -> None:
        self.n = 40

    def took(self, seconds: float) -> None:
        return None


def _last_audit_id(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.max(AuditEntry.id))) or 0


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
def test_demo_extend_in_short_transactions_reruns_to_the_same_rows(engine, monkeypatch):
    """The task demo commits its rows in short transactions and its audit entries last with
    its completion marker; stopped in its first chunks, in the last one and while a rerun
    clears a partial run, each rerun starts over, and the end is row for row what one
    uninterrupted run writes, with one set of audit entries and the chain intact."""
    with Session(engine, expire_on_commit=False) as s:
        build_district(Factory(s))
        s.commit()
    monkeypatch.setattr(
        targets_mod,
        "latest_warning_levels",
        lambda s: {"C01": "red", "C02": "yellow", "C03": "green", "C04": "blue"},
    )
    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    monkeypatch.setattr(builder, "ChunkSize", _FixedChunks)  # several in a small district
    ctx = DemoContext(engine=engine, scale="small", seed=7, until=Month(2026, 10))
    real = builder.let_writers_in
    calls = []
    monkeypatch.setattr(builder, "let_writers_in", lambda s: (calls.append(1), real(s)))
    start = _last_audit_id(engine)
    expected = demo_extend(ctx)
    want = _dump(engine, start)
    n_pauses = len(calls)
    assert n_pauses >= 4  # templates, three chunks or more
    assert len(want["audit"]) > 10 and {a[1] for a in want["audit"]} == {"task.dispatch"}
    assert json.loads(want["marker"])["task_history"] == expected["task_history"] > 0

    # Back to the state before the demo (its audit entries stay: the chain is append-only).
    with Session(engine) as s:
        s.execute(delete(TaskHistory))
        s.execute(delete(TaskItem))
        s.execute(delete(TaskTemplate))
        s.execute(
            delete(Base.metadata.tables["meta"]).where(
                Base.metadata.tables["meta"].c.key == tasks_demo.DONE_KEY
            )
        )
        s.commit()
    start = _last_audit_id(engine)

    def stop_at(k: int):
        def pause(s):
            real(s)
            calls.append(1)
            if len(calls) == k:
                raise _Stopped

        return pause

    for k in (2, n_pauses - 1, 1):  # a chunk; the last chunk; the rerun's clearing
        calls.clear()
        monkeypatch.setattr(builder, "let_writers_in", stop_at(k))
        with pytest.raises(_Stopped):
            demo_extend(ctx)
        with Session(engine) as s:
            assert db.get_meta(s, tasks_demo.DONE_KEY) is None
            assert s.scalar(select(func.count()).select_from(TaskTemplate)) > 0
        assert _last_audit_id(engine) == start  # no audit entry refers to a partial run
    monkeypatch.setattr(builder, "let_writers_in", real)
    assert demo_extend(ctx) == expected
    assert _dump(engine, start) == want
    assert demo_extend(ctx) == {"task_templates": 0, "task_items": 0}  # complete: nothing new
    assert _dump(engine, start) == want
    with Session(engine) as s:
        assert audit.verify(s).ok
