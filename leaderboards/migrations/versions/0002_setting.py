"""The readable setting of each result (``limit=200 ft.epochs=1``; empty for the defaults).

Every evaluation setting that changes a number is part of the result key (and of
``config_hash``); this column names it for people and queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("results")}
    if "setting" not in have:
        with op.batch_alter_table("results") as batch:
            batch.add_column(sa.Column("setting", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("setting")
