"""The store's one schema, for SQLite and PostgreSQL alike, and its Alembic migrations.

The tables are declared here for queries; they are created and changed only by
the migrations shipped in ``leaderboards/migrations`` (package data), which
:func:`upgrade` runs on a connection whose transaction the caller holds. The
caller takes the store's write lock first (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL an advisory lock), so processes racing to create one new store run
the migrations once, one after the other.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0002"  # the newest migration's revision: a store at it needs no migrating
# pg_advisory_xact_lock key held while migrating ("harness" in ASCII, as an int64)
MIGRATION_LOCK = 0x68_61_72_6E_65_73_73

metadata = sa.MetaData()

results = sa.Table(
    "results", metadata,
    sa.Column("key", sa.Text, primary_key=True),   # the result key: one row per result, ever
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
    sa.Column("setting", sa.Text),                 # readable setting: "limit=200 ft.epochs=1"
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("result", sa.Text, nullable=False),  # the results document, canonical JSON
    sa.Column("path", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
)

models = sa.Table(
    "models", metadata,
    sa.Column("model_hash", sa.Text, primary_key=True),
    sa.Column("model_id", sa.Text, nullable=False),
    sa.Column("info", sa.Text, nullable=False),    # merged description, canonical JSON
    sa.Column("created", sa.Float, nullable=False),
)


def _config(connection: sa.Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_head() -> str:
    """The newest revision among the shipped migrations (tests check it is :data:`HEAD`)."""
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None, "no migrations shipped"
    return rev


def current(connection: sa.Connection) -> str | None:
    """The revision a database is at (None: no store yet, or one from before Alembic).

    Read with one query rather than through Alembic, whose import alone costs more
    than a view of a small store.
    """
    if "alembic_version" not in sa.inspect(connection).get_table_names():
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(connection: sa.Connection) -> None:
    """Migrate to the head revision inside the caller's (locked) transaction."""
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
    if current(connection) != HEAD:  # another process may have migrated while we waited
        command.upgrade(_config(connection), "head")
