"""The demo's practice story on the small district: one practising station, no escalation there
while another station shows some, every mediation resolved, files for the repeat people."""

from __future__ import annotations

import json
import shutil

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import Pauses, Stopped, audit_entries, last_audit_id, small_demo_base, table_rows

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
    with engine.connect() as c:
        out = {
            name: table_rows(
                c,
                name,
                _VOLATILE,
                # the demo's files, not the base import
                where=(lambda t: t.c.bundle.like("%.csv")) if name == "import_log" else None,
            )
            for name in _TABLES
        }
        out["audit"] = audit_entries(c, after)
    return out


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
    from fangcang.demo import builder

    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    ref_path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, ref_path)
    reference = db.make_engine(f"sqlite:///{ref_path}")
    ctx = small_demo_base(reference, monkeypatch, UNTIL)
    start = last_audit_id(reference)
    pauses = Pauses(monkeypatch)
    pauses.count()
    expected = demo_extend(ctx)
    want = _dump(reference, start)
    reference.dispose()
    n_stages = pauses.n
    assert n_stages >= 20 and expected["patrol_checkins"] > 0 and expected["review_items"] > 0

    pauses.restore()
    ctx = small_demo_base(engine, monkeypatch, UNTIL)
    start = last_audit_id(engine)
    done = 0
    for k in (2, 3, n_stages - 6):  # after the plans; the people; before the review tasks
        pauses.stop_at(k)
        with pytest.raises(Stopped):
            demo_extend(ctx)
        done += k
        with Session(engine) as s:
            assert json.loads(db.get_meta(s, PROGRESS_KEY))["stage"] == done
    pauses.restore()
    assert demo_extend(ctx) == expected
    assert _dump(engine, start) == want
    assert demo_extend(ctx) == expected  # complete: a rerun writes nothing
    assert _dump(engine, start) == want
    with Session(engine) as s:
        assert audit.verify(s).ok
