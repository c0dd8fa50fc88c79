"""The SQLite store: URLs, upserts, read-back, and concurrent writer processes."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from harnesskit.errors import HarnessError
from leaderboards.store import open_store, parse_url


def _doc(model: str, task: str, seed: int, score: float = 50.0) -> dict:
    return {"key": f"{model}/{task}/{seed}", "status": "ok", "mode": "finetune", "seed": seed,
            "config_hash": "c0", "metrics": {"accuracy": {"score": score, "ci": [40, 60]}},
            "model": {"id": model, "content_hash": "h-" + model, "kind": "gpt",
                      "info": {"params": 10, "tokens": 20}},
            "task": {"name": task, "version": "1", "family": "classification", "data_hash": "d"}}


def test_url_forms(tmp_path: Path) -> None:
    assert parse_url("sqlite:////tmp/x.sqlite") == Path("/tmp/x.sqlite")
    assert parse_url("sqlite:///tmp/x.sqlite") == Path("tmp/x.sqlite")
    assert parse_url("sqlite:rel/x.sqlite") == Path("rel/x.sqlite")
    assert parse_url(tmp_path / "a.sqlite") == tmp_path / "a.sqlite"
    with pytest.raises(HarnessError, match="unsupported store URL scheme 'postgres'"):
        parse_url("postgres://host/db")


def test_put_read_upsert_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "s" / "harness.sqlite"
    with open_store(f"sqlite:///{db}") as store:
        store.put(_doc("a", "t1", 0, 10.0))
        store.put(_doc("a", "t1", 1))
        store.put(_doc("b", "t2", 0))
        store.put(_doc("a", "t1", 0, 90.0))  # same key: replaced, not duplicated
        assert store.count() == 3
        assert store.tasks() == ["t1", "t2"]
        rows = store.results("t1")
        assert sorted(r["seed"] for r in rows) == [0, 1]
        assert {r["metrics"]["accuracy"]["score"] for r in rows} == {90.0, 50.0}
        assert store.models()["h-a"] == {"params": 10, "tokens": 20}
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_copying_an_older_backup_keeps_the_newer_rows(tmp_path: Path) -> None:
    from leaderboards.store import copy_store

    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    with open_store(old) as store:
        store.put(_doc("a", "t1", 0, 10.0))
    copy_store(old, new)
    with open_store(new) as store:
        store.put(_doc("a", "t1", 0, 90.0))  # re-scored after the backup: same key, newer
        store.put(_doc("b", "t1", 0, 20.0))
    assert copy_store(old, new) == 1
    with open_store(new) as store:
        assert {r["model"]["id"]: r["metrics"]["accuracy"]["score"]
                for r in store.results("t1")} == {"a": 90.0, "b": 20.0}


def test_missing_store_and_non_store_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no leaderboard store"):
        open_store(tmp_path / "nope.sqlite", create=False)
    bad = tmp_path / "bad.sqlite"
    bad.write_text("this is not a database, just text " * 100)
    with pytest.raises(HarnessError, match="not a leaderboard store"):
        open_store(bad)


def _writer(db: str, worker: int, n: int, start: mp.synchronize.Barrier) -> None:
    start.wait()
    with open_store(db) as store:
        for i in range(n):
            store.put(_doc(f"model{worker}", f"task{i % 5}", i))


def test_four_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.sqlite")  # created by the racing writers themselves
    ctx = mp.get_context("fork")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(db, w, 60, start)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open_store(db) as store:
        assert store.count() == 240
        assert {r["model"]["id"] for r in store.results()} == {f"model{w}" for w in range(4)}
