"""The leaderboard store: result rows behind a URL, SQLite (WAL) by default.

``open_store(url)`` takes SQLAlchemy-style ``sqlite:////abs/path.sqlite`` (or
``sqlite:///relative.sqlite``), ``sqlite:path`` or a plain file path, so that a shared server database can be added later behind
the same small interface. Every write is one ``BEGIN IMMEDIATE`` transaction
with a generous busy timeout: several ``harness eval`` processes writing one
store at once queue up instead of losing rows. A row is keyed by its result key
(model content hash, task version and data hash, mode, seed, config), so
writing the same result again replaces it rather than duplicating it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    model_kind TEXT,
    task TEXT NOT NULL,
    task_version TEXT,
    family TEXT,
    data_hash TEXT,
    mode TEXT,
    seed INTEGER,
    config_hash TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    result TEXT NOT NULL,
    path TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_task ON results(task);
CREATE INDEX IF NOT EXISTS results_model ON results(model_hash);
CREATE TABLE IF NOT EXISTS models (
    model_hash TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    info TEXT NOT NULL,
    created REAL NOT NULL
);
"""

BUSY_TIMEOUT_S = 120.0


def parse_url(url: str | Path) -> Path:
    """The database file a store URL names; unsupported schemes are a user error."""
    text = str(url)
    if text.startswith("sqlite:///"):  # SQLAlchemy's form: four slashes for an absolute path
        return Path(text[len("sqlite:///"):])
    if text.startswith("sqlite:"):
        return Path(text[len("sqlite:"):])
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise HarnessError(f"unsupported store URL scheme {scheme!r} in {text!r}",
                           hint="use sqlite:////abs/path/harness.sqlite or a file path")
    return Path(text)


class Store:
    """Result rows and model descriptions in one SQLite database."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise HarnessError(f"no leaderboard store at {self.path}",
                               hint="run `harness eval ... --out DIR` first, or pass --db URL")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None, check_same_thread=False)
        self._init()

    def _init(self) -> None:
        """WAL mode and the schema; retried because a fresh file may be locked by a sibling."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
                mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                assert mode.lower() == "wal", mode
                with self.transaction() as cur:
                    for stmt in filter(None, (s.strip() for s in SCHEMA.split(";"))):
                        cur.execute(stmt)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise HarnessError(f"cannot open leaderboard store {self.path}: {exc}",
                                       hint="check the path and its permissions") from exc
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise HarnessError(f"{self.path} is not a leaderboard store: {exc}",
                                   hint="pass --db a new file or an existing harness.sqlite") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction, taken up front (IMMEDIATE) so writers queue, never fail late."""
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def put(self, result: dict[str, Any], path: str | None = None) -> None:
        """Insert or replace one result row (a results JSON document of SPEC §5)."""
        model, task = result["model"], result["task"]
        row = (result["key"], model["id"], model["content_hash"], model.get("kind"),
               task["name"], str(task.get("version")), task.get("family"), task.get("data_hash"),
               result.get("mode"), result.get("seed"), result.get("config_hash"),
               result["status"], result.get("reason"), json.dumps(result, sort_keys=True),
               path, time.time())
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO results VALUES "
                        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            if model.get("info") is not None:
                self._merge_model(cur, model["content_hash"], model["id"], model["info"])

    @staticmethod
    def _merge_model(cur: sqlite3.Cursor, model_hash: str, model_id: str,
                     info: dict[str, Any]) -> None:
        """Merge a model description: known values are never erased by a row that lacks them."""
        old = cur.execute("SELECT info FROM models WHERE model_hash = ?", (model_hash,)).fetchone()
        merged = json.loads(old[0]) if old else {}
        merged.update({k: v for k, v in info.items() if v is not None})
        cur.execute("INSERT OR REPLACE INTO models VALUES (?,?,?,?)",
                    (model_hash, model_id, json.dumps(merged, sort_keys=True), time.time()))

    def results(self, task: str | None = None) -> list[dict[str, Any]]:
        """Every stored result document (optionally of one task), oldest first."""
        sql, args = "SELECT result, path FROM results", ()
        if task is not None:
            sql, args = sql + " WHERE task = ?", (task,)
        out = []
        for blob, path in self._conn.execute(sql + " ORDER BY created, key", args):
            doc = json.loads(blob)
            doc["_path"] = path
            out.append(doc)
        return out

    def models(self) -> dict[str, dict[str, Any]]:
        """Model descriptions (params, tokens, loss curve) by content hash."""
        rows = self._conn.execute("SELECT model_hash, info FROM models")
        return {h: json.loads(info) for h, info in rows}

    def count(self) -> int:
        """Number of result rows."""
        return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def tasks(self) -> list[str]:
        """Task names with at least one row, sorted."""
        return [t for (t,) in self._conn.execute("SELECT DISTINCT task FROM results ORDER BY task")]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | Path, *, create: bool = True) -> Store:
    """Open (or create) the store a URL names; ``create=False`` for read-only views."""
    return Store(parse_url(url), create=create)
