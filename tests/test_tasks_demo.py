"""The task demo extension on a small district: templates, items with realistic outcomes,
more work where the warning is red, consistent history, and a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang.demo import DemoContext
from fangcang.models.tasks import ItemState, TaskHistory, TaskItem, TaskTemplate, TemplateStatus
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
