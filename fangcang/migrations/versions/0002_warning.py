"""warning: stored warning runs, per-community results, back-test figures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("warning",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("window_first", sa.String(length=7), nullable=False),
        sa.Column("n_communities", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_runs")),
        sa.UniqueConstraint("period", "version", name="uq_warning_runs_period_version"),
    )
    with op.batch_alter_table("warning_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_runs_period"), ["period"], unique=False)

    op.create_table(
        "warning_results",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("incident_rate", sa.Float(), nullable=False),
        sa.Column("crime_rate", sa.Float(), nullable=False),
        sa.Column("incident_trend", sa.Float(), nullable=False),
        sa.Column("control_gap", sa.Float(), nullable=False),
        sa.Column("floating_share", sa.Float(), nullable=False),
        sa.Column("p_incident_rate", sa.Float(), nullable=False),
        sa.Column("p_crime_rate", sa.Float(), nullable=False),
        sa.Column("p_incident_trend", sa.Float(), nullable=False),
        sa.Column("p_control_gap", sa.Float(), nullable=False),
        sa.Column("p_floating_share", sa.Float(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("crime_incidents", sa.Integer(), nullable=False),
        sa.Column("incidents_year_before", sa.Integer(), nullable=False),
        sa.Column("factors", sa.Integer(), nullable=False),
        sa.Column("factors_out", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "green",
                "blue",
                "yellow",
                "red",
                name="warninglevel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("stability", sa.Float(), nullable=False),
        sa.Column("window_stable", sa.Boolean(), nullable=False),
        sa.Column("borderline", sa.Boolean(), nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["warning_runs.id"],
            name=op.f("fk_warning_results_run_id_warning_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "community_id", name=op.f("pk_warning_results")),
    )
    with op.batch_alter_table("warning_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warning_results_community_id"), ["community_id"], unique=False
        )

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


def downgrade() -> None:
    with op.batch_alter_table("warning_backtest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_backtest_period"))
    op.drop_table("warning_backtest")
    with op.batch_alter_table("warning_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_results_community_id"))
    op.drop_table("warning_results")
    with op.batch_alter_table("warning_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_runs_period"))
    op.drop_table("warning_runs")
