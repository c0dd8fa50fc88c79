"""Result rows keyed by the result key, and model descriptions keyed by content hash.

A store written before the store moved to Alembic (same two tables, no
``alembic_version``) is adopted as it is: only missing tables are created.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "results" not in have:
        op.create_table(
            "results",
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("model_id", sa.Text, nullable=False),
            sa.Column("model_hash", sa.Text, nullable=False),
            sa.Column("model_kind", sa.Text),
            sa.Column("task", sa.Text, nullable=False),
            sa.Column("task_version", sa.Text),
            sa.Column("family", sa.Text),
            sa.Column("data_hash", sa.Text),
            sa.Column("mode", sa.Text),
            sa.Column("seed", sa.Integer),
            sa.Column("config_hash", sa.Text),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("reason", sa.Text),
            sa.Column("result", sa.Text, nullable=False),
            sa.Column("path", sa.Text),
            sa.Column("created", sa.Float, nullable=False),
        )
        op.create_index("results_task", "results", ["task"])
        op.create_index("results_model", "results", ["model_hash"])
    if "models" not in have:
        op.create_table(
            "models",
            sa.Column("model_hash", sa.Text, primary_key=True),
            sa.Column("model_id", sa.Text, nullable=False),
            sa.Column("info", sa.Text, nullable=False),
            sa.Column("created", sa.Float, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("models")
    op.drop_index("results_model", table_name="results")
    op.drop_index("results_task", table_name="results")
    op.drop_table("results")
