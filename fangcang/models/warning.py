"""Targeted warning (靶向预警): stored runs, per-community results and back-test figures.

A ``WarningRun`` is one scoring of the district for one month with one configuration. Runs are
versioned: re-running a month explicitly adds version ``n + 1`` and readers take the latest
version, so earlier colours stay on record (see docs/scoring.md).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type
from .core import FactorKind


class WarningLevel(enum.StrEnum):
    """The four warning colours, lowest first."""

    GREEN = "green"  # 绿
    BLUE = "blue"  # 蓝
    YELLOW = "yellow"  # 黄
    RED = "red"  # 红

    @property
    def rank(self) -> int:
        """0 (green) .. 3 (red): higher is more serious."""
        return list(WarningLevel).index(self)


class WarningRun(Base):
    """One stored scoring of every community for one month."""

    __tablename__ = "warning_runs"
    __table_args__ = (UniqueConstraint("period", "version", name="uq_warning_runs_period_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), nullable=False, index=True)  # YYYY-MM
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    config: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of the configuration used
    config_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # 1: the percentile model (runs before migration 0007); 2: rates against the district
    model_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    data_version: Mapped[int] = mapped_column(Integer, nullable=False)
    window_first: Mapped[str] = mapped_column(String(7), nullable=False)  # YYYY-MM
    n_communities: Mapped[int] = mapped_column(Integer, nullable=False)


class WarningResult(Base):
    """One community's indicators, score, level and explanation in one run.

    Model 1 filled the percentiles ``p_*``; model 2 leaves them NULL and fills ``raw_level``,
    ``pending``, ``excess_p``, ``crime_ratio``, ``trend_mark``, ``trend_z`` and ``points``
    (JSON: points per indicator). In model 2 ``incident_trend`` holds the trend's exact z.
    """

    __tablename__ = "warning_results"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("warning_runs.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    # raw indicators
    incident_rate: Mapped[float] = mapped_column(Float, nullable=False)
    crime_rate: Mapped[float] = mapped_column(Float, nullable=False)
    incident_trend: Mapped[float] = mapped_column(Float, nullable=False)
    control_gap: Mapped[float] = mapped_column(Float, nullable=False)
    floating_share: Mapped[float] = mapped_column(Float, nullable=False)
    # percentiles (0..100; model 1 only)
    p_incident_rate: Mapped[float | None] = mapped_column(Float)
    p_crime_rate: Mapped[float | None] = mapped_column(Float)
    p_incident_trend: Mapped[float | None] = mapped_column(Float)
    p_control_gap: Mapped[float | None] = mapped_column(Float)
    p_floating_share: Mapped[float | None] = mapped_column(Float)
    # the counts behind them
    residents: Mapped[int] = mapped_column(Integer, nullable=False)
    incidents: Mapped[int] = mapped_column(Integer, nullable=False)
    crime_incidents: Mapped[int] = mapped_column(Integer, nullable=False)
    incidents_year_before: Mapped[int] = mapped_column(Integer, nullable=False)
    factors: Mapped[int] = mapped_column(Integer, nullable=False)
    factors_out: Mapped[int] = mapped_column(Integer, nullable=False)
    # outcome
    score: Mapped[float] = mapped_column(Float, nullable=False)
    level: Mapped[WarningLevel] = mapped_column(enum_type(WarningLevel), nullable=False)
    stability: Mapped[float] = mapped_column(Float, nullable=False)
    window_stable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    borderline: Mapped[bool] = mapped_column(Boolean, nullable=False)
    significant: Mapped[bool] = mapped_column(Boolean, nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False)  # JSON, language-neutral
    # model 2
    raw_level: Mapped[WarningLevel | None] = mapped_column(enum_type(WarningLevel))
    pending: Mapped[str | None] = mapped_column(String(16))  # "upgrade" / "downgrade"
    excess_p: Mapped[float | None] = mapped_column(Float)  # one-sided exact p of the excess
    crime_ratio: Mapped[float | None] = mapped_column(Float)  # EB-smoothed, / district
    trend_mark: Mapped[str | None] = mapped_column(String(8))  # up / down / flat / na
    trend_z: Mapped[float | None] = mapped_column(Float)
    points: Mapped[str | None] = mapped_column(Text)  # JSON {indicator: points}


class FactorCheck(Base):
    """One check / visit / inspection of one public-order factor on one day.

    The history of control: a factor is in control at day D when it has a check in
    ``[D - interval + 1, D]`` (``interval_days`` 0: the kind's default from the scoring
    configuration). Imports add the records' last-check dates as events (idempotent: one row
    per factor and day); recorded visits and corrected checks add theirs.
    """

    __tablename__ = "factor_checks"
    __table_args__ = (
        UniqueConstraint("kind", "record_id", "checked_on", name="uq_factor_checks_event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[FactorKind] = mapped_column(enum_type(FactorKind), nullable=False)
    record_id: Mapped[str] = mapped_column(String(40), nullable=False)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    checked_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    interval_days: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
