"""Alembic environment of the leaderboard store.

``leaderboards.schema.upgrade`` runs the migrations on a connection it already
holds (and has locked), passed in ``config.attributes["connection"]``. Run by
hand (``alembic -c alembic.ini upgrade head`` with ``script_location`` set to
this folder and ``sqlalchemy.url`` set), it opens its own connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch: SQLite alters tables by copy-and-move, PostgreSQL in place.
    context.configure(connection=conn, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        _run(conn)
