"""The leaderboard store: result rows behind a SQLAlchemy URL.

``open_store(url)`` takes ``sqlite:////abs/path.sqlite`` (``sqlite:///relative``,
``sqlite:path`` or a plain file path: the embedded default, WAL mode) or
``postgresql://user@host:port/db`` (psycopg 3: a team's shared store). Both
have one schema, created and migrated by the Alembic migrations in
``leaderboards/migrations`` (:mod:`leaderboards.schema`).

A row is keyed by its result key (model content hash, task version and data
hash, mode, seed, config), and every write is an upsert on that key inside one
transaction (SQLite ``BEGIN IMMEDIATE`` with a long busy timeout; PostgreSQL
``INSERT ... ON CONFLICT``, retried on a deadlock or serialization failure):
writing the same result twice, from one process or from many at once, leaves
one row, and concurrent writers lose nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from harnesskit.errors import HarnessError
from leaderboards import schema
from leaderboards.board import setting_label

BUSY_TIMEOUT_S = 120.0
RETRIES = 8  # PostgreSQL: deadlocks and serialization failures are retried this often
URL_HINT = "use a file path, sqlite:////abs/path/harness.sqlite or postgresql://user@host:port/db"


def parse_url(url: str | Path) -> Path:
    """The database file a SQLite store URL (or plain path) names; other schemes are an error."""
    text = str(url)
    if text.startswith("sqlite:///"):  # SQLAlchemy's form: four slashes for an absolute path
        return Path(text[len("sqlite:///"):])
    if text.startswith("sqlite:"):
        return Path(text[len("sqlite:"):])
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise HarnessError(f"unsupported store URL scheme {scheme!r} in {text!r}", hint=URL_HINT)
    return Path(text)


def is_server_url(url: str | Path) -> bool:
    """True for a PostgreSQL URL (``postgresql://`` or ``postgresql+psycopg://``)."""
    return str(url).startswith(("postgresql://", "postgresql+psycopg://"))


def _pg_url(text: str) -> sa.URL:
    """A PostgreSQL URL on the psycopg 3 driver (SQLAlchemy's default driver is psycopg2)."""
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise HarnessError(f"malformed store URL {text!r}: {exc}", hint=URL_HINT) from None
    return url.set(drivername="postgresql+psycopg")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Store:
    """Result rows and model descriptions in one SQLite or PostgreSQL database."""

    def __init__(self, url: str | Path, *, create: bool = True) -> None:
        self.path: Path | None = None
        if is_server_url(url):
            self.url = _pg_url(str(url))
            self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=1)
        else:
            self.path = parse_url(url)
            if not create and not self.path.exists():
                raise HarnessError(f"no leaderboard store at {self.path}",
                                   hint="run `harness eval ... --out DIR` first, or pass --db URL")
            if self.path.is_dir():
                raise HarnessError(f"--db {self.path} is a folder, not a store file",
                                   hint="pass a file such as DIR/harness.sqlite")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.url = sa.URL.create("sqlite", database=str(self.path))
            self._engine = _sqlite_engine(self.url)
        self.where = (sa.make_url(str(url)).render_as_string(hide_password=True)
                      if self.path is None else str(self.path))
        self._open(create)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _open(self, create: bool) -> None:
        """Check the schema is at the newest revision, migrating it when allowed."""
        try:
            with self._engine.connect() as conn:
                if schema.current(conn) == schema.HEAD:
                    return
                tables = set(sa.inspect(conn).get_table_names())
            if not create and {"results", "models"} <= tables:
                return  # a store from before Alembic is still readable as it is
            if not create:
                raise HarnessError(f"no leaderboard store at {self.where}",
                                   hint="run `harness eval ... --db URL` first")
            with self.transaction() as conn:
                schema.upgrade(conn)
        except sa.exc.DatabaseError as exc:
            self._engine.dispose()
            if self.path is not None and "not a database" in str(exc):
                raise HarnessError(f"{self.path} is not a leaderboard store: {_first_line(exc)}",
                                   hint="pass --db a new file or an existing harness.sqlite") from None
            raise HarnessError(f"cannot open leaderboard store {self.where}: {_first_line(exc)}",
                               hint="check the URL, that the server runs, and the permissions") from None

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction: SQLite takes its write lock up front, so writers queue."""
        with self._engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn

    def _write(self, fn) -> None:  # type: ignore[no-untyped-def]
        """Run ``fn(conn)`` in a write transaction, retried on transient conflicts."""
        for attempt in range(RETRIES + 1):
            try:
                with self.transaction() as conn:
                    fn(conn)
                return
            except sa.exc.OperationalError as exc:
                transient = getattr(exc.orig, "sqlstate", None) in ("40001", "40P01") or (
                    "locked" in str(exc))
                if not transient or attempt == RETRIES:
                    raise HarnessError(f"cannot write leaderboard store {self.where}: "
                                       f"{_first_line(exc)}",
                                       hint="check the store is writable and reachable") from None
                time.sleep(0.05 * (attempt + 1))

    def check_writable(self) -> None:
        """Raise :class:`HarnessError` now if rows could not be written (a cheap preflight).

        Takes the write lock and writes nothing: SQLite's ``BEGIN IMMEDIATE`` fails
        on a read-only file or folder; PostgreSQL is asked for INSERT and UPDATE rights.
        """
        try:
            with self.transaction() as conn:
                if self.dialect == "postgresql":
                    ok = conn.execute(sa.text(
                        "SELECT has_table_privilege('results', 'INSERT,UPDATE') AND "
                        "has_table_privilege('models', 'INSERT,UPDATE') AND "
                        "current_setting('transaction_read_only') = 'off'")).scalar()
                    if not ok:
                        raise HarnessError(f"leaderboard store {self.where} is read-only for "
                                           "this user", hint="grant INSERT and UPDATE on its tables")
                else:
                    # deletes nothing, yet SQLite refuses it on a read-only database
                    conn.exec_driver_sql("DELETE FROM results WHERE key IS NULL")
                conn.rollback()
        except sa.exc.DatabaseError as exc:
            raise HarnessError(f"leaderboard store {self.where} is not writable: "
                               f"{_first_line(exc)}",
                               hint="check the file's and its folder's permissions, or pass "
                                    "--db another store") from None

    def put(self, result: dict[str, Any], path: str | None = None) -> None:
        """Insert or replace one result row (a results JSON document of SPEC §5)."""
        model, task = result["model"], result["task"]
        row = {"key": result["key"], "model_id": model["id"], "model_hash": model["content_hash"],
               "model_kind": model.get("kind"), "task": task["name"],
               "task_version": str(task.get("version")), "family": task.get("family"),
               "data_hash": task.get("data_hash"), "mode": result.get("mode"),
               "seed": result.get("seed"), "config_hash": result.get("config_hash"),
               "setting": setting_label(result.get("setting") or {}),
               "status": result["status"], "reason": result.get("reason"),
               "result": json.dumps(result, sort_keys=True), "path": path, "created": time.time()}

        def write(conn: sa.Connection) -> None:
            self._upsert(conn, row)
            if model.get("info") is not None:
                self._merge_model(conn, model["content_hash"], model["id"], model["info"])

        self._write(write)

    def _insert(self, table: sa.Table):  # type: ignore[no-untyped-def]
        """The dialect's INSERT, which offers ON CONFLICT on both backends."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _upsert(self, conn: sa.Connection, row: dict[str, Any], *,
                newer_only: bool = False) -> None:
        """Insert or replace the row of ``row["key"]``; ``newer_only``: replace only an
        older row (a copied backup must not put back metrics that a re-score replaced)."""
        stmt = self._insert(schema.results).values(**row)
        where = schema.results.c.created < stmt.excluded.created if newer_only else None
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["key"], set_={k: stmt.excluded[k] for k in row if k != "key"},
            where=where))

    def _merge_model(self, conn: sa.Connection, model_hash: str, model_id: str,
                     info: dict[str, Any], created: float | None = None) -> None:
        """Merge a model description: known values are never erased by a row that lacks them.

        The row is made to exist first, then locked (PostgreSQL ``FOR UPDATE``) and merged,
        so two writers describing one model never drop each other's fields.
        """
        m = schema.models
        conn.execute(self._insert(m).values(model_hash=model_hash, model_id=model_id, info="{}",
                                            created=created or time.time())
                     .on_conflict_do_nothing(index_elements=["model_hash"]))
        old = conn.execute(sa.select(m.c.info).where(m.c.model_hash == model_hash)
                           .with_for_update()).scalar_one()
        merged = json.loads(old)
        merged.update({k: v for k, v in info.items() if v is not None})
        values = {"model_id": model_id, "info": json.dumps(merged, sort_keys=True)}
        if created is None:
            values["created"] = time.time()
        conn.execute(m.update().where(m.c.model_hash == model_hash).values(**values))

    def results(self, task: str | None = None) -> list[dict[str, Any]]:
        """Every stored result document (optionally of one task), oldest first."""
        r = schema.results
        query = sa.select(r.c.result, r.c.path).order_by(r.c.created, r.c.key)
        if task is not None:
            query = query.where(r.c.task == task)
        out = []
        with self._engine.connect() as conn:
            for blob, path in conn.execute(query):
                doc = json.loads(blob)
                doc["_path"] = path
                out.append(doc)
        return out

    def models(self) -> dict[str, dict[str, Any]]:
        """Model descriptions (params, tokens, loss curve) by content hash."""
        m = schema.models
        with self._engine.connect() as conn:
            return {h: json.loads(info) for h, info in conn.execute(sa.select(m.c.model_hash,
                                                                              m.c.info))}

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every raw row of both tables (for copying a store), in key order."""
        with self._engine.connect() as conn:
            res = [dict(r._mapping) for r in conn.execute(
                sa.select(schema.results).order_by(schema.results.c.key))]
            mod = [dict(r._mapping) for r in conn.execute(
                sa.select(schema.models).order_by(schema.models.c.model_hash))]
        return res, mod

    def put_rows(self, results: list[dict[str, Any]], models: list[dict[str, Any]]) -> None:
        """Upsert raw rows as they are (timestamps kept), in one transaction; a row already
        here and newer than the copy is kept."""
        def write(conn: sa.Connection) -> None:
            for row in results:
                self._upsert(conn, row, newer_only=True)
            for row in models:
                self._merge_model(conn, row["model_hash"], row["model_id"],
                                  json.loads(row["info"]), created=row["created"])

        self._write(write)

    def count(self) -> int:
        """Number of result rows."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.results))
                       .scalar_one())

    def tasks(self) -> list[str]:
        """Task names with at least one row, sorted."""
        r = schema.results
        with self._engine.connect() as conn:
            return list(conn.execute(sa.select(r.c.task).distinct().order_by(r.c.task)).scalars())

    def close(self) -> None:
        """Close every connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    """A SQLite engine in WAL mode whose write transactions begin IMMEDIATE.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's
    ``begin`` emits the BEGIN (SQLAlchemy's documented recipe): reads begin
    DEFERRED, writes IMMEDIATE, so writers queue on the lock instead of failing
    when they upgrade a read lock.
    """
    from sqlalchemy import event
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool,
                              connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:  # a fresh file may be locked by a sibling switching it to WAL
            try:
                dbapi_conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except Exception as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str | Path, *, create: bool = True) -> Store:
    """Open (or create) the store a URL names; ``create=False`` for read-only views."""
    return Store(url, create=create)


def copy_store(source: str | Path, dest: str | Path) -> int:
    """Copy every row of one store into another (any backends); return the rows copied.

    Rows keep their keys and timestamps, so the leaderboard reads the same from
    either; copying twice, or into a store that already holds some rows, adds
    nothing twice.
    """
    with open_store(source, create=False) as src:
        results, models = src.rows()
    with open_store(dest) as dst:
        dst.put_rows(results, models)
    return len(results)
