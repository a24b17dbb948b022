"""speed2: covering indexes on the incident aggregates (date first, then every column read)

The dashboards' range queries on ``agg_incident_day`` / ``agg_incident_month`` read the index
alone instead of one table lookup per row (bench/bench_incidents.py); they replace the
date-only indexes. A staged load (fangcang.importer.staged) may have left an index under its
other name (suffix ``__b``): either is dropped.

Revision ID: 0015
Revises: 0001
Create Date: 2026-11-30 04:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("speed2",)
depends_on: str | Sequence[str] | None = "0012"

_COVER = ["community_id", "category", "subtype", "n", "n_alcohol", "loss_yuan"]
_TABLES = {"agg_incident_day": "day", "agg_incident_month": "month"}


def _drop_any(table: str, name: str) -> None:
    names = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}
    for candidate in (name, name + "__b"):
        if candidate in names:
            op.drop_index(candidate, table_name=table)


def upgrade() -> None:
    for table, date_col in _TABLES.items():
        _drop_any(table, f"ix_{table}_{date_col}")
        op.create_index(f"ix_{table}_cover", table, [date_col, *_COVER], unique=False)


def downgrade() -> None:
    for table, date_col in _TABLES.items():
        _drop_any(table, f"ix_{table}_cover")
        op.create_index(f"ix_{table}_{date_col}", table, [date_col], unique=False)
