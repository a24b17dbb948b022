"""bulletins: focused work, numbered warning bulletins and the communities they name

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-29 04:45:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = ("bulletins",)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "focus_work",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.community_id"],
            name=op.f("fk_focus_work_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_focus_work")),
    )
    with op.batch_alter_table("focus_work", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_focus_work_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("warning_run_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("map_png", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletins")),
        sa.UniqueConstraint("year", "number", name="uq_bulletins_year_number"),
    )
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletins_period"), ["period"], unique=False)

    op.create_table(
        "bulletin_communities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("community_name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_bulletin_communities_bulletin_id_bulletins"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_communities")),
    )
    with op.batch_alter_table("bulletin_communities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulletin_communities_bulletin_id"), ["bulletin_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bulletin_communities_community_id"), ["community_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bulletin_communities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_communities_community_id"))
        batch_op.drop_index(batch_op.f("ix_bulletin_communities_bulletin_id"))
    op.drop_table("bulletin_communities")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletins_period"))
    op.drop_table("bulletins")
    with op.batch_alter_table("focus_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_focus_work_community_id"))
    op.drop_table("focus_work")
