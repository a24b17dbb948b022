"""speed: agg_incident_month (community x month x category x subtype), filled from agg_incident_day

Revision ID: 0012
Revises: 0001
Create Date: 2026-11-30 00:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("speed",)
depends_on: str | Sequence[str] | None = None

_CATEGORY = sa.Enum(
    "criminal",
    "public_order",
    "dispute",
    "traffic",
    "fire",
    "assistance",
    "other",
    name="incidentcategory",
    native_enum=False,
    length=32,
)


def upgrade() -> None:
    op.create_table(
        "agg_incident_month",
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category", _CATEGORY, nullable=False),
        sa.Column("subtype", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_alcohol", sa.Integer(), nullable=False),
        sa.Column("loss_yuan", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "community_id", "month", "category", "subtype", name=op.f("pk_agg_incident_month")
        ),
    )
    with op.batch_alter_table("agg_incident_month", schema=None) as batch_op:
        batch_op.create_index("ix_agg_incident_month_month", ["month"], unique=False)
    # An existing database: the month table is the day table summed by month (same records).
    if op.get_bind().dialect.name == "sqlite":
        month = "date(day, 'start of month')"
    else:
        month = "CAST(date_trunc('month', day) AS DATE)"
    op.execute(
        "INSERT INTO agg_incident_month "
        "(community_id, month, category, subtype, n, n_alcohol, loss_yuan) "
        f"SELECT community_id, {month}, category, subtype, sum(n), sum(n_alcohol), "
        f"sum(loss_yuan) FROM agg_incident_day GROUP BY community_id, {month}, category, subtype"
    )


def downgrade() -> None:
    with op.batch_alter_table("agg_incident_month", schema=None) as batch_op:
        batch_op.drop_index("ix_agg_incident_month_month")
    op.drop_table("agg_incident_month")
