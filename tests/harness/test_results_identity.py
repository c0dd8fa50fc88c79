"""Issue 11, "Results lost": model identity by content and every setting in a result's key.

Before: a model's id was its folder name, so two runs both called ``gpt-tiny`` (or two
``checkpoints/step-0000400`` of different runs) overwrote each other's
``OUT/<model>/<task>/seed-<k>.json``, showed as indistinguishable rows and were redone on
every rerun; a rerun with another ``--limit`` overwrote the earlier result file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import harness
from leaderboards.store import open_store
from leaderboards.views import render

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fx.registered_tasks(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two different runs with the same name, each with checkpoints/step-0000400."""
    root = tmp_path_factory.mktemp("twins")
    runs = []
    for who, seed in (("alice", 0), ("bob", 1)):
        run = root / who / "gpt-tiny"
        fx.make_checkpoint(run / "checkpoints" / "step-0000400", "gpt", seed=seed)
        (run / "latest").write_text("checkpoints/step-0000400")
        runs.append(run)
    return runs


def _eval(models: list, out: Path, task_dir: Path, **kw):
    return harness.evaluate(models, "fixture-lm", out=out, include=[task_dir], n_bootstrap=20,
                            baselines=False, **kw)


def test_two_runs_with_one_name_never_share_a_file_or_row(twins, task_dir, tmp_path) -> None:
    out = tmp_path / "results"
    a = _eval([twins[0]], out, task_dir)[0]
    b = _eval([twins[1]], out, task_dir)[0]   # another run, same name, same --out
    assert a.path != b.path and a.path.is_file() and b.path.is_file()
    assert a.model_id == "gpt-tiny" and b.model_id.startswith("gpt-tiny-")
    assert json.loads(a.path.read_text())["model"]["content_hash"] == a.doc.model.content_hash
    with open_store(out / "harness.sqlite", create=False) as store:
        assert store.count() == 2
    rows = json.loads(render(out / "harness.sqlite", fmt="json"))["tasks"]["fixture-lm"]["rows"]
    assert sorted(r["model_id"] for r in rows) == sorted([a.model_id, b.model_id])
    # a rerun of each finds its own results: nothing is redone, nothing overwritten
    again = _eval([twins[1], twins[0]], out, task_dir)
    assert {r.path for r in again} == {a.path, b.path}
    assert {r.doc.created for r in again} == {a.doc.created, b.doc.created}


def test_two_step_checkpoints_of_different_runs_keep_apart(twins, task_dir, tmp_path) -> None:
    steps = [run / "checkpoints" / "step-0000400" for run in twins]
    out = tmp_path / "results"
    res = _eval(steps, out, task_dir)
    assert len({r.path for r in res}) == 2 and len({r.model_id for r in res}) == 2
    assert all(r.model_id.startswith("gpt-tiny-step-0000400-") for r in res)


def test_another_limit_is_another_result(twins, task_dir, tmp_path) -> None:
    out = tmp_path / "results"
    full = _eval([twins[0]], out, task_dir)[0]
    part = _eval([twins[0]], out, task_dir, limit=3)[0]
    assert full.path != part.path and full.path.is_file()
    assert part.path.parent.name == "fixture-lm@limit-3"
    assert full.data["n_examples"] > part.data["n_examples"] == 3
    assert part.data["setting"] == {"limit": 3} and full.data["setting"] == {}
    with open_store(out / "harness.sqlite", create=False) as store:
        settings = sorted(r["setting"] for r in store.rows()[0])
    assert settings == ["", "limit=3"]
    board = json.loads(render(out / "harness.sqlite", fmt="json"))["tasks"]["fixture-lm"]
    assert len(board["rows"]) == 2 and len({r["group"] for r in board["rows"]}) == 2
