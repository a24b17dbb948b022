"""The demo's practice story on the small district: one practising station, no escalation there
while another station shows some, every mediation resolved, files for the repeat people."""

from __future__ import annotations

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
