"""Alcohol-related incidents handled actively (涉酒警情): the people in incidents, patrol points
with their plans and check-ins (精密智巡), and the repeat-person files (一人一档) with the
measures taken.

- ``IncidentPerson``: one person involved in an incident (reporter, party, suspect, victim),
  linked to others by ID number when known (``incident_people.csv``).
- ``PatrolPoint``: a place patrol units check in at (a venue or a location) with a radius.
- ``PatrolPlan``: which unit checks in at a point, on which days of the week, in which time
  window (a window may run past midnight), from which day.
- ``PatrolCheckin``: one check-in (unit, officer, time, position) with its validation against
  the point's radius and the plans' windows.
- ``AlcoholPersonFile``: the file of a person involved in 2+ alcohol incidents in 12 months:
  responsible community officer, next review date.
- ``AlcoholMeasure``: a measure taken with such a person (亲友带回, 劝导教育, 强制醒酒/戒酒).

Incident, place and community ids are plain indexed strings (not foreign keys), as in the
visits tables: departments re-export records and these rows must survive that.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type


class IncidentRole(enum.StrEnum):
    REPORTER = "reporter"  # 报警人
    PARTY = "party"  # 当事人
    SUSPECT = "suspect"  # 嫌疑人
    VICTIM = "victim"  # 受害人


class CheckinStatus(enum.StrEnum):
    VALID = "valid"  # inside the radius and a planned window of the unit
    OUTSIDE_RADIUS = "outside_radius"  # too far from the point
    OUTSIDE_WINDOW = "outside_window"  # no plan of this unit covers the time


class MeasureKind(enum.StrEnum):
    FAMILY_PICKUP = "family_pickup"  # 亲友带回
    PERSUASION = "persuasion"  # 劝导教育
    COMPULSORY = "compulsory"  # 强制醒酒/戒酒


class IncidentPerson(Base):
    __tablename__ = "incident_people"
    __table_args__ = (Index("ix_incident_people_incident_role", "incident_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(40), nullable=False)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    role: Mapped[IncidentRole] = mapped_column(enum_type(IncidentRole), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # The address involved (where it happened or where the person lives): the escalation
    # watch links a dispute and a later criminal incident by person or by this address.
    address: Mapped[str | None] = mapped_column(String(200), index=True)
    person_id: Mapped[str | None] = mapped_column(String(40), index=True)  # registry match
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class PatrolPoint(Base):
    __tablename__ = "patrol_points"

    point_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    place_id: Mapped[str | None] = mapped_column(String(40))
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    radius_m: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class PatrolPlan(Base):
    __tablename__ = "patrol_plans"

    plan_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    point_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    unit: Mapped[str] = mapped_column(String(64), nullable=False)
    # ISO weekdays as digits, e.g. "5671" = Friday to Monday (1 = Monday, 7 = Sunday).
    days: Mapped[str] = mapped_column(String(7), nullable=False)
    start_time: Mapped[str] = mapped_column(String(5), nullable=False)  # HH:MM
    end_time: Mapped[str] = mapped_column(String(5), nullable=False)  # before start: next day
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class PatrolCheckin(Base):
    __tablename__ = "patrol_checkins"
    __table_args__ = (Index("ix_patrol_checkins_point_time", "point_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    point_id: Mapped[str] = mapped_column(String(40), nullable=False)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    plan_id: Mapped[str | None] = mapped_column(String(40))  # the plan whose window it fits
    unit: Mapped[str] = mapped_column(String(64), nullable=False)
    officer_id: Mapped[str | None] = mapped_column(String(32))
    checked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[CheckinStatus] = mapped_column(enum_type(CheckinStatus), nullable=False)
    source: Mapped[str] = mapped_column(String(16), default="csv", nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class AlcoholPersonFile(Base):
    """一人一档: opened when a person reaches 2 alcohol incidents in 12 months."""

    __tablename__ = "alcohol_person_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    officer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    next_review: Mapped[date] = mapped_column(Date, nullable=False)
    last_review: Mapped[date | None] = mapped_column(Date)
    review_note: Mapped[str] = mapped_column(Text, default="", nullable=False)


class AlcoholMeasure(Base):
    __tablename__ = "alcohol_measures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    kind: Mapped[MeasureKind] = mapped_column(enum_type(MeasureKind), nullable=False)
    taken_on: Mapped[date] = mapped_column(Date, nullable=False)
    officer_id: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(40), index=True)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


__all__ = [
    "AlcoholMeasure",
    "AlcoholPersonFile",
    "CheckinStatus",
    "IncidentPerson",
    "IncidentRole",
    "MeasureKind",
    "PatrolCheckin",
    "PatrolPlan",
    "PatrolPoint",
]
