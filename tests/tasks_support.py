"""A small district for the task-loop tests (not a test module).

Layout (lon/lat squares 0.01 degrees wide, side by side along one row)::

    C01 | C02 | C03 | C04        officers: O1 (C01, C02), O2 (C03), O3 (C04)
    SD1 | SD1 | SD2 | SD2        stations: ST1 (C01-C03), ST2 (C04)

C01/C02 share the border lon = 120.61.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fangcang.access import Role, Scope, Viewer
from fangcang.models import WarningLevel, WarningResult, WarningRun
from fangcang.models.tasks import Branch, Cycle, TargetKind
from fangcang.tasks import TemplateDraft, propose_template, review_template

NOW = datetime(2026, 11, 18, 10, 0)  # a Wednesday; ISO week 2026-W47

DISPATCHER = Viewer(username="duty", role=Role.DISPATCHER)
OFFICE = Viewer(username="office", role=Role.DISPATCHER)  # the coordinating office
ADMIN = Viewer(username="admin", role=Role.ADMIN)  # runs the system; no task rights
BRANCH = Viewer(username="jinhu", role=Role.BRANCH, branch="narcotics")


def branch_user(branch) -> Viewer:
    return Viewer(
        username=f"b_{Branch(branch).value}", role=Role.BRANCH, branch=Branch(branch).value
    )


@dataclass
class District:
    communities: list
    officers: list
    stations: list
    sub_districts: list

    def officer_viewer(self, i: int) -> Viewer:
        o = self.officers[i]
        ids = [c.community_id for c in self.communities if c.officer_id == o.officer_id]
        return Viewer(
            username=f"u_{o.officer_id}",
            role=Role.OFFICER,
            scope=Scope.of(ids, f"officer:{o.officer_id}"),
            officer_id=o.officer_id,
        )

    def station_viewer(self, i: int) -> Viewer:
        st = self.stations[i]
        ids = [c.community_id for c in self.communities if c.station_id == st.station_id]
        return Viewer(
            username=f"s_{st.station_id}",
            role=Role.STATION,
            scope=Scope.of(ids, f"station:{st.station_id}"),
            station_id=st.station_id,
        )


def build_district(factory) -> District:
    sd1 = factory.sub_district("SD1", "五马街道")
    sd2 = factory.sub_district("SD2", "仰义街道")
    st1 = factory.station("ST1", "五马派出所")
    st2 = factory.station("ST2", "仰义派出所")
    o1 = factory.officer("O1", station=st1, name="王警官")
    o2 = factory.officer("O2", station=st1, name="李警官")
    o3 = factory.officer("O3", station=st2, name="赵警官")
    spec = [
        ("C01", "沿江社区", sd1, st1, o1),
        ("C02", "五马社区", sd1, st1, o1),
        ("C03", "松台社区", sd2, st1, o2),
        ("C04", "仰义社区", sd2, st2, o3),
    ]
    comms = []
    for i, (cid, name, sd, st, off) in enumerate(spec):
        x0 = 120.60 + 0.01 * i
        comms.append(
            factory.community(
                cid,
                name,
                sub_district=sd,
                station=st,
                officer=off,
                bbox=(x0, 28.00, x0 + 0.01, 28.01),
            )
        )
    return District(comms, [o1, o2, o3], [st1, st2], [sd1, sd2])


def admitted(
    session,
    *,
    title="每周走访出租房屋",
    instructions="逐户走访辖区出租房屋，核对租住人员信息并登记。",
    branch=Branch.POPULATION,
    cycle=Cycle.WEEKLY,
    target_kind=TargetKind.ALL,
    target=None,
    minutes=30,
    deadline_days=None,
):
    """Propose and admit a template; return it."""
    tpl = propose_template(
        session,
        TemplateDraft(
            branch, title, instructions, cycle, target_kind, target, minutes, deadline_days
        ),
        branch_user(branch),
    )
    return review_template(session, tpl.id, OFFICE, admit=True)


def store_run(session, period, levels, scores=None):
    """Store a warning run of ``period`` with ``levels`` {community id: level} (and scores)."""
    run = WarningRun(
        period=period,
        version=1,
        created_at=NOW,
        created_by="t",
        config="{}",
        config_hash="h",
        data_version=1,
        window_first=period,
        n_communities=len(levels),
    )
    session.add(run)
    session.flush()
    zero = {
        k: 0.0
        for k in (
            "incident_rate",
            "crime_rate",
            "incident_trend",
            "control_gap",
            "floating_share",
            "p_incident_rate",
            "p_crime_rate",
            "p_incident_trend",
            "p_control_gap",
            "p_floating_share",
            "score",
            "stability",
        )
    }
    for cid, lv in levels.items():
        session.add(
            WarningResult(
                run_id=run.id,
                community_id=cid,
                residents=1,
                incidents=0,
                crime_incidents=0,
                incidents_year_before=0,
                factors=0,
                factors_out=0,
                level=WarningLevel(lv),
                window_stable=True,
                borderline=False,
                significant=False,
                explanation="{}",
                **{**zero, **({"score": scores[cid]} if scores else {})},
            )
        )
    session.flush()
