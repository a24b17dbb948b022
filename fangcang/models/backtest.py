"""Back-test figures of the targeted warning (docs/scoring.md, "Back-test").

One row per assessment month, scoring configuration and method (the model or a baseline), so
the warning page reads a kept back-test instead of recomputing it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type


class BacktestMethod(enum.StrEnum):
    """What ranks the communities in a back-test."""

    MODEL = "model"  # the warning score at M
    LAST_COUNT = "last_count"  # criminal + public-order incidents in M-11 .. M
    RATE_12M = "rate_12m"  # the same per 1,000 residents


class WarningBacktest(Base):
    """How one method ranked the next quarter (M+1 .. M+3) for one assessment month M."""

    __tablename__ = "warning_backtest"
    __table_args__ = (
        UniqueConstraint(
            "period", "config_hash", "method", name="uq_warning_backtest_period_config_method"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), nullable=False, index=True)  # YYYY-MM
    config_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    method: Mapped[BacktestMethod] = mapped_column(enum_type(BacktestMethod), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False)
    share: Mapped[float] = mapped_column(Float, nullable=False)  # of area / residents for PAI
    excluded: Mapped[str | None] = mapped_column(String(32))  # backtest.Exclusion value
    n_communities: Mapped[int] = mapped_column(Integer, nullable=False)
    next_crime: Mapped[int] = mapped_column(Integer, nullable=False)  # incidents in M+1 .. M+3
    rho_count: Mapped[float | None] = mapped_column(Float)  # Spearman with next-quarter counts
    rho_rate: Mapped[float | None] = mapped_column(Float)  # Spearman with next-quarter rates
    pai: Mapped[float | None] = mapped_column(Float)  # at `share` of the area
    pai_pop: Mapped[float | None] = mapped_column(Float)  # at `share` of the residents
