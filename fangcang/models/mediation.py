"""Police-lawyer mediation (警律联调): dispute incidents referred to a lawyer of a partner law
firm, the sessions held, the outcome, and the regular consultations (会商) of the law firm, the
station and the justice office (司法所).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type


class MediationOutcome(enum.StrEnum):
    PENDING = "pending"  # 调解中
    RESOLVED = "resolved"  # 调解成功（达成协议）
    NOT_RESOLVED = "not_resolved"  # 调解不成
    WITHDRAWN = "withdrawn"  # 撤回


class MediationReferral(Base):
    __tablename__ = "mediation_referrals"

    referral_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    station_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    referred_on: Mapped[date] = mapped_column(Date, nullable=False)
    law_firm: Mapped[str] = mapped_column(String(128), nullable=False)
    lawyer: Mapped[str] = mapped_column(String(64), nullable=False)
    justice_office: Mapped[str] = mapped_column(String(128), default="", nullable=False)
    outcome: Mapped[MediationOutcome] = mapped_column(enum_type(MediationOutcome), nullable=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class MediationSession(Base):
    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(
        ForeignKey("mediation_referrals.referral_id"), nullable=False, index=True
    )
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)


class MediationConsultation(Base):
    """会商: a regular meeting of the law firm, the station and the justice office."""

    __tablename__ = "mediation_consultations"

    meeting_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    station_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    law_firm: Mapped[str] = mapped_column(String(128), nullable=False)
    justice_office: Mapped[str] = mapped_column(String(128), default="", nullable=False)
    topic: Mapped[str] = mapped_column(Text, default="", nullable=False)
    cases_discussed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


__all__ = [
    "MediationConsultation",
    "MediationOutcome",
    "MediationReferral",
    "MediationSession",
]
