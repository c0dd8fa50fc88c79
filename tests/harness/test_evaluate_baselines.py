"""The evaluator's stages on baseline rows over YAML fixture tasks: record, reuse, re-score."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import harness
from harness.results import iter_results, read_predictions
from leaderboards.store import open_store
from pretrain.errors import HarnessError

TOPICS = {"sport": ["match", "goal", "team", "league", "coach"],
          "tech": ["software", "chip", "phone", "internet", "data"],
          "food": ["recipe", "bread", "cheese", "dinner", "oven"]}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_tasks(folder: Path, n_test: int = 12) -> Path:
    """Two tiny YAML tasks (classification and translation) with JSONL data."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    def doc(label: str) -> str:
        return " ".join(rng.choice(TOPICS[label] + ["the", "a", "new", "today"]) for _ in range(12))
    for split, n in (("train", 30), ("validation", 6), ("test", n_test)):
        labels = [list(TOPICS)[i % 3] for i in range(n)]
        _write_jsonl(folder / f"cls-{split}.jsonl",
                     [{"id": f"{split}{i}", "text": doc(lab), "topic": lab}
                      for i, lab in enumerate(labels)])
        _write_jsonl(folder / f"mt-{split}.jsonl",
                     [{"id": f"{split}{i}", "en": f"the house number {i} is small .",
                       "de": f"das haus nummer {i} ist klein ."} for i in range(n)])
    (folder / "cls.yaml").write_text(
        "name: fixture-topics\nfamily: classification\nversion: 1\n"
        "source: {jsonl: {train: cls-train.jsonl, validation: cls-validation.jsonl, "
        "test: cls-test.jsonl}}\nfields: {id: id, input: text, label: topic}\n"
        "metrics: [accuracy, macro_f1]\n")
    (folder / "mt.yaml").write_text(
        "name: fixture-en-de\nfamily: translation\nversion: 1\n"
        "source: {jsonl: {train: mt-train.jsonl, validation: mt-validation.jsonl, "
        "test: mt-test.jsonl}}\nfields: {id: id, input: en, target: de}\n"
        "metrics: [bleu, chrf, ter]\n")
    return folder


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The fixture tasks registered in a fresh registry, data cached under tmp_path."""
    from tasks import registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "data-home"))
    registry.reset()
    yield write_tasks(tmp_path / "yaml-tasks")
    registry.reset()


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

    import harness.evaluate as ev

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
    import harness.evaluate as ev

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
