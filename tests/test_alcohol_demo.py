"""The demo's practice story on the small district: one practising station, no escalation there
while another station shows some, every mediation resolved, files for the repeat people."""

from __future__ import annotations

import json
import shutil

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang import demo, mediation
from fangcang.access import Role, Scope, scope_for
from fangcang.alcohol.practice import page_view
from fangcang.models import AlcoholPersonFile, MediationReferral, PatrolCheckin, TaskItem
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)


def test_demo_story(sqlite_engine, monkeypatch):
    monkeypatch.setattr(
        demo, "EXTENSIONS", ["fangcang.auth:demo_extend", "fangcang.alcohol:demo_extend"]
    )
    result = demo.build(sqlite_engine, scale="small", seed=3, until=UNTIL)
    counts = result["extensions"]["fangcang.alcohol:demo_extend"]
    station = counts["station"]
    with Session(sqlite_engine) as s:
        practising = page_view(s, scope_for(s, Role.STATION, station), 12)
        district = page_view(s, Scope.district(), 12)
        f = practising.practice.figures
        assert f["points"] == counts["patrol_points"] > 0
        assert f["escalations"] == 0
        assert district.practice.figures["escalations"] == counts["escalations_elsewhere"] > 0
        assert 0.8 < f["coverage"] < 0.95
        assert f["files"] == s.scalar(select(func.count()).select_from(AlcoholPersonFile)) > 0
        assert f["repeat_people"] == f["files"]
        refs = mediation.referrals(s, Scope.district())
        assert len(refs) == counts["mediation_referrals"] > 0
        assert set(refs["outcome"]) == {"resolved"} and set(refs["station_id"]) == {station}
        assert (
            s.scalar(select(func.count()).select_from(PatrolCheckin)) == counts["patrol_checkins"]
        )
        assert s.scalar(select(func.count()).select_from(MediationReferral)) == len(refs)
        assert s.scalar(select(func.count()).select_from(TaskItem)) == counts["review_items"] > 0


class _Stopped(Exception):
    """The fill interrupted (the server stopped) at one of its commits."""


#: Columns two runs write differently by nature: keys (PostgreSQL's sequences), clocks, the
#: audit chain's links.
_VOLATILE = {
    "id",
    "template_id",
    "started_at",
    "finished_at",
    "duration_s",
    "at",
    "prev_hash",
    "hash",
    "mac",
}
_TABLES = (
    "patrol_points",
    "patrol_plans",
    "patrol_checkins",
    "incident_people",
    "alcohol_person_files",
    "alcohol_measures",
    "mediation_referrals",
    "mediation_sessions",
    "mediation_consultations",
    "task_templates",
    "task_items",
    "import_log",
)


def _dump(engine, after: int) -> dict:
    """What the alcohol demo writes, comparable across databases: its tables' rows less
    ``_VOLATILE`` columns, and its audit entries after entry ``after`` in order."""
    from fangcang.models import AuditEntry, Base

    out = {}
    with engine.connect() as c:
        for name in _TABLES:
            table = Base.metadata.tables[name]
            cols = [col for col in table.columns if col.name not in _VOLATILE]
            stmt = select(*cols)
            if name == "import_log":  # the demo's files, not the base import
                stmt = stmt.where(table.c.bundle.like("%.csv"))
            out[name] = sorted(map(tuple, c.execute(stmt).all()), key=repr)
        log = AuditEntry.__table__
        out["audit"] = [
            tuple(r)
            for r in c.execute(
                select(log.c.actor, log.c.action, log.c.target, log.c.detail)
                .where(log.c.id > after)
                .order_by(log.c.id)
            )
        ]
    return out


def _small_base(engine, monkeypatch) -> int:
    """A small demo built up to its accounts; returns its last audit entry's id."""
    from fangcang.demo import builder
    from fangcang.models import AuditEntry

    monkeypatch.setattr(demo, "EXTENSIONS", [builder.ACCOUNTS_EXTENSION])
    demo.build(engine, scale="small", seed=3, until=UNTIL)
    with Session(engine) as s:
        return s.scalar(select(func.max(AuditEntry.id)))


@time_machine.travel("2026-11-18T10:00:00+08:00", tick=False)
def test_demo_in_short_transactions_reruns_to_the_same_rows(
    engine, tmp_path, sqlite_template, monkeypatch
):
    """The alcohol demo commits each stage (an import, a month's files, a file's reviews, the
    review tasks) with its audit entries and its progress; stopped after its second stage,
    after its fifth and before its last, each rerun skips what is on file, and the end is row
    for row (audit entries included, none twice) what one uninterrupted run writes."""
    from fangcang import audit, db
    from fangcang.alcohol.demo import PROGRESS_KEY, demo_extend
    from fangcang.demo import DemoContext, builder

    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    ref_path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, ref_path)
    reference = db.make_engine(f"sqlite:///{ref_path}")
    start = _small_base(reference, monkeypatch)
    real = builder.let_writers_in
    calls = []
    monkeypatch.setattr(builder, "let_writers_in", lambda s: (calls.append(1), real(s)))
    expected = demo_extend(DemoContext(reference, "small", 3, UNTIL))
    want = _dump(reference, start)
    reference.dispose()
    n_stages = len(calls)
    assert n_stages >= 20 and expected["patrol_checkins"] > 0 and expected["review_items"] > 0

    start = _small_base(engine, monkeypatch)
    ctx = DemoContext(engine, "small", 3, UNTIL)

    def stop_at(k: int):
        def pause(s):
            real(s)
            calls.append(1)
            if len(calls) == k:
                raise _Stopped

        return pause

    done = 0
    for k in (2, 3, n_stages - 6):  # after the plans; the people; before the review tasks
        calls.clear()
        monkeypatch.setattr(builder, "let_writers_in", stop_at(k))
        with pytest.raises(_Stopped):
            demo_extend(ctx)
        done += k
        with Session(engine) as s:
            assert json.loads(db.get_meta(s, PROGRESS_KEY))["stage"] == done
    monkeypatch.setattr(builder, "let_writers_in", real)
    assert demo_extend(ctx) == expected
    assert _dump(engine, start) == want
    assert demo_extend(ctx) == expected  # complete: a rerun writes nothing
    assert _dump(engine, start) == want
    with Session(engine) as s:
        assert audit.verify(s).ok
