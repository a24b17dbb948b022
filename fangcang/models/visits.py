"""Cloud household visits (云入户): what officers saw, the discrepancies with the registry that
reconciliation found, and every registry correction made by confirming one.

- ``Visit``: one visit of one house (officer, time, observed use and resident count, notes).
- ``VisitResident``: one person seen on a visit, with the registry person it was matched to
  (if any), the method and the match confidence.
- ``Discrepancy``: a typed difference between a visit and the registry; it waits in a queue
  (open -> confirmed / dismissed). ``old_value``/``new_value`` are the proposed correction.
- ``RegistryChange``: one field of one registry record changed by a confirmation, keeping the
  old value, who and when.

House, person and community ids are plain indexed strings (not foreign keys), like
``people.house_id``: departments re-export records and a visit must survive that.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type
from .core import HouseUse, Person

# Matching a person seen on a visit looks people up by phone and by birth date (after the ID
# number, which the foundation already indexes). Declared here, created by the visits
# migration, so the foundation's table definition stays untouched.
Index("ix_people_phone", Person.__table__.c.phone)
Index("ix_people_birth_date", Person.__table__.c.birth_date)


class DiscrepancyType(enum.StrEnum):
    USE_DIFFERS = "use_differs"  # 房屋用途不符
    COUNT_DIFFERS = "count_differs"  # 居住人数不符
    NOT_REGISTERED_HERE = "not_registered_here"  # 登记在别处的人住在这里
    UNREGISTERED = "unregistered"  # 登记库中查无此人（未登记流动人口）
    NOT_SEEN = "not_seen"  # 登记在此但未见到
    KEY_PERSON_NOT_SEEN = "key_person_not_seen"  # 重点人员未见到
    DUPLICATE_REGISTRATION = "duplicate_registration"  # 同一人登记在两处房屋


class DiscrepancyStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class MatchMethod(enum.StrEnum):
    ID_NUMBER = "id_number"
    NAME_PHONE = "name_phone"
    NAME_BIRTH = "name_birth"
    NONE = "none"


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_house_time", "house_id", "visited_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    house_id: Mapped[str] = mapped_column(String(40), nullable=False)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    officer_id: Mapped[str | None] = mapped_column(String(32))
    visited_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    observed_use: Mapped[HouseUse | None] = mapped_column(enum_type(HouseUse))
    # Residents counted on site; may exceed the people identified (some refuse to show ids).
    observed_count: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="", nullable=False)
    source: Mapped[str] = mapped_column(String(32), default="form", nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime)


class VisitResident(Base):
    __tablename__ = "visit_residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    id_number: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    matched_person_id: Mapped[str | None] = mapped_column(String(40), index=True)
    match_method: Mapped[MatchMethod] = mapped_column(
        enum_type(MatchMethod), default=MatchMethod.NONE, nullable=False
    )
    match_confidence: Mapped[float | None] = mapped_column(Float)


class Discrepancy(Base):
    __tablename__ = "discrepancies"
    __table_args__ = (
        Index("ix_discrepancies_community_status", "community_id", "status"),
        Index("ix_discrepancies_fingerprint", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[DiscrepancyType] = mapped_column(enum_type(DiscrepancyType), nullable=False)
    status: Mapped[DiscrepancyStatus] = mapped_column(
        enum_type(DiscrepancyStatus), default=DiscrepancyStatus.OPEN, nullable=False
    )
    community_id: Mapped[str] = mapped_column(String(32), nullable=False)
    house_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(40))
    visit_resident_id: Mapped[int | None] = mapped_column(ForeignKey("visit_residents.id"))
    # What confirming changes: "<table>.<field>" of ``target_id`` (or "people.new").
    target_table: Mapped[str] = mapped_column(String(32), nullable=False)
    target_id: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="{}", nullable=False)  # JSON
    # Same type, house and person: one open discrepancy at a time, however often we reconcile.
    fingerprint: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class RegistryChange(Base):
    """One field of one registry record changed by a confirmed discrepancy (old value kept)."""

    __tablename__ = "registry_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    discrepancy_id: Mapped[int] = mapped_column(
        ForeignKey("discrepancies.id"), nullable=False, index=True
    )
    table_name: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "Discrepancy",
    "DiscrepancyStatus",
    "DiscrepancyType",
    "MatchMethod",
    "RegistryChange",
    "Visit",
    "VisitResident",
]
