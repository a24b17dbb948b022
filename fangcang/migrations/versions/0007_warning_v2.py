"""warning v2: model version of runs, model-2 result columns, factor check history

Revision ID: 0007
Revises: 0002 (the warning feature's own branch: it alters 0002's tables)
Create Date: 2026-11-30 01:10:00

Runs stored before this migration are model 1 (percentiles): ``model_version`` defaults to 1
and their new columns stay NULL, so they stay readable.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_LEVEL = sa.Enum(
    "green", "blue", "yellow", "red", name="warninglevel", native_enum=False, length=32
)
_KIND = sa.Enum(
    "key_person",
    "rental_house",
    "group_rental_house",
    "venue",
    "regulated_trade",
    "dangerous_goods",
    name="factorkind",
    native_enum=False,
    length=32,
)
_P = ("incident_rate", "crime_rate", "incident_trend", "control_gap", "floating_share")


def upgrade() -> None:
    with op.batch_alter_table("warning_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model_version", sa.Integer(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("warning_results", schema=None) as batch_op:
        for k in _P:
            batch_op.alter_column(f"p_{k}", existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column("raw_level", _LEVEL, nullable=True))
        batch_op.add_column(sa.Column("pending", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("excess_p", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("crime_ratio", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("trend_mark", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("trend_z", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("points", sa.Text(), nullable=True))

    op.create_table(
        "factor_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", _KIND, nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_checks")),
        sa.UniqueConstraint("kind", "record_id", "checked_on", name="uq_factor_checks_event"),
    )
    with op.batch_alter_table("factor_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_factor_checks_checked_on"), ["checked_on"])
        batch_op.create_index(batch_op.f("ix_factor_checks_community_id"), ["community_id"])


def downgrade() -> None:
    with op.batch_alter_table("factor_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_factor_checks_community_id"))
        batch_op.drop_index(batch_op.f("ix_factor_checks_checked_on"))
    op.drop_table("factor_checks")
    with op.batch_alter_table("warning_results", schema=None) as batch_op:
        for c in ("points", "trend_z", "trend_mark", "crime_ratio", "excess_p", "pending"):
            batch_op.drop_column(c)
        batch_op.drop_column("raw_level")
        for k in _P:
            batch_op.alter_column(f"p_{k}", existing_type=sa.Float(), nullable=False)
    with op.batch_alter_table("warning_runs", schema=None) as batch_op:
        batch_op.drop_column("model_version")
