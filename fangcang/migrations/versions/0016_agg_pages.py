"""agg_district: incident aggregates at the grain the pages read

- ``agg_incident_district_month``: month x category x subtype over the whole district (the
  district-wide monthly views; ~30 rows a month instead of ~2,800 community rows);
- ``agg_incident_district_hour``: month x day-of-week x hour x category over the whole
  district (the hour-of-week grid of the trends page);
- ``agg_incident_metric_day`` / ``agg_incident_metric_month``: community x day / month with one
  column per headline metric (the per-community views; no category or subtype to test).

bench/bench_incidents.py measures them against DuckDB on the raw incidents. An existing
database fills the district tables from ``agg_incident_month`` / ``agg_incident_hour`` and the
metric tables from the incidents (``fangcang.metrics`` defines the metrics; the SQL below is that definition as of
this revision).

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


_METRICS = {  # column: SQL on an incident (fangcang.metrics.record_sql at this revision)
    "n": "1",
    "n_crime": "CASE WHEN category IN ('criminal', 'public_order') THEN 1 ELSE 0 END",
    "n_assault": "CASE WHEN subtype = 'assault' THEN 1 ELSE 0 END",
    "n_telecom_fraud": "CASE WHEN subtype = 'telecom_fraud' THEN 1 ELSE 0 END",
    "n_alcohol": "CASE WHEN alcohol_related THEN 1 ELSE 0 END",
}


def _metric_table(name: str, grain: str, expr: str) -> None:
    op.create_table(
        name,
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column(grain, sa.Date(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in _METRICS],
        sa.PrimaryKeyConstraint("community_id", grain, name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_cover", name, [grain, "community_id", *_METRICS], unique=False)
    sums = ", ".join(f"sum({sql})" for sql in _METRICS.values())
    op.execute(
        f"INSERT INTO {name} (community_id, {grain}, {', '.join(_METRICS)}) "
        f"SELECT community_id, {expr}, {sums} FROM incidents GROUP BY community_id, {expr}"
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
    op.create_table(
        "agg_incident_district_hour",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dow", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("category", _CATEGORY, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "dow", "hour", "category", name=op.f("pk_agg_incident_district_hour")
        ),
    )
    op.execute(
        "INSERT INTO agg_incident_district_hour (month, dow, hour, category, n) "
        "SELECT month, dow, hour, category, sum(n) FROM agg_incident_hour "
        "GROUP BY month, dow, hour, category"
    )
    if op.get_bind().dialect.name == "sqlite":
        day, month = "date(occurred_at)", "date(occurred_at, 'start of month')"
    else:
        day = "CAST(occurred_at AS DATE)"
        month = "CAST(date_trunc('month', occurred_at) AS DATE)"
    _metric_table("agg_incident_metric_day", "day", day)
    _metric_table("agg_incident_metric_month", "month", month)


def downgrade() -> None:
    for name in ("agg_incident_metric_month", "agg_incident_metric_day"):
        op.drop_index(f"ix_{name}_cover", table_name=name)
        op.drop_table(name)
    op.drop_table("agg_incident_district_hour")
    op.drop_table("agg_incident_district_month")
