"""backtest v2: warning_backtest keeps one row per month, configuration and method

The back-test now compares the model with two baselines on two targets (counts and rates) and
reads PAI at a fixed share of area and of residents (docs/scoring.md, "Back-test"). The old
rows (one per month with a single count baseline) cannot be converted: they are derived
figures, recomputed by ``python -m fangcang backtest``, so the table is recreated empty.

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-30 01:00:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = ("backtest",)
depends_on: Union[str, Sequence[str], None] = "0002"


def upgrade() -> None:
    with op.batch_alter_table("warning_backtest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_backtest_period"))
    op.drop_table("warning_backtest")
    op.create_table(
        "warning_backtest",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "model",
                "last_count",
                "rate_12m",
                name="backtestmethod",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("excluded", sa.String(length=32), nullable=True),
        sa.Column("n_communities", sa.Integer(), nullable=False),
        sa.Column("next_crime", sa.Integer(), nullable=False),
        sa.Column("rho_count", sa.Float(), nullable=True),
        sa.Column("rho_rate", sa.Float(), nullable=True),
        sa.Column("pai", sa.Float(), nullable=True),
        sa.Column("pai_pop", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_backtest")),
        sa.UniqueConstraint(
            "period", "config_hash", "method", name="uq_warning_backtest_period_config_method"
        ),
    )
    with op.batch_alter_table("warning_backtest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_backtest_period"), ["period"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("warning_backtest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_backtest_period"))
    op.drop_table("warning_backtest")
    op.create_table(
        "warning_backtest",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("n_communities", sa.Integer(), nullable=False),
        sa.Column("next_incidents", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("rho", sa.Float(), nullable=True),
        sa.Column("hit_share", sa.Float(), nullable=True),
        sa.Column("area_share", sa.Float(), nullable=True),
        sa.Column("pai", sa.Float(), nullable=True),
        sa.Column("baseline_rho", sa.Float(), nullable=True),
        sa.Column("baseline_hit_share", sa.Float(), nullable=True),
        sa.Column("baseline_area_share", sa.Float(), nullable=True),
        sa.Column("baseline_pai", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_backtest")),
        sa.UniqueConstraint("period", "config_hash", name="uq_warning_backtest_period_config_hash"),
    )
    with op.batch_alter_table("warning_backtest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_backtest_period"), ["period"], unique=False)
