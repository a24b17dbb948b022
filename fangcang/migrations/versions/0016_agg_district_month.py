"""pages: agg_incident_district_month (month x category x subtype over the whole district)

The district-wide monthly views read it instead of summing ~2,800 community rows a month of
``agg_incident_month`` (bench/bench_incidents.py). An existing database fills it from
``agg_incident_month`` (the same incidents summed over communities).

Revision ID: 0016
Revises: 0001
Create Date: 2026-11-30 07:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("agg_district",)
depends_on: str | Sequence[str] | None = "0012"

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
        "agg_incident_district_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category", _CATEGORY, nullable=False),
        sa.Column("subtype", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_alcohol", sa.Integer(), nullable=False),
        sa.Column("loss_yuan", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "category", "subtype", name=op.f("pk_agg_incident_district_month")
        ),
    )
    op.execute(
        "INSERT INTO agg_incident_district_month "
        "(month, category, subtype, n, n_alcohol, loss_yuan) "
        "SELECT month, category, subtype, sum(n), sum(n_alcohol), sum(loss_yuan) "
        "FROM agg_incident_month GROUP BY month, category, subtype"
    )


def downgrade() -> None:
    op.drop_table("agg_incident_district_month")
