"""The evaluator's stages on baseline rows over YAML fixture tasks: record, reuse, re-score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import harness
from harness.results import iter_results, read_predictions
from harnesskit.errors import HarnessError
from leaderboards.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fx.registered_tasks(tmp_path, monkeypatch)


def test_baseline_rows_are_recorded_with_the_spec_layout(task_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    results = harness.evaluate([], ["fixture-topics", "fixture-en-de"], out=out,
                               include=[task_dir], n_bootstrap=200)
    names = sorted((r.task, r.model_id) for r in results)
    assert names == [("fixture-en-de", "baseline-copy-source"),
                     ("fixture-topics", "baseline-majority"),
                     ("fixture-topics", "baseline-tfidf-logreg")]
    copy = next(r for r in results if r.model_id == "baseline-copy-source")
    assert copy.path == out / "baseline-copy-source" / "fixture-en-de" / "seed-0.json"
    data = json.loads(copy.path.read_text())
    for key in ("metrics", "task", "model", "config", "timings", "versions", "key"):
        assert key in data
    assert data["task"]["data_hash"] and data["task"]["version"] == "1"
    assert set(data["metrics"]) == {"bleu", "chrf", "ter"}
    bleu = data["metrics"]["bleu"]
    assert "BLEU" in bleu["signature"] or "bleu" in bleu["signature"].lower()
    assert bleu["ci"][0] <= bleu["score"] <= bleu["ci"][1]
    assert data["versions"]["sacrebleu"] != "absent"
    rows = read_predictions(copy.path.parent / "predictions.jsonl")
    assert len(rows) == 12
    assert set(rows[0]) >= {"id", "input", "prediction", "references", "scores"}
    assert set(rows[0]["scores"]) == {"bleu", "chrf", "ter"}
    majority = next(r for r in results if r.model_id == "baseline-majority")
    assert majority.score("accuracy") == pytest.approx(100 / 3)
    with open_store(out / "harness.sqlite") as store:
        assert store.count() == 3


def test_rerun_reuses_and_rescore_never_reruns(task_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results"
    first = harness.evaluate([], "fixture-topics", out=out, include=[task_dir], n_bootstrap=100)
    stamps = {r.path: r.path.stat().st_mtime_ns for r in first}

    import harness.evaluator as ev

    def boom(*a, **k):  # any inference now would be a bug
        raise AssertionError("a finished job was run again")

    monkeypatch.setattr(ev, "infer", boom)
    again = harness.evaluate([], "fixture-topics", out=out, n_bootstrap=100)
    assert [r.data for r in again] == [r.data for r in first]
    assert {r.path: r.path.stat().st_mtime_ns for r in again} == stamps
    # a different number of resamples only re-scores from the saved predictions
    rescored = harness.evaluate([], "fixture-topics", out=out, n_bootstrap=50)
    assert [r.score("accuracy") for r in rescored] == [r.score("accuracy") for r in first]
    assert len(list(iter_results(out))) == 2


def test_interrupted_score_stage_resumes_from_saved_predictions(
        task_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.evaluator as ev

    out = tmp_path / "results"
    real_score = ev.score
    monkeypatch.setattr(ev, "score", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        harness.evaluate([], "fixture-en-de", out=out, include=[task_dir], n_bootstrap=50)
    assert (out / "baseline-copy-source" / "fixture-en-de" / "predictions.jsonl").is_file()
    assert not (out / "baseline-copy-source" / "fixture-en-de" / "seed-0.json").exists()
    monkeypatch.setattr(ev, "score", real_score)
    monkeypatch.setattr(ev, "infer", lambda *a, **k: pytest.fail("predictions were recomputed"))
    (res,) = harness.evaluate([], "fixture-en-de", out=out, n_bootstrap=50)
    assert res.status == "ok" and res.score("bleu") > 0


def test_bad_task_names_are_reported_together(task_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="unknown task 'nope-one'.*unknown task 'nope-two'"):
        harness.evaluate([], "nope-one,nope-two", out=tmp_path / "r", include=[task_dir])


def test_a_failing_metric_keeps_the_others_and_is_rescored_later(
        task_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import importlib

    import harness.metrics as hm
    from leaderboards.views import render

    ev = importlib.import_module("harness.evaluator")
    real = hm.load_metric

    def flaky(name, **opts):
        if name == "chrf":
            raise RuntimeError("chrf exploded")
        return real(name, **opts)

    out = tmp_path / "results"
    monkeypatch.setattr(hm, "load_metric", flaky)
    (res,) = harness.evaluate([], "fixture-en-de", out=out, include=[task_dir], n_bootstrap=20)
    assert res.metrics["chrf"].error == "RuntimeError: chrf exploded"
    assert res.metrics["bleu"].score > 0 and res.metrics["ter"].score >= 0
    assert "chrf failed on fixture-en-de" in capsys.readouterr().err
    board = render(out / "harness.sqlite", signatures=True)
    assert "error (see --signatures)" in board and "chrf exploded" in board
    monkeypatch.setattr(hm, "load_metric", real)
    monkeypatch.setattr(ev, "infer", lambda *a, **k: pytest.fail("the model was re-run"))
    (again,) = harness.evaluate([], "fixture-en-de", out=out, n_bootstrap=20)
    assert again.metrics["chrf"].score > 0 and again.metrics["chrf"].error is None
