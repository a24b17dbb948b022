"""The task loop: cycles, templates and admission, dispatch, urgent routing, the state machine,
permissions and concurrent updates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang.access import Role, Scope, ScopeError, Viewer
from fangcang.models import AuditEntry, Community, WarningResult
from fangcang.models.tasks import (
    Branch,
    Cycle,
    FeedbackResult,
    ItemState,
    Rating,
    TargetKind,
    TaskHistory,
    TaskItem,
    TemplateStatus,
)
from fangcang.tasks import (
    ConflictError,
    TemplateDraft,
    TransitionError,
    accept,
    admission_review,
    dispatch_cycle,
    evaluate,
    feedback,
    find_duplicates,
    history,
    history_photo,
    inbox,
    is_overdue,
    parse_key,
    period_of,
    project_workload,
    propose_template,
    return_reason,
    review_template,
    similarity,
    urgent_instruction,
    validate_draft,
)
from fangcang.tasks import targets as targets_mod
from tests.tasks_support import (
    ADMIN,
    BRANCH,
    DISPATCHER,
    NOW,
    OFFICE,
    admitted,
    branch_user,
    build_district,
    store_run,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# ---------------------------------------------------------------------------------------------
# Cycles
# ---------------------------------------------------------------------------------------------
def test_cycle_periods_keys_and_deadlines():
    w = period_of(Cycle.WEEKLY, date(2026, 11, 18))
    assert (w.key, w.first, w.last) == ("2026-W47", date(2026, 11, 16), date(2026, 11, 22))
    assert w.deadline(None) == datetime(2026, 11, 22, 23, 59, 59)
    assert w.deadline(3) == datetime(2026, 11, 18, 23, 59, 59)
    assert w.deadline(30) == datetime(2026, 11, 22, 23, 59, 59)  # capped at the cycle end
    m = period_of(Cycle.MONTHLY, datetime(2026, 2, 10, 8))
    assert (m.key, m.last) == ("2026-02", date(2026, 2, 28))
    q = period_of(Cycle.QUARTERLY, date(2026, 12, 31))
    assert (q.key, q.first, q.last) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    # ISO week 1 of 2027 starts on 2027-01-04; 2027-01-01 belongs to 2026-W53.
    assert period_of(Cycle.WEEKLY, date(2027, 1, 1)).key == "2026-W53"
    for key in ("2026-W47", "2026-02", "2026-Q4", "2026-11-29"):
        assert parse_key(key).key == key
    with pytest.raises(ValueError, match="cycle key"):
        parse_key("2026/11")


# ---------------------------------------------------------------------------------------------
# Templates and admission
# ---------------------------------------------------------------------------------------------
def _draft(**kw):
    base = dict(
        branch="narcotics",
        title="禁毒宣传进社区",
        instructions="在社区开展禁毒宣传活动并记录参与人数。",
        cycle="monthly",
        target_kind="all",
        target=None,
        est_minutes=60,
        deadline_days=None,
    )
    base.update(kw)
    return TemplateDraft(**base)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(branch="traffic"), "branch: 'traffic' is not one of"),
        (dict(cycle="daily"), "cycle: 'daily'"),
        (dict(title="宣传"), "title: must be 4-200"),
        (dict(instructions="去做"), "instructions"),
        (dict(est_minutes=0), "est_minutes"),
        (dict(est_minutes=481), "est_minutes"),
        (dict(est_minutes="30"), "est_minutes"),
        (dict(cycle="weekly", deadline_days=8), "deadline_days: must be 1-7"),
        (
            dict(target_kind="communities", target=["C01", "C99"]),
            r"unknown community id\(s\) \['C99'\]",
        ),
        (dict(target_kind="sub_districts", target=[]), "needs a non-empty list"),
        (dict(target_kind="sub_districts", target=["SD9"]), "unknown sub-district code"),
        (dict(target_kind="rule", target={"rule": "moon_phase"}), "unknown rule 'moon_phase'"),
        (
            dict(target_kind="rule", target={"rule": "warning_level", "levels": ["purple"]}),
            "unknown level",
        ),
        (
            dict(target_kind="rule", target={"rule": "rental_houses", "min_houses": -1}),
            "min_houses",
        ),
    ],
)
def test_template_validation_names_the_field(session, factory, change, message):
    build_district(factory)
    with pytest.raises(ValueError, match=message):
        validate_draft(session, _draft(**change))


def test_valid_template_round_trips(session, factory):
    build_district(factory)
    values = validate_draft(
        session, _draft(target_kind="rule", target={"rule": "rental_houses", "min_houses": 5})
    )
    assert values["branch"] is Branch.NARCOTICS and values["cycle"] is Cycle.MONTHLY
    assert values["target_value"] == '{"min_houses": 5, "rule": "rental_houses"}'
    assert (
        validate_draft(session, _draft(target_kind="communities", target=["C02", "C01", "C01"]))[
            "target_value"
        ]
        == '["C01", "C02"]'
    )


def test_admission_gate(session, factory):
    build_district(factory)
    # A branch user proposes only for their own branch.
    with pytest.raises(PermissionError, match="cannot propose for population"):
        propose_template(session, _draft(branch="population"), BRANCH)
    tpl = propose_template(session, _draft(), BRANCH)
    assert tpl.status is TemplateStatus.PROPOSED and tpl.proposed_by == "jinhu"
    for who in (BRANCH, ADMIN, DISPATCHER.__class__(username="o", role=Role.OFFICER)):
        with pytest.raises(PermissionError, match="cannot review"):
            review_template(session, tpl.id, who, admit=True)
    with pytest.raises(PermissionError, match="cannot propose task templates"):
        propose_template(session, _draft(), DISPATCHER)
    with pytest.raises(ValueError, match="a rejection needs a reason"):
        review_template(session, tpl.id, OFFICE, admit=False, reason="  ")
    review_template(session, tpl.id, OFFICE, admit=False, reason="与现有任务重复")
    assert tpl.status is TemplateStatus.REJECTED and tpl.review_reason == "与现有任务重复"
    with pytest.raises(ValueError, match="already rejected"):
        review_template(session, tpl.id, OFFICE, admit=True)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"task.template.propose", "task.template.review"} <= actions
    # Proposed templates are not dispatched.
    tpl2 = propose_template(session, _draft(cycle="weekly"), BRANCH)
    assert dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW).created == 0
    review_template(session, tpl2.id, DISPATCHER, admit=True)
    assert dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW).created == 4


def test_review_with_a_stale_version_is_a_conflict(session, factory):
    build_district(factory)
    tpl = propose_template(session, _draft(), BRANCH)
    seen = tpl.version
    review_template(session, tpl.id, OFFICE, admit=True, expected_version=seen)
    with pytest.raises(ConflictError, match="changed by someone else"):
        review_template(session, tpl.id, DISPATCHER, admit=False, reason="x", expected_version=seen)


def test_duplicate_check(session, factory):
    build_district(factory)
    a = admitted(
        session,
        title="走访出租房屋核查流动人口",
        instructions="每周走访出租房屋，核查流动人口登记情况。",
    )
    b = admitted(
        session,
        title="检查娱乐场所消防安全",
        instructions="检查辖区娱乐场所的消防通道和灭火器。",
        branch=Branch.PUBLIC_ORDER,
    )
    rejected = propose_template(session, _draft(title="出租房屋流动人口走访核查"), BRANCH)
    review_template(session, rejected.id, OFFICE, admit=False, reason="重复")
    # Same words in another order: flagged; the unrelated and the rejected one: not.
    dup = find_duplicates(session, "出租房屋流动人口走访核查", "核查出租房屋内流动人口的登记。")
    assert dup["id"].tolist() == [a.id]
    assert dup["score"].iloc[0] >= 70
    assert b.id not in dup["id"].tolist()
    assert similarity("禁毒宣传", "", "检查娱乐场所消防安全", "") < 30
    # A template never matches itself.
    assert find_duplicates(session, a.title, a.instructions, exclude_id=a.id).empty
    # The admission screen's view of one template: its look-alikes and the workload with it.
    dup_a, load_a = admission_review(session, a.id)
    assert dup_a.equals(find_duplicates(session, a.title, a.instructions, exclude_id=a.id))
    assert load_a.equals(project_workload(session, a))
    with pytest.raises(KeyError, match="no task template 9999"):
        admission_review(session, 9999)


def test_workload_projection_by_hand(session, factory):
    build_district(factory)
    # O1 has C01, C02; O2 has C03; O3 has C04.
    admitted(session, minutes=30, cycle=Cycle.WEEKLY)  # 30/week per community
    admitted(
        session,
        title="月度重点人员见面",
        instructions="每月与重点人员见面谈话一次并记录。",
        minutes=52,
        cycle=Cycle.MONTHLY,
    )  # 52 x 12/52 = 12/week per community
    admitted(
        session,
        title="临时专项排查行动",
        instructions="按通知要求开展临时专项排查。",
        minutes=200,
        cycle=Cycle.AD_HOC,
    )  # ad hoc: not projected
    cand = propose_template(
        session,
        TemplateDraft(
            Branch.PUBLIC_ORDER,
            "五马街道夜间巡查",
            "每周两次夜间巡查五马街道重点区域。",
            Cycle.WEEKLY,
            TargetKind.SUB_DISTRICTS,
            ["SD1"],
            250,
        ),
        branch_user("public_order"),
    )
    df = project_workload(session, cand, cap=500).set_index("officer_id")
    assert df.loc["O1", "communities"] == 2
    assert df.loc["O1", "current_minutes"] == pytest.approx(84.0)  # 2 x (30 + 12)
    assert df.loc["O1", "added_minutes"] == pytest.approx(500.0)  # SD1 = C01, C02
    assert df.loc["O1", "projected_minutes"] == pytest.approx(584.0)
    assert bool(df.loc["O1", "over_cap"]) is True
    assert df.loc["O2", "projected_minutes"] == pytest.approx(42.0)
    assert bool(df.loc["O2", "over_cap"]) is False
    assert df.index[0] == "O1"  # over-cap officers first
    # The cap comes from the configuration by default.
    assert project_workload(session, cand)["cap"].iloc[0] == 600


def test_workload_cap_from_environment(session, factory, monkeypatch):
    build_district(factory)
    monkeypatch.setenv("FANGCANG_WORKLOAD_CAP_MINUTES", "40")
    admitted(session, minutes=30)
    df = project_workload(session).set_index("officer_id")
    assert bool(df.loc["O1", "over_cap"]) and not bool(df.loc["O2", "over_cap"])


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
def test_rule_rental_houses(session, factory):
    d = build_district(factory)
    for _ in range(3):
        factory.house(d.communities[1], use="rental")
    factory.house(d.communities[1], use="group_rental")
    factory.house(d.communities[2], use="rental")
    factory.house(d.communities[2], use="self_occupied")
    tpl = admitted(
        session, target_kind=TargetKind.RULE, target={"rule": "rental_houses", "min_houses": 2}
    )
    assert targets_mod.resolve(session, tpl.target_kind, tpl.target_value) == ["C02"]


def test_rule_warning_levels_with_a_fake_provider(session, factory, monkeypatch):
    build_district(factory)
    monkeypatch.setattr(
        targets_mod,
        "latest_warning_levels",
        lambda s: {"C01": "red", "C02": "green", "C03": "yellow", "C04": "blue"},
    )
    admitted(session, target_kind=TargetKind.RULE, target={"rule": "warning_level"})
    res = dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW)
    assert res.created == 2
    assert sorted(session.scalars(select(TaskItem.community_id))) == ["C01", "C03"]


_store_run = store_run


def test_rule_warning_levels_reads_the_latest_stored_run(session, factory):
    build_district(factory)
    assert targets_mod.latest_warning_levels(session) == {}
    _store_run(session, "2026-09", {"C01": "red", "C02": "red", "C03": "green", "C04": "green"})
    _store_run(session, "2026-10", {"C01": "green", "C02": "yellow", "C03": "red", "C04": "blue"})
    levels = targets_mod.latest_warning_levels(session)
    assert levels == {"C01": "green", "C02": "yellow", "C03": "red", "C04": "blue"}
    tpl = admitted(session, target_kind=TargetKind.RULE, target={"rule": "warning_level"})
    assert targets_mod.resolve(session, tpl.target_kind, tpl.target_value) == ["C02", "C03"]


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------
def test_dispatch_is_idempotent(session, factory):
    d = build_district(factory)
    weekly = admitted(session, deadline_days=3)
    admitted(
        session,
        title="本月禁毒宣传",
        instructions="每月开展一次禁毒宣传并上报照片。",
        cycle=Cycle.MONTHLY,
        target_kind=TargetKind.COMMUNITIES,
        target=["C01", "C04"],
    )
    first = dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW, now=NOW)
    assert (first.created, first.existing, first.cycle_keys) == (4, 0, {"2026-W47"})
    again = dispatch_cycle(session, "weekly", DISPATCHER, on=NOW + timedelta(days=2), now=NOW)
    assert (again.created, again.existing) == (0, 4)
    assert session.scalar(select(func.count()).select_from(TaskItem)) == 4
    item = session.scalars(select(TaskItem).where(TaskItem.community_id == "C02")).one()
    assert item.officer_id == d.officers[0].officer_id and item.template_id == weekly.id
    assert item.deadline == datetime(2026, 11, 18, 23, 59, 59)
    assert item.state is ItemState.DISPATCHED and item.branch is Branch.POPULATION
    # The next week is a new cycle; the monthly template is its own cycle.
    assert (
        dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW + timedelta(days=7)).created == 4
    )
    monthly = dispatch_cycle(session, Cycle.MONTHLY, DISPATCHER, on=NOW)
    assert (monthly.created, monthly.cycle_keys) == (2, {"2026-11"})
    assert dispatch_cycle(session, Cycle.MONTHLY, DISPATCHER, on=NOW).created == 0
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "task.dispatch")
        )
        == 5
    )


def test_dispatch_skips_communities_without_officer_and_checks_role(session, factory):
    build_district(factory)
    session.get(Community, "C04").officer_id = None
    admitted(session)
    res = dispatch_cycle(session, Cycle.WEEKLY, "cli:alice", on=NOW)
    assert (res.created, res.skipped_no_officer) == (3, 1)
    officer = Viewer(username="o", role=Role.OFFICER, officer_id="O1")
    for who in (officer, ADMIN, BRANCH):
        with pytest.raises(PermissionError, match="cannot dispatch"):
            dispatch_cycle(session, Cycle.WEEKLY, who, on=NOW)


def test_dispatch_concurrently_from_two_sessions_creates_once(engine, session, factory):
    build_district(factory)
    admitted(session)
    session.commit()
    with Session(engine) as s1, Session(engine) as s2:
        a = dispatch_cycle(s1, Cycle.WEEKLY, DISPATCHER, on=NOW)
        s1.commit()
        b = dispatch_cycle(s2, Cycle.WEEKLY, DISPATCHER, on=NOW)
        s2.commit()
    assert (a.created, b.created) == (4, 0)
    assert session.scalar(select(func.count()).select_from(TaskItem)) == 4


# ---------------------------------------------------------------------------------------------
# Urgent instructions: routing by point, address, community
# ---------------------------------------------------------------------------------------------
def test_urgent_by_point_routes_to_the_communitys_officer(session, factory):
    build_district(factory)
    item = urgent_instruction(
        session,
        DISPATCHER,
        text="反诈中心预警：居民正在被电信诈骗，立即上门劝阻",
        lon=120.625,
        lat=28.005,
        minutes=30,
        now=NOW,
    )
    assert (item.community_id, item.officer_id, item.urgent) == ("C03", "O2", True)
    assert item.deadline == NOW + timedelta(minutes=30) and item.source == "point"
    assert item.lon == pytest.approx(120.625)
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"task:{item.id}"))
        == "task.urgent"
    )


def test_urgent_point_on_a_border_is_deterministic(session, factory):
    build_district(factory)
    # lon 120.61 is the shared border of C01 and C02: the smaller id wins, every time.
    got = {
        urgent_instruction(
            session, DISPATCHER, text="边界测试指令", lon=120.61, lat=28.005
        ).community_id
        for _ in range(3)
    }
    assert got == {"C01"}
    # A corner shared by nobody else and an exact vertex are still inside.
    assert (
        urgent_instruction(
            session, DISPATCHER, text="顶点测试指令", lon=120.64, lat=28.01
        ).community_id
        == "C04"
    )


@pytest.mark.parametrize("lon, lat", [(120.70, 28.005), (120.62, 27.99), (121.5, 31.2)])
def test_urgent_point_outside_the_district_is_a_clear_error(session, factory, lon, lat):
    build_district(factory)
    with pytest.raises(ValueError, match=r"is outside the district: no community contains it"):
        urgent_instruction(session, DISPATCHER, text="区外测试指令", lon=lon, lat=lat)
    assert session.scalar(select(func.count()).select_from(TaskItem)) == 0


def test_urgent_input_errors(session, factory):
    d = build_district(factory)
    factory.house(d.communities[3], address="仰义街道后京路12号")
    with pytest.raises(ValueError, match="exactly one of"):
        urgent_instruction(
            session, DISPATCHER, text="两个位置的指令", lon=120.6, lat=28.0, community="C01"
        )
    with pytest.raises(ValueError, match="give both lon and lat"):
        urgent_instruction(session, DISPATCHER, text="只有经度的指令", lon=120.6)
    with pytest.raises(ValueError, match="not a longitude/latitude"):
        urgent_instruction(session, DISPATCHER, text="坏坐标的指令", lon=500, lat=28.0)
    with pytest.raises(ValueError, match="minutes"):
        urgent_instruction(session, DISPATCHER, text="时限错误的指令", community="C01", minutes=0)
    with pytest.raises(ValueError, match="text"):
        urgent_instruction(session, DISPATCHER, text=" ", community="C01")
    with pytest.raises(ValueError, match="no community with id or name"):
        urgent_instruction(session, DISPATCHER, text="未知社区指令", community="火星社区")
    with pytest.raises(ValueError, match="not in the house register"):
        urgent_instruction(session, DISPATCHER, text="未知地址指令", address="不存在路99号")
    with pytest.raises(PermissionError):
        urgent_instruction(session, d.officer_viewer(0), text="民警不能派单", community="C01")
    by_name = urgent_instruction(session, "cli:ops", text="按社区名称派单", community="五马社区")
    by_addr = urgent_instruction(session, "cli:ops", text="按地址派单", address="后京路12号")
    assert (by_name.community_id, by_addr.community_id) == ("C02", "C04")


# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------
def _one_item(session, factory, **kw):
    d = build_district(factory)
    admitted(session, **kw)
    dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW, now=NOW)
    item = session.scalars(select(TaskItem).where(TaskItem.community_id == "C01")).one()
    return d, item


def test_state_machine_with_return(session, factory):
    d, item = _one_item(session, factory)
    officer, station = d.officer_viewer(0), d.station_viewer(0)
    with pytest.raises(TransitionError, match="is dispatched; cannot evaluate"):
        evaluate(session, item.id, OFFICE, rating="qualified")
    accept(session, item.id, officer, at=NOW + timedelta(hours=1))
    assert item.state is ItemState.ACCEPTED and item.accepted_at == NOW + timedelta(hours=1)
    with pytest.raises(TransitionError, match="is accepted; cannot accept"):
        accept(session, item.id, officer)
    with pytest.raises(ValueError, match="note: say why"):
        feedback(session, item.id, officer, result="partial")
    with pytest.raises(ValueError, match="result: 'half'"):
        feedback(session, item.id, officer, result="half")
    with pytest.raises(ValueError, match="count_done"):
        feedback(session, item.id, officer, result="done", count_done=-1)
    feedback(
        session,
        item.id,
        officer,
        result=FeedbackResult.PARTIAL,
        note="两户无人在家",
        count_done=12,
        at=NOW + timedelta(days=1),
    )
    assert item.state is ItemState.FED_BACK and item.count_done == 12
    with pytest.raises(ValueError, match="unqualified rating needs a reason"):
        evaluate(session, item.id, station, rating="unqualified")
    evaluate(session, item.id, station, rating=Rating.UNQUALIFIED, reason="未附走访记录")
    assert item.state is ItemState.RETURNED and item.returns == 1
    assert item.id in inbox(session, officer)["id"].tolist()  # back with the officer
    feedback(
        session,
        item.id,
        officer,
        result="done",
        note="已补充记录",
        count_done=14,
        photo=PNG,
        at=NOW + timedelta(days=2),
    )
    evaluate(session, item.id, OFFICE, rating="excellent")
    assert item.state is ItemState.EVALUATED and item.rating is Rating.EXCELLENT
    with pytest.raises(TransitionError, match="is evaluated; cannot feedback"):
        feedback(session, item.id, officer, result="done")
    h = history(session, item.id, officer)
    assert h["action"].tolist() == ["accept", "feedback", "return", "feedback", "evaluate"]
    assert h["to_state"].tolist() == ["accepted", "fed_back", "returned", "fed_back", "evaluated"]
    assert h.loc[2, "note"] == "未附走访记录" and h["has_photo"].tolist() == [False] * 3 + [
        True,
        False,
    ]
    assert history_photo(session, int(h.loc[3, "id"]), officer) == (PNG, "image/png")
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "task.evaluate")
        )
        == 2
    )


def test_return_reason_is_the_latest_return_note(session, factory):
    d, item = _one_item(session, factory)
    officer, station = d.officer_viewer(0), d.station_viewer(0)
    assert return_reason(session, item.id, officer) == ""  # never returned
    feedback(session, item.id, officer, result="done", note="first", at=NOW + timedelta(hours=1))
    evaluate(session, item.id, station, rating=Rating.UNQUALIFIED, reason="缺少照片")
    assert return_reason(session, item.id, officer) == "缺少照片"
    feedback(session, item.id, officer, result="done", note="second", at=NOW + timedelta(days=1))
    evaluate(session, item.id, station, rating=Rating.UNQUALIFIED, reason="人数不符")
    assert return_reason(session, item.id, officer) == "人数不符"  # the latest, not the first
    with pytest.raises(ValueError, match="no task item"):
        return_reason(session, 999_999, officer)


def test_feedback_directly_from_dispatched_records_acceptance(session, factory):
    d, item = _one_item(session, factory)
    feedback(session, item.id, d.officer_viewer(0), result="done", at=NOW)
    assert item.accepted_at == NOW and item.state is ItemState.FED_BACK


def test_feedback_without_a_result_is_refused(session, factory):
    d, item = _one_item(session, factory)
    with pytest.raises(ValueError, match="result: choose one of done, partial, unable"):
        feedback(session, item.id, d.officer_viewer(0), result=None, note="已走访")
    assert item.state is ItemState.DISPATCHED and item.accepted_at is None


def test_photo_limits(session, factory):
    d, item = _one_item(session, factory)
    officer = d.officer_viewer(0)
    with pytest.raises(ValueError, match="only JPEG or PNG"):
        feedback(session, item.id, officer, result="done", photo=b"GIF89a....")
    with pytest.raises(ValueError, match="over the 2 MB limit"):
        feedback(session, item.id, officer, result="done", photo=PNG + b"\x00" * (2 * 1024 * 1024))
    assert item.state is ItemState.DISPATCHED
    assert session.scalar(select(func.count()).select_from(TaskHistory)) == 0


def test_overdue_is_derived_from_the_deadline(session, factory):
    d, item = _one_item(session, factory, deadline_days=2)  # due Tue 2026-11-17 23:59:59
    officer = d.officer_viewer(0)
    assert item.deadline == datetime(2026, 11, 17, 23, 59, 59)
    assert not is_overdue(item.state, item.deadline, datetime(2026, 11, 17, 23, 0))
    assert is_overdue(item.state, item.deadline, datetime(2026, 11, 18, 0, 0))
    box = inbox(session, officer, now=datetime(2026, 11, 19))
    assert box.set_index("id").loc[item.id, "overdue"]
    feedback(session, item.id, officer, result="done", at=datetime(2026, 11, 19))  # late
    assert not is_overdue(item.state, item.deadline, datetime(2026, 11, 30))
    evaluate(session, item.id, OFFICE, rating="unqualified", reason="重做")
    assert is_overdue(item.state, item.deadline, datetime(2026, 11, 30))  # returned, still late


def test_officers_and_stations_see_only_their_own(session, factory):
    d = build_district(factory)
    admitted(session)
    dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW)
    o1, o2 = d.officer_viewer(0), d.officer_viewer(1)
    assert sorted(inbox(session, o1)["community_id"]) == ["C01", "C02"]
    assert inbox(session, o2)["community_id"].tolist() == ["C03"]
    c04 = session.scalars(select(TaskItem).where(TaskItem.community_id == "C04")).one()
    with pytest.raises(ScopeError, match="not assigned to you"):
        accept(session, c04.id, o1)
    with pytest.raises(ScopeError):
        history(session, c04.id, o2)
    feedback(session, c04.id, d.officer_viewer(2), result="done")
    with pytest.raises(ScopeError, match="outside your jurisdiction"):
        evaluate(session, c04.id, d.station_viewer(0), rating="qualified")
    with pytest.raises(PermissionError, match="cannot evaluate"):
        evaluate(session, c04.id, d.officer_viewer(2), rating="qualified")
    evaluate(session, c04.id, d.station_viewer(1), rating="qualified")


def test_urgent_items_come_first_in_the_inbox(session, factory):
    d = build_district(factory)
    admitted(session, deadline_days=1)
    dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW, now=NOW)
    u = urgent_instruction(
        session, DISPATCHER, text="紧急：核查可疑人员", community="C02", minutes=120, now=NOW
    )
    box = inbox(session, d.officer_viewer(0), now=NOW)
    assert box["id"].iloc[0] == u.id and box["urgent"].iloc[0]
    assert box["overdue"].iloc[1]  # the weekly item was due on Monday


# ---------------------------------------------------------------------------------------------
# Two people change one item at once
# ---------------------------------------------------------------------------------------------
def test_second_writer_gets_a_clear_conflict(engine, session, factory):
    d, item = _one_item(session, factory)
    session.commit()
    officer = d.officer_viewer(0)
    with Session(engine) as a, Session(engine) as b:
        seen_a = a.get(TaskItem, item.id).version
        seen_b = b.get(TaskItem, item.id).version
        accept(a, item.id, officer, expected_version=seen_a)
        a.commit()
        with pytest.raises(ConflictError) as err:
            accept(b, item.id, officer, expected_version=seen_b)
        assert "changed by someone else" in str(err.value) and "nothing was saved" in str(err.value)
        b.rollback()
    session.expire_all()
    assert session.get(TaskItem, item.id).state is ItemState.ACCEPTED
    assert session.scalar(select(func.count()).select_from(TaskHistory)) == 1


def test_race_between_read_and_write_is_caught_by_the_version_column(engine, session, factory):
    d, item = _one_item(session, factory)
    feedback(session, item.id, d.officer_viewer(0), result="done")
    session.commit()
    with Session(engine) as a, Session(engine) as b:
        held = (a.get(TaskItem, item.id), b.get(TaskItem, item.id))  # both read version 2
        assert held[1].version == 2
        evaluate(a, item.id, OFFICE, rating="excellent")
        a.commit()
        # b passes no expected version: the UPDATE ... WHERE version = 2 matches no row.
        with pytest.raises(ConflictError, match="your version 2"):
            evaluate(b, item.id, DISPATCHER, rating="unqualified", reason="不合格")
        b.rollback()
    session.expire_all()
    got = session.get(TaskItem, item.id)
    assert (got.state, got.rating) == (ItemState.EVALUATED, Rating.EXCELLENT)


def test_shrink_photo_fits_a_phone_picture_under_the_stored_limit():
    import io

    import numpy as np
    from PIL import Image

    from fangcang.tasks.items import PHOTO_MAX_BYTES, shrink_photo

    noise = np.random.default_rng(3).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    big = buf.getvalue()
    assert len(big) > PHOTO_MAX_BYTES  # a camera-sized picture
    small = shrink_photo(big)
    assert len(small) <= PHOTO_MAX_BYTES and small.startswith(b"\xff\xd8\xff")
    ok = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    assert shrink_photo(ok) == ok  # small enough: unchanged
    with pytest.raises(ValueError, match="upload limit"):
        shrink_photo(b"\xff\xd8\xff" + b"0" * (11 * 1048576))
    with pytest.raises(ValueError, match="JPEG or PNG"):
        shrink_photo(b"GIF89a" + b"0" * 100)


# --------------------------------------------------------------------------------------------
# From a filter to work
# --------------------------------------------------------------------------------------------
def test_dispatch_to_the_filtered_communities_with_a_preview(session, factory):
    from fangcang.tasks import dispatch_to
    from fangcang.tasks.selection import preview

    build_district(factory)
    tpl = admitted(session, title="重点人员见面核查")
    session.commit()
    ids = ["C01", "C03"]
    pv = preview(session, ids, template_id=tpl.id, on=NOW)
    assert list(pv["outcome"]) == ["new", "new"]
    assert list(pv["officer_name"]) == ["王警官", "李警官"]
    res = dispatch_to(session, DISPATCHER, ids, template_id=tpl.id, on=NOW, now=NOW)
    session.commit()
    assert (res.created, res.existing) == (2, 0)
    got = session.execute(select(TaskItem.community_id, TaskItem.officer_id)).all()
    assert sorted(got) == [("C01", "O1"), ("C03", "O2")]  # exactly those communities
    # Sent again: the preview and the result say it was already sent; nothing new.
    assert list(preview(session, ids, template_id=tpl.id, on=NOW)["outcome"]) == [
        "existing",
        "existing",
    ]
    again = dispatch_to(session, DISPATCHER, ids, template_id=tpl.id, on=NOW, now=NOW)
    assert (again.created, again.existing) == (0, 2)
    # An urgent instruction to the same selection: one item each, audited once.
    urgent = dispatch_to(
        session, DISPATCHER, ids, text="台风预警：排查危旧房屋", minutes=60, now=NOW
    )
    session.commit()
    assert urgent.created == 2 and len(urgent.item_ids) == 2
    items = session.scalars(select(TaskItem).where(TaskItem.urgent.is_(True))).all()
    assert sorted(i.community_id for i in items) == ids
    assert all(i.deadline == NOW + timedelta(minutes=60) for i in items)
    actions = [a.action for a in session.scalars(select(AuditEntry))]
    assert actions.count("task.dispatch_selected") == 3


def test_dispatch_to_refuses_bad_requests_and_writes_nothing(session, factory):
    from fangcang.tasks import dispatch_to

    build_district(factory)
    tpl = admitted(session, title="重点人员见面核查")
    session.commit()
    station_dispatcher = Viewer(username="st", role=Role.DISPATCHER, scope=Scope.of(["C04"]))
    bad = [
        (DISPATCHER, [], dict(template_id=tpl.id)),
        (DISPATCHER, ["C01"], dict()),
        (DISPATCHER, ["C01"], dict(template_id=tpl.id, text="两者都给")),
        (DISPATCHER, ["C99"], dict(template_id=tpl.id)),
        (DISPATCHER, ["C01"], dict(template_id=9999)),
        (DISPATCHER, ["C01"], dict(text="短")),
    ]
    for who, ids, kw in bad:
        with pytest.raises(ValueError):
            dispatch_to(session, who, ids, **kw)
        session.rollback()
    with pytest.raises(ScopeError):
        dispatch_to(session, station_dispatcher, ["C01"], template_id=tpl.id)
    assert session.scalar(select(func.count()).select_from(TaskItem)) == 0


def test_select_communities_by_sub_district_level_and_indicator(session, factory):
    from fangcang.tasks.selection import CommunityFilter, select_communities
    from fangcang.timeutil import Month

    build_district(factory)
    period = "2026-10"
    _store_run(session, period, {"C01": "red", "C02": "yellow", "C03": "red", "C04": "red"})
    for cid, p in {"C01": 90.0, "C02": 95.0, "C03": 10.0, "C04": 80.0}.items():
        r = session.scalars(select(WarningResult).where(WarningResult.community_id == cid)).one()
        r.p_crime_rate = p
    session.commit()
    m = Month.parse(period)
    red = select_communities(session, Scope.district(), CommunityFilter(m, levels=("red",)))
    assert sorted(red["community_id"]) == ["C01", "C03", "C04"]
    red_sd2 = CommunityFilter(m, levels=("red",), sub_districts=("SD2",))
    got = select_communities(session, Scope.district(), red_sd2)
    assert sorted(got["community_id"]) == ["C03", "C04"]
    assert set(got["officer_name"]) == {"李警官", "赵警官"}
    top_crime = CommunityFilter(m, levels=("red",), indicator="crime_rate")
    assert sorted(select_communities(session, Scope.district(), top_crime)["community_id"]) == [
        "C01",
        "C04",
    ]
    # Scope applies; a month without a run selects nothing by level, everything without one.
    assert list(select_communities(session, Scope.of(["C04"]), red_sd2)["community_id"]) == ["C04"]
    none = CommunityFilter(Month.parse("2026-09"), levels=("red",))
    assert select_communities(session, Scope.district(), none).empty
    assert len(select_communities(session, Scope.district(), CommunityFilter(m))) == 4
    with pytest.raises(ValueError):
        CommunityFilter(m, levels=("purple",))
    with pytest.raises(ValueError):
        select_communities(session, Scope.district(), CommunityFilter(m, indicator="nope"))


def test_evaluation_queue_filters_counts_pages_and_rates_in_bulk(session, factory):
    from fangcang.tasks import count_items, evaluate_many, item_choices, items_frame, items_page

    d = build_district(factory)
    tpl = admitted(session, title="重点人员见面核查")
    session.commit()
    dispatch_cycle(session, "weekly", DISPATCHER, on=NOW, now=NOW)
    u = urgent_instruction(
        session, DISPATCHER, text="台风预警：排查危旧房屋", community="C04", now=NOW
    )
    session.commit()
    for item in session.scalars(select(TaskItem)):
        who = next(
            d.officer_viewer(i) for i, o in enumerate(d.officers) if o.officer_id == item.officer_id
        )
        feedback(session, item.id, who, result="done", note=f"已完成{item.community_id}", at=NOW)
    session.commit()
    waiting = (ItemState.FED_BACK,)
    assert count_items(session, DISPATCHER, states=waiting) == 5
    choices = item_choices(session, DISPATCHER, waiting)
    assert choices["station"] == {"ST1": "五马派出所", "ST2": "仰义派出所"}
    assert choices["template"] == {"urgent": "", str(tpl.id): "重点人员见面核查"}
    assert set(choices["officer"]) == {"O1", "O2", "O3"}
    assert count_items(session, DISPATCHER, states=waiting, station_id="ST2") == 2
    assert count_items(session, DISPATCHER, states=waiting, template_key="urgent") == 1
    assert count_items(session, DISPATCHER, states=waiting, officer_id="O1") == 2
    assert count_items(session, DISPATCHER, states=waiting, text="C03") == 1  # in the note
    assert count_items(session, DISPATCHER, states=waiting, text="松台") == 1  # community name
    page = items_frame(session, DISPATCHER, states=waiting, limit=2, offset=4)
    assert len(page) == 1  # paging reaches every item
    # One page and the total for the same filters (what the evaluation page shows).
    first, total = items_page(session, DISPATCHER, states=waiting, station_id="ST1", limit=2)
    assert total == 3 and len(first) == 2
    last, total = items_page(
        session, DISPATCHER, states=waiting, station_id="ST1", limit=2, offset=2
    )
    assert total == 3 and len(last) == 1
    assert set(first["id"]) | set(last["id"]) == set(
        items_frame(session, DISPATCHER, states=waiting, station_id="ST1")["id"]
    )
    with pytest.raises(ValueError, match="limit must be > 0"):
        items_page(session, DISPATCHER, states=waiting, limit=0)
    # Bulk: all or nothing.
    rows = items_frame(session, DISPATCHER, states=waiting, station_id="ST1")
    versions = dict(zip(rows["id"], rows["version"], strict=True))
    stale = dict(versions)
    stale[next(iter(stale))] -= 1
    with pytest.raises(ConflictError):
        evaluate_many(session, stale, DISPATCHER, rating="qualified")
    session.rollback()
    assert count_items(session, DISPATCHER, states=(ItemState.EVALUATED,)) == 0
    assert evaluate_many(session, versions, DISPATCHER, rating="qualified") == 3
    session.commit()
    assert count_items(session, DISPATCHER, states=(ItemState.EVALUATED,)) == 3
    assert session.get(TaskItem, u.id).state is ItemState.FED_BACK
    with pytest.raises(ValueError):
        evaluate_many(session, {}, DISPATCHER, rating="qualified")
