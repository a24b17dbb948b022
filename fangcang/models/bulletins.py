"""Focused work (整治) on communities and numbered warning bulletins (预警通报).

A bulletin is frozen when issued: its full content (JSON), its printable HTML and its map image
are stored with it, so later data or a re-run of the warning never changes what was issued.
``BulletinCommunity`` lists the communities a bulletin names, for search and history.

Bulletins reference the warning run they were made from by id only (no foreign key): the
bulletin is a self-contained snapshot and must outlive any re-run or clean-up of warning runs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class FocusWork(Base):
    """A community under focused work (整治) from ``start_date`` until ``end_date`` (open: NULL)."""

    __tablename__ = "focus_work"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    measures: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    end_note: Mapped[str] = mapped_column(Text, default="", nullable=False)


class Bulletin(Base):
    """One issued warning bulletin: 2026年第N期. ``(year, number)`` is unique, which is what keeps
    numbering free of reuse when two people issue at the same moment."""

    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("year", "number", name="uq_bulletins_year_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    period: Mapped[str] = mapped_column(String(7), nullable=False, index=True)  # YYYY-MM
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    issued_by: Mapped[str] = mapped_column(String(64), nullable=False)
    warning_run_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content_json: Mapped[str] = mapped_column(Text, nullable=False)
    html: Mapped[str] = mapped_column(Text, nullable=False)
    map_png: Mapped[bytes | None] = mapped_column(LargeBinary)

    communities: Mapped[list[BulletinCommunity]] = relationship(
        back_populates="bulletin", cascade="all, delete-orphan", order_by="BulletinCommunity.id"
    )


class BulletinCommunity(Base):
    """A community named in a bulletin, with the level and change it was named for."""

    __tablename__ = "bulletin_communities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"), nullable=False, index=True)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    community_name: Mapped[str] = mapped_column(String(64), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    change: Mapped[str] = mapped_column(String(16), default="", nullable=False)

    bulletin: Mapped[Bulletin] = relationship(back_populates="communities")
