"""A small district for the alcohol and mediation tests: two stations, three communities, a
patrol point with an overnight plan, people in incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from fangcang.access import Role, Scope, Viewer
from fangcang.models import (
    Community,
    IncidentCategory,
    IncidentPerson,
    IncidentRole,
    Officer,
    PatrolPlan,
    PatrolPoint,
    Station,
)
from tests.conftest import Factory

# Valid ID numbers (GB 11643 check digits).
ID_A = "330302199001011235"
ID_B = "330302198512120017"
ID_C = "11010519491231002X"
NAME_A = "陈小华"
NOW = datetime(2026, 10, 31, 12, 0)


def id_number(seed: int) -> str:
    """A valid 18-character ID number for a test person."""
    first17 = f"330302199{seed % 10}0101{seed % 1000:03d}"[:17]
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


@dataclass
class District:
    station_a: Station
    station_b: Station
    officer_a: Officer
    officer_b: Officer
    a1: Community  # station A, has the patrol point
    a2: Community  # station A
    b1: Community  # station B
    point: PatrolPoint
    plan: PatrolPlan

    def station_viewer(self, which: str = "a") -> Viewer:
        st = self.station_a if which == "a" else self.station_b
        ids = (
            [self.a1.community_id, self.a2.community_id] if which == "a" else [self.b1.community_id]
        )
        return Viewer(
            username=f"station-{which}",
            role=Role.STATION,
            scope=Scope.of(ids, f"station:{st.station_id}"),
            station_id=st.station_id,
        )

    def officer_viewer(self) -> Viewer:
        return Viewer(
            username="officer-a",
            role=Role.OFFICER,
            scope=Scope.of([self.a1.community_id], f"officer:{self.officer_a.officer_id}"),
            officer_id=self.officer_a.officer_id,
        )


def build(f: Factory) -> District:
    sa, sb = f.station("STA", "城东派出所"), f.station("STB", "城西派出所")
    oa, ob = f.officer("OA", station=sa), f.officer("OB", station=sb)
    a1 = f.community("CA1", "沿江社区", station=sa, officer=oa, bbox=(120.60, 28.00, 120.61, 28.01))
    a2 = f.community("CA2", "江滨社区", station=sa, officer=oa, bbox=(120.61, 28.00, 120.62, 28.01))
    b1 = f.community("CB1", "西山社区", station=sb, officer=ob, bbox=(120.50, 28.00, 120.51, 28.01))
    point = PatrolPoint(
        point_id="PP1",
        name="江边夜宵街",
        community_id="CA1",
        lon=120.605,
        lat=28.005,
        radius_m=100,
        source="",
        updated_at=NOW,
    )
    plan = PatrolPlan(
        plan_id="PL1",
        point_id="PP1",
        unit="巡特警一队",
        days="1234567",
        start_time="21:00",
        end_time="02:00",
        starts_on=date(2026, 1, 1),
        ends_on=None,
        source="",
        updated_at=NOW,
    )
    f.s.add_all([point, plan])
    f.s.flush()
    return District(sa, sb, oa, ob, a1, a2, b1, point, plan)


def person_in(
    s: Session,
    incident,
    id_number: str | None,
    name: str = NAME_A,
    role=IncidentRole.PARTY,
    address=None,
) -> IncidentPerson:
    row = IncidentPerson(
        incident_id=incident.incident_id,
        community_id=incident.community_id,
        role=role,
        name=name,
        id_number=id_number,
        phone="13812345678",
        address=address,
        source="",
        updated_at=NOW,
    )
    s.add(row)
    s.flush()
    return row


def alcohol_incident(
    f: Factory, community, at: datetime, category=IncidentCategory.PUBLIC_ORDER, **kw
):
    return f.incident(community, at, category=category, alcohol_related=True, **kw)
