"""The store on PostgreSQL beside SQLite: one Alembic schema, concurrent writers, copying.

PostgreSQL runs as a throwaway cluster started by the session fixture ``pg_server``
(tests/conftest.py); these tests skip only when its server binaries are absent.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harnesskit.errors import HarnessError
from leaderboards import schema
from leaderboards.store import copy_store, open_store
from leaderboards.views import render

HARNESS = [sys.executable, "-m", "harness"]


def _doc(model: str, task: str, seed: int, score: float = 50.0, info: dict | None = None) -> dict:
    return {"key": f"{model}/{task}/{seed}", "status": "ok", "mode": "finetune", "seed": seed,
            "config_hash": "c0", "metrics": {"accuracy": {"score": score, "ci": [40, 60]}},
            "model": {"id": model, "content_hash": "h-" + model, "kind": "gpt",
                      "info": info if info is not None else {"params": 10, "tokens": 20}},
            "task": {"name": task, "version": "1", "family": "classification", "data_hash": "d"}}


def test_shipped_migrations_end_at_the_head_the_store_checks() -> None:
    assert schema.script_head() == schema.HEAD
    assert (schema.MIGRATIONS / "env.py").is_file()


def test_a_store_from_before_alembic_is_adopted_with_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(  # the schema the store had before it moved to Alembic
        "CREATE TABLE results (key TEXT PRIMARY KEY, model_id TEXT NOT NULL, model_hash TEXT "
        "NOT NULL, model_kind TEXT, task TEXT NOT NULL, task_version TEXT, family TEXT, "
        "data_hash TEXT, mode TEXT, seed INTEGER, config_hash TEXT, status TEXT NOT NULL, "
        "reason TEXT, result TEXT NOT NULL, path TEXT, created REAL NOT NULL);"
        "CREATE TABLE models (model_hash TEXT PRIMARY KEY, model_id TEXT NOT NULL, "
        "info TEXT NOT NULL, created REAL NOT NULL);"
        "INSERT INTO results VALUES ('k', 'm', 'h', 'gpt', 't', '1', 'classification', 'd', "
        "'finetune', 0, 'c', 'ok', NULL, '{\"key\": \"k\"}', NULL, 1.0);")
    conn.commit()
    conn.close()
    with open_store(db, create=False) as store:  # a reader does not migrate
        assert store.count() == 1
    with open_store(db) as store:
        assert store.count() == 1 and store.results()[0]["key"] == "k"
    assert sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchone() == (
        schema.HEAD,)


def test_postgres_upserts_merges_and_reads_back(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert store.dialect == "postgresql"
        store.check_writable()
        store.put(_doc("a", "t1", 0, 10.0, info={"params": 10, "tokens": None}))
        store.put(_doc("a", "t1", 1, info={"tokens": 20}))
        store.put(_doc("b", "t2", 0))
        store.put(_doc("a", "t1", 0, 90.0))  # same key: replaced, not duplicated
        assert store.count() == 3
        assert store.tasks() == ["t1", "t2"]
        assert {r["metrics"]["accuracy"]["score"] for r in store.results("t1")} == {90.0, 50.0}
        assert store.models()["h-a"] == {"params": 10, "tokens": 20}


def test_a_user_without_write_rights_fails_the_preflight(pg_url: str) -> None:
    import psycopg

    open_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS reader")
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    reader = pg_url.replace("harness@", "reader@")
    with open_store(reader, create=False) as store:
        assert store.count() == 0
        with pytest.raises(HarnessError, match="read-only for this user"):
            store.check_writable()


def test_an_unreachable_server_is_one_line(pg_server: str) -> None:
    port = int(pg_server.rsplit(":", 1)[1])
    with pytest.raises(HarnessError, match="cannot open leaderboard store"):
        open_store(f"postgresql://harness@127.0.0.1:{port + 1 if port < 65535 else 1}/x")


def _writer(url: str, worker: int, n: int, start) -> None:  # type: ignore[no-untyped-def]
    start.wait()
    with open_store(url) as store:  # the racing writers create and migrate the store
        for i in range(n):
            store.put(_doc(f"model{worker}", f"task{i % 5}", i, info={f"w{worker}": i}))
            store.put(_doc("shared", "task0", i, score=float(worker)))  # every writer, same keys


def test_eight_processes_write_one_postgres_store_and_lose_nothing(pg_url: str) -> None:
    ctx = mp.get_context("fork")
    start = ctx.Barrier(8)
    procs = [ctx.Process(target=_writer, args=(pg_url, w, 25, start)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    with open_store(pg_url) as store:
        rows = store.results()
        keys = [r["key"] for r in rows]
        assert len(keys) == len(set(keys)) == 8 * 25 + 25
        assert {r["model"]["id"] for r in rows} == {f"model{w}" for w in range(8)} | {"shared"}
        assert store.models()["h-shared"] == {"params": 10, "tokens": 20}
        for w in range(8):
            assert store.models()[f"h-model{w}"] == {f"w{w}": 24}


def _unstamped(page: str) -> str:
    """The page without its generation time (three renders may straddle a minute)."""
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "generated <time>", page)


def _show(db: str, *args: str) -> str:
    proc = subprocess.run([*HARNESS, "leaderboard", "show", "--db", db, *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_copy_sqlite_to_postgres_and_back_shows_the_same_leaderboard(
        filled_store: Path, pg_url: str, tmp_path: Path) -> None:
    proc = subprocess.run([*HARNESS, "leaderboard", "copy", "--from", str(filled_store),
                           "--to", pg_url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "copied 6 result rows" in proc.stdout, proc.stderr
    assert copy_store(filled_store, pg_url) == 6  # a second copy doubles nothing
    back = tmp_path / "back.sqlite"
    copy_store(pg_url, back)
    with open_store(filled_store) as a, open_store(pg_url) as b, open_store(back) as c:
        assert a.count() == b.count() == c.count() == 6
        assert a.rows() == b.rows() == c.rows()
    assert _show(str(filled_store), "--signatures") == _show(pg_url, "--signatures")
    for fmt in ("terminal", "json", "csv", "html"):
        text, pg, back_text = (_unstamped(render(db, fmt=fmt, signatures=True))
                               for db in (filled_store, pg_url, back))
        assert text == pg == back_text
        assert "gpt-tiny" in text
