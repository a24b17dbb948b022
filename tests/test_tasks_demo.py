"""The task demo extension on a small district: templates, items with realistic outcomes,
more work where the warning is red, consistent history, and a second run adds nothing."""

from __future__ import annotations

import json

import pytest
import time_machine
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support import Pauses, Stopped, audit_entries, last_audit_id

from fangcang import audit, db
from fangcang.demo import DemoContext, builder
from fangcang.models import AuditEntry, Base
from fangcang.models.tasks import (
    Cycle,
    ItemState,
    TaskHistory,
    TaskItem,
    TaskTemplate,
    TemplateStatus,
)
from fangcang.tasks import demo as tasks_demo
from fangcang.tasks import demo_extend, dispatch, items, review_template
from fangcang.tasks import targets as targets_mod
from fangcang.timeutil import Month
from tests.conftest import Factory
from tests.tasks_support import DISPATCHER, build_district


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
        out["audit"] = audit_entries(c, after)
    with Session(engine) as s:
        out["marker"] = db.get_meta(s, tasks_demo.DONE_KEY)
    return out


class _FixedChunks:
    """``builder.ChunkSize`` writing 40 items at a time whatever the time taken."""

    def __init__(self, **kwargs) -> None:
        self.n = 40

    def took(self, seconds: float) -> None:
        return None


LEVELS = {"C01": "red", "C02": "yellow", "C03": "green", "C04": "blue"}


class _Run:
    """A small district, the demo run once uninterrupted (``want``: its dump), then its rows
    removed again (its audit entries stay: the chain is append-only), ready for a stopped run."""

    def __init__(self, engine, monkeypatch) -> None:
        with Session(engine, expire_on_commit=False) as s:
            district = build_district(Factory(s))
            s.commit()
        monkeypatch.setattr(targets_mod, "latest_warning_levels", lambda s: LEVELS)
        monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
        monkeypatch.setattr(builder, "ChunkSize", _FixedChunks)  # several in a small district
        self.engine, self.monkeypatch = engine, monkeypatch
        self.district = district
        self.ctx = DemoContext(engine=engine, scale="small", seed=7, until=Month(2026, 10))
        self.pauses = Pauses(monkeypatch)
        self.real = self.pauses.real
        self.pauses.count()
        start = last_audit_id(engine)
        self.expected = demo_extend(self.ctx)
        self.want = _dump(engine, start)
        self.n_pauses = self.pauses.n
        self.n_items = len(self.want["items"])
        assert self.n_pauses >= 4 and self.n_items % 40  # templates, 3+ chunks; last one short
        assert len(self.want["audit"]) > 10
        assert {a[1] for a in self.want["audit"]} == {"task.dispatch"}
        assert json.loads(self.want["marker"])["task_history"] == self.expected["task_history"]
        with Session(engine) as s:
            self.admitted_monthly = s.scalars(
                select(TaskTemplate.title)
                .where(
                    TaskTemplate.status == TemplateStatus.ADMITTED,
                    TaskTemplate.cycle == Cycle.MONTHLY,
                )
                .order_by(TaskTemplate.id)
            ).all()
        self.reset()

    def reset(self) -> None:
        with Session(self.engine) as s:
            s.execute(delete(TaskHistory))
            s.execute(delete(TaskItem))
            s.execute(delete(TaskTemplate))
            meta = Base.metadata.tables["meta"]
            s.execute(delete(meta).where(meta.c.key == tasks_demo.DONE_KEY))
            s.commit()
        self.pauses.restore()
        self.monkeypatch.setattr(audit, "log_many", _REAL_LOG_MANY)

    def pausing(self, hook) -> None:
        """Run ``hook(s, n)`` at every pause (``n``: pauses so far), in place of the real one."""
        self.pauses.hook(hook)

    def rerun_ends_as_one_run(self, start: int) -> None:
        """A rerun (no interruption) ends row for row as one run: the audit entries after
        ``start`` are one run's, the chain verifies, and another run adds nothing."""
        self.pauses.restore()
        self.monkeypatch.setattr(audit, "log_many", _REAL_LOG_MANY)
        assert demo_extend(self.ctx) == self.expected
        assert _dump(self.engine, start) == self.want
        assert demo_extend(self.ctx) == {"task_templates": 0, "task_items": 0}
        assert _dump(self.engine, start) == self.want
        with Session(self.engine) as s:
            assert audit.verify(s).ok


_REAL_LOG_MANY = audit.log_many


def _committed(engine) -> dict:
    """What a partial run left: items, templates by status, audit entries, marker."""
    with Session(engine) as s:
        return {
            "items": s.scalar(select(func.count()).select_from(TaskItem)),
            "status": dict(
                s.execute(
                    select(TaskTemplate.status, func.count()).group_by(TaskTemplate.status)
                ).all()
            ),
            "marker": db.get_meta(s, tasks_demo.DONE_KEY),
        }


def _pending_items(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(TaskItem))


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
def test_demo_extend_in_short_transactions_reruns_to_the_same_rows(engine, monkeypatch):
    """The task demo commits its rows in short transactions and its audit entries last with
    its completion marker; stopped in its first chunks and while a rerun clears a partial
    run, each rerun starts over, and the end is row for row what one uninterrupted run
    writes, with one set of audit entries and the chain intact."""
    run = _Run(engine, monkeypatch)
    start = last_audit_id(engine)

    # The templates and a chunk; a rerun stopped in its clearing (history deleted); another
    # stopped after clearing the rest (items, templates) and writing its templates.
    for k in (2, 1, 3):
        run.pauses.stop_at(k)
        with pytest.raises(Stopped):
            demo_extend(run.ctx)
        left = _committed(engine)
        assert left["marker"] is None and sum(left["status"].values()) > 0
        assert last_audit_id(engine) == start  # no audit entry refers to a partial run
    run.rerun_ends_as_one_run(start)


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
@pytest.mark.parametrize("where", ["in_last_chunk", "after_last_chunk", "in_final_transaction"])
def test_demo_extend_stopped_at_its_end_reruns_to_the_same_rows(engine, monkeypatch, where):
    """Stopped in its last chunk (before that commit), between the last chunk and the final
    transaction, and inside the final transaction (the audit write fails): no template is
    admitted yet, no audit entry or marker is written, and a rerun ends as one run."""
    run = _Run(engine, monkeypatch)
    start = last_audit_id(engine)
    n, last = run.n_items, run.n_items % 40

    def hook(s, k):
        if where == "in_last_chunk" and _pending_items(s) == n:
            raise Stopped  # the last chunk written, not committed
        run.real(s)
        if where == "after_last_chunk" and _pending_items(s) == n:
            raise Stopped

    def failing_log_many(session, **kw):
        _REAL_LOG_MANY(session, **kw)
        raise Stopped

    run.pausing(hook)
    if where == "in_final_transaction":
        monkeypatch.setattr(audit, "log_many", failing_log_many)
    with pytest.raises(Stopped):
        demo_extend(run.ctx)
    left = _committed(engine)
    assert left["items"] == (n - last if where == "in_last_chunk" else n)
    # Until the final transaction no one can dispatch from the demo's templates.
    assert left["status"] == {TemplateStatus.PROPOSED: len(run.want["templates"])}
    assert left["marker"] is None and last_audit_id(engine) == start
    run.rerun_ends_as_one_run(start)


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
def test_users_cannot_dispatch_from_a_partial_demo_and_a_rerun_clears_what_they_did(
    engine, monkeypatch
):
    """While the demo is partial (its templates and first chunk on file), the one-click
    dispatch (一键派单) finds none of its templates and a targeted dispatch refuses them;
    an officer accepts one of its items. The rerun deletes the partial run with the
    officer's entry and ends as one run."""
    run = _Run(engine, monkeypatch)

    def stop_at(where):
        def hook(s, k):
            run.real(s)
            if (where == "first_chunk" and k == 2) or (
                where == "all_items" and _pending_items(s) == run.n_items
            ):
                raise Stopped

        return hook

    run.pausing(stop_at("first_chunk"))
    with pytest.raises(Stopped):
        demo_extend(run.ctx)
    with Session(engine) as s:
        assert _pending_items(s) == 40
        for cycle in (Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY):
            assert dispatch.dispatch_cycle(s, cycle, DISPATCHER).created == 0
        demo_tpl = s.scalar(select(func.min(TaskTemplate.id)))
        with pytest.raises(ValueError, match="no admitted template"):
            dispatch.dispatch_to(s, DISPATCHER, ["C01", "C02"], template_id=demo_tpl)
        s.commit()
    # Rerun, stopped again with all its items on file: an officer accepts an open one.
    run.pausing(stop_at("all_items"))
    with pytest.raises(Stopped):
        demo_extend(run.ctx)
    with Session(engine) as s:
        item = s.scalars(
            select(TaskItem).where(TaskItem.state == ItemState.DISPATCHED).order_by(TaskItem.id)
        ).first()
        officer = next(
            i for i, o in enumerate(run.district.officers) if o.officer_id == item.officer_id
        )
        items.accept(s, item.id, run.district.officer_viewer(officer))
        s.commit()
    run.rerun_ends_as_one_run(last_audit_id(engine))


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
def test_a_demo_template_reviewed_and_dispatched_midway_fails_the_run_and_a_rerun_recovers(
    engine, monkeypatch
):
    """A dispatcher admits one of the partial demo's templates (still proposed) and
    dispatches it while the demo writes its items: the run fails (its items collide with the
    user's, or its final review finds the template changed) and writes no audit entry; the
    rerun deletes the user's items from that template and ends as one run."""
    run = _Run(engine, monkeypatch)
    title = run.admitted_monthly[0]

    def hook(s, k):
        run.real(s)
        if k == 2:
            with Session(engine) as u:
                tpl = u.scalar(select(TaskTemplate).where(TaskTemplate.title == title))
                review_template(u, tpl.id, DISPATCHER, admit=True)
                made = dispatch.dispatch_cycle(u, Cycle.MONTHLY, DISPATCHER, template_ids=[tpl.id])
                assert made.created > 0
                u.commit()

    run.pausing(hook)
    start = last_audit_id(engine)
    with pytest.raises((RuntimeError, IntegrityError)):
        demo_extend(run.ctx)
    with Session(engine) as s:
        assert db.get_meta(s, tasks_demo.DONE_KEY) is None
        actors = set(s.scalars(select(AuditEntry.actor).where(AuditEntry.id > start)))
        assert actors == {DISPATCHER.username}  # the user's review and dispatch only
    run.rerun_ends_as_one_run(last_audit_id(engine))
