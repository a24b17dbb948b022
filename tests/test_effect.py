"""Focused work and its effect: windows, before/after, comparison matching, DiD by hand,
district year-on-year by hand (including a category with zero last year)."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from sqlalchemy import select
from support import add_counts, add_residents, add_warning_run, small_district

from fangcang import effect
from fangcang.access import Scope, ScopeError
from fangcang.models import (
    AuditEntry,
    FocusWork,
    IncidentCategory,
)
from fangcang.timeutil import Month


# ---------------------------------------------------------------------------------------------
# Helpers shared with test_bulletins.py
# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------
def test_windows_first_of_month_and_mid_month():
    w = effect.focus_windows(date(2026, 5, 1), 6, Month(2026, 10))
    assert (str(w.before_first), str(w.before_last)) == ("2025-11", "2026-04")
    assert (str(w.after_first), str(w.after_last), w.months) == ("2026-05", "2026-10", 6)
    # Mid-month start: the first full month is the next one.
    w = effect.focus_windows(date(2026, 5, 15), 6, Month(2026, 10))
    assert (str(w.after_first), str(w.after_last), w.months) == ("2026-06", "2026-10", 5)
    assert (str(w.before_first), str(w.before_last)) == ("2026-01", "2026-05")


def test_windows_cut_to_as_of_and_refuse_when_nothing_ended():
    w = effect.focus_windows(date(2026, 9, 1), 6, Month(2026, 10))
    assert w.months == 2 and str(w.before_first) == "2026-07"
    with pytest.raises(ValueError, match="no complete month"):
        effect.focus_windows(date(2026, 11, 1), 6, Month(2026, 10))
    with pytest.raises(ValueError, match="at least 1"):
        effect.focus_windows(date(2026, 1, 1), 0, Month(2026, 10))


# ---------------------------------------------------------------------------------------------
# Focused work
# ---------------------------------------------------------------------------------------------
def test_start_and_end_focus_validate_and_audit(session, factory):
    c = factory.community(name="沿江社区")
    fw = effect.start_focus(session, c.community_id, date(2026, 5, 1), "夜间巡逻", "alice")
    with pytest.raises(ValueError, match="already under focused work"):
        effect.start_focus(session, c.community_id, date(2026, 6, 1), "again", "alice")
    with pytest.raises(ValueError, match="measures"):
        effect.start_focus(session, factory.community().community_id, date(2026, 5, 1), "  ", "a")
    with pytest.raises(ValueError, match="unknown community"):
        effect.start_focus(session, "NOPE", date(2026, 5, 1), "x", "a")
    with pytest.raises(ScopeError):
        effect.start_focus(
            session, c.community_id, date(2027, 1, 1), "x", "a", scope=Scope.of(["OTHER"])
        )
    with pytest.raises(ValueError, match="before the start"):
        effect.end_focus(session, fw.id, date(2026, 4, 30), "alice")
    effect.end_focus(session, fw.id, date(2026, 10, 31), "alice", "done")
    with pytest.raises(ValueError, match="already ended"):
        effect.end_focus(session, fw.id, date(2026, 11, 30), "alice")
    # After it ended, a new focused work may start later.
    effect.start_focus(session, c.community_id, date(2026, 11, 1), "第二轮", "alice")
    session.commit()
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["focus.start", "focus.end", "focus.start"]
    listed = effect.list_focus(session)
    assert [x["start_date"] for x in listed] == [date(2026, 11, 1), date(2026, 5, 1)]
    assert listed[0]["community_name"] == "沿江社区"
    assert effect.list_focus(session, Scope.of(["OTHER"])) == []


# ---------------------------------------------------------------------------------------------
# Before / after and DiD by hand
# ---------------------------------------------------------------------------------------------
def test_before_after_and_did_by_hand(session, factory):
    cs = small_district(session, factory)
    ba = effect.before_after(
        session, cs["F"].community_id, months=2, as_of=Month(2026, 6), n_matches=2
    )
    assert (str(ba.windows.before_first), str(ba.windows.after_last)) == ("2026-03", "2026-06")
    assert [c.name for c in ba.comparisons] == ["A社区", "B社区"]
    assert ba.levels_used is False and ba.rate_before == pytest.approx(100.0)
    tot = ba.effects["total"]
    assert (tot.raw.before, tot.raw.now) == (100, 64)
    assert tot.raw.pct == pytest.approx(-36.0)
    assert (tot.comparison_before, tot.comparison_after) == (100, 85)
    assert tot.comparison_pct == pytest.approx(-15.0)
    assert tot.comparison_range == (pytest.approx(-20.0), pytest.approx(-10.0))
    assert tot.did_points == pytest.approx(-21.0)
    ratio = (64 / 100) / (85 / 100)
    assert tot.did_ratio_pct == pytest.approx(100 * (ratio - 1))  # -24.71 %
    se = math.sqrt(1 / 64 + 1 / 100 + 1 / 85 + 1 / 100)
    assert tot.did_z == pytest.approx(math.log(ratio) / se)  # -1.30
    assert tot.verdict == "within_comparison"
    crime = ba.effects["crime"]
    assert (crime.raw.before, crime.raw.now, crime.raw.pct) == (60, 36, pytest.approx(-40.0))
    assert crime.did_points == pytest.approx(-25.0)
    # The plain words carry the warning.
    text = effect.verdict_text(ba, "total", "zh")
    assert "不能认定是整治带来的" in text and "-36.0%" in text and "-15.0%" in text
    assert "cannot be credited" in effect.verdict_text(ba, "total", "en")
    # Monthly series for the chart: 4 months, comparison mean per community.
    assert [m["month"] for m in ba.monthly] == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert ba.monthly[0]["total"] == 100 and ba.monthly[0]["comparison_total_mean"] == 50.0
    assert ba.monthly[2]["phase"] == "after"


def test_measure_effect_verdicts():
    likely = effect.measure_effect("total", 400, 200, [(100, 95), (100, 105)])
    assert likely.comparison_pct == pytest.approx(0.0)
    se = math.sqrt(1 / 200 + 1 / 400 + 1 / 200 + 1 / 200)
    assert likely.did_z == pytest.approx(math.log(0.5) / se)
    assert likely.verdict == "likely_effect"
    worse = effect.measure_effect("total", 200, 400, [(100, 95), (100, 105)])
    assert worse.verdict == "worse_than_comparison"
    none = effect.measure_effect("total", 200, 100, [])
    assert none.verdict == "no_comparison" and none.did_points is None
    # Zeros: 0.5 added to each cell so the DiD stays finite.
    zero = effect.measure_effect("total", 0, 3, [(5, 5)])
    assert zero.raw.pct is None and math.isfinite(zero.did_z)


def test_matching_uses_stored_warning_levels(session, factory):
    cs = small_district(session, factory)
    g = factory.community(name="G社区")
    add_residents(session, g, 1000)
    add_counts(session, g, date(2026, 3, 10), n=10)  # far rate, but red like F
    add_warning_run(
        session,
        "2026-04",
        {
            cs["F"].community_id: "red",
            cs["A"].community_id: "red",
            cs["B"].community_id: "blue",
            g.community_id: "red",
            cs["C"].community_id: "green",
        },
    )
    session.commit()
    ba = effect.before_after(
        session, cs["F"].community_id, months=2, as_of=Month(2026, 6), n_matches=5, min_matches=2
    )
    assert ba.levels_used and ba.level_before == "red"
    assert [(c.name, c.level_matched) for c in ba.comparisons] == [("A社区", True), ("G社区", True)]
    # Fewer same-level communities than min_matches: filled from the nearest level.
    ba = effect.before_after(
        session, cs["F"].community_id, months=2, as_of=Month(2026, 6), n_matches=5, min_matches=3
    )
    assert [(c.name, c.level_matched) for c in ba.comparisons] == [
        ("A社区", True),
        ("G社区", True),
        ("B社区", False),
    ]


def test_before_after_errors_and_scope(session, factory):
    cs = small_district(session, factory)
    with pytest.raises(ValueError, match="has no focused work"):
        effect.before_after(session, cs["A"].community_id, as_of=Month(2026, 6))
    with pytest.raises(ScopeError):
        effect.before_after(
            session,
            cs["F"].community_id,
            as_of=Month(2026, 6),
            scope=Scope.of([cs["A"].community_id]),
        )
    summary = effect.effect_summary(session, months=2, as_of=Month(2026, 6))
    assert {b.community_name for b in summary} == {"F社区", "D社区"}
    assert effect.latest_data_month(session) == Month(2026, 7)
    d = summary[0].to_dict()
    assert json.dumps(d, default=str)  # serialisable for --json


# ---------------------------------------------------------------------------------------------
# District year-on-year by hand
# ---------------------------------------------------------------------------------------------
def test_district_yoy_by_hand_with_zero_last_year(session, factory):
    a, b = factory.community(), factory.community()
    # This year (2026-01..03)
    add_counts(session, a, date(2026, 1, 5), IncidentCategory.CRIMINAL, "assault", n=10)
    add_counts(session, b, date(2026, 3, 31), IncidentCategory.CRIMINAL, "telecom_fraud", n=5)
    add_counts(session, a, date(2026, 2, 1), IncidentCategory.PUBLIC_ORDER, "", n=20, n_alcohol=4)
    add_counts(session, b, date(2026, 2, 1), IncidentCategory.FIRE, "", n=3)
    add_counts(session, a, date(2026, 4, 1), IncidentCategory.CRIMINAL, "", n=99)  # outside
    # Last year (2025-01..03)
    add_counts(session, a, date(2025, 1, 1), IncidentCategory.CRIMINAL, "assault", n=12)
    add_counts(session, b, date(2025, 3, 31), IncidentCategory.CRIMINAL, "telecom_fraud", n=10)
    add_counts(session, a, date(2025, 2, 1), IncidentCategory.PUBLIC_ORDER, "", n=25, n_alcohol=2)
    add_counts(session, a, date(2025, 2, 1), IncidentCategory.TRAFFIC, "", n=8)
    add_counts(session, a, date(2024, 12, 31), IncidentCategory.CRIMINAL, "", n=99)  # outside
    session.commit()
    rows = {r.key: r for r in effect.district_yoy(session, Month(2026, 1), Month(2026, 3))}
    assert (rows["total"].now, rows["total"].last_year) == (38, 55)
    assert rows["total"].pct == pytest.approx(100 * (38 - 55) / 55)  # -30.91 %
    assert (rows["crime"].now, rows["crime"].last_year) == (35, 47)
    assert rows["crime"].pct == pytest.approx(100 * (35 - 47) / 47)
    assert (rows["assault"].now, rows["assault"].last_year, rows["assault"].pct) == (
        10,
        12,
        pytest.approx(-100 / 6),
    )
    assert rows["telecom_fraud"].pct == pytest.approx(-50.0)
    assert (rows["alcohol"].now, rows["alcohol"].last_year, rows["alcohol"].pct) == (
        4,
        2,
        pytest.approx(100.0),
    )
    fire = rows["category.fire"]
    assert (fire.now, fire.last_year, fire.pct, fire.zero_last_year) == (3, 0, None, True)
    # z is the normal quantile of the exact two-sided p: Phi^-1(1 - 0.25 / 2) = 1.150
    assert fire.z == pytest.approx(1.1503, abs=1e-4)
    assert fire.p_value == pytest.approx(0.25)  # exact: 2 * 0.5**3
    assert fire.significant is False
    assert rows["category.traffic"].pct == pytest.approx(-100.0)
    assert rows["category.dispute"].now == 0 and rows["category.dispute"].pct is None
    # Scope restricts to the caller's communities.
    scoped = {
        r.key: r
        for r in effect.district_yoy(
            session, Month(2026, 1), Month(2026, 3), Scope.of([b.community_id])
        )
    }
    assert (scoped["total"].now, scoped["total"].last_year) == (8, 10)
    frame = effect.yoy_frame(list(rows.values()), "zh")
    assert "去年同期为0" in frame.to_string()
    with pytest.raises(ValueError, match="before it starts"):
        effect.district_yoy(session, Month(2026, 3), Month(2026, 1))


def test_cli_effect_json_and_focus(engine, session, factory, capsys):
    from fangcang import cli

    cs = small_district(session, factory)
    url = engine.url.render_as_string(hide_password=False)
    assert cli.main(["--db", url, "effect", "--months", "2", "--as-of", "2026-06", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    f = next(x for x in data["focused"] if x["name"] == "F社区")
    assert (f["measures"]["total"]["before"], f["measures"]["total"]["after"]) == (100, 64)
    assert f["measures"]["total"]["verdict"] == "within_comparison"
    assert data["district_yoy"]["rows"][0]["key"] == "total"
    assert (
        cli.main(
            [
                "--db",
                url,
                "focus",
                "start",
                "--community",
                "C社区",
                "--date",
                "2026-06-01",
                "--measures",
                "巡逻",
            ]
        )
        == 0
    )
    assert "C社区 from 2026-06-01" in capsys.readouterr().out
    assert (
        cli.main(
            [
                "--db",
                url,
                "focus",
                "start",
                "--community",
                "C社区",
                "--date",
                "2026-07-01",
                "--measures",
                "again",
            ]
        )
        == 2
    )
    assert "already under focused work" in capsys.readouterr().err
    assert cli.main(["--db", url, "focus", "end", "999", "--date", "2026-07-01"]) == 2
    assert cli.main(["--db", url, "focus", "list"]) == 0
    assert "C社区" in capsys.readouterr().out
    session.expire_all()
    started = session.scalars(
        select(FocusWork).where(FocusWork.community_id == cs["C"].community_id)
    ).all()
    assert [(w.start_date, w.end_date, w.measures) for w in started] == [
        (date(2026, 6, 1), None, "巡逻")
    ]
