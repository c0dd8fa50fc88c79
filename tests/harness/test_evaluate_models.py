"""The evaluator with real (tiny, random) checkpoints: families, not-applicable rows, seeds,
determinism and batch-size independence, and concurrent `harness eval` processes."""

from __future__ import annotations

import os
import subprocess
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

FAST = {"epochs": 1, "max_len": 48, "max_new_tokens": 8}


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpts")
    return {"gpt": fx.make_checkpoint(root / "gpt-a", "gpt", seed=0),
            "gpt2": fx.make_checkpoint(root / "gpt-b", "gpt", seed=1),
            "bert": fx.make_checkpoint(root / "bert-a", "bert", seed=0)}


def test_gpt_and_bert_on_three_families(ckpts, task_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    results = harness.evaluate([ckpts["gpt"], ckpts["bert"]],
                               ["fixture-topics", "fixture-en-de", "fixture-lm"],
                               seeds=[0, 1], limit=6, out=out, include=[task_dir],
                               n_bootstrap=50, overrides=FAST, baselines=False)
    by = {(r.model_id, r.task, r.seed): r for r in results}
    # fine-tuned tasks run every seed; intrinsic LM scoring is deterministic: one seed
    assert set(by) == {(m, t, s) for m in ("gpt-a", "bert-a")
                       for t, seeds in (("fixture-topics", (0, 1)), ("fixture-en-de", (0, 1)),
                                        ("fixture-lm", (0,)))
                       for s in seeds}
    assert by[("gpt-a", "fixture-en-de", 0)].status == "ok"
    na = by[("bert-a", "fixture-en-de", 0)]
    assert na.status == "not_applicable" and "cannot generate" in na.reason
    lm = by[("bert-a", "fixture-lm", 0)]
    # pseudo-log-likelihood is not a causal model's likelihood: its own columns (issue 11)
    assert lm.status == "ok" and lm.score("pseudo_perplexity") > 1
    assert "perplexity" not in lm.metrics and "bits_per_byte" not in lm.metrics
    # ...but a fine-tuned bert's accuracy is a real accuracy, ranked beside gpt's
    clf = by[("bert-a", "fixture-topics", 0)]
    assert "accuracy" in clf.metrics and not any(m.startswith("pseudo_") for m in clf.metrics)
    assert by[("gpt-a", "fixture-lm", 0)].metrics["perplexity"].unit.startswith(
        "tokens of tokenizer ")
    assert by[("gpt-a", "fixture-lm", 0)].data["mode"] == "lm"
    text = render(out / "harness.sqlite", task="fixture-en-de")
    assert "not applicable: a bert encoder cannot generate text" in text
    topics = render(out / "harness.sqlite", task="fixture-topics")
    assert "0,1" in topics  # mean and spread over the two fine-tuning seeds


def test_same_seed_same_numbers_whatever_the_batch_size(ckpts, task_dir: Path,
                                                         tmp_path: Path) -> None:
    kw = dict(seeds=[2], limit=6, include=[task_dir], n_bootstrap=100, overrides=FAST,
              baselines=False)
    tasks = ["fixture-topics", "fixture-en-de", "fixture-lm"]
    a = harness.evaluate([ckpts["gpt"]], tasks, out=tmp_path / "a", batch_size=1, **kw)
    b = harness.evaluate([ckpts["gpt"]], tasks, out=tmp_path / "b", batch_size=5, **kw)
    assert [r.metrics for r in a] == [r.metrics for r in b]
    for ra, rb in zip(a, b):
        pa = (ra.path.parent / ra.data["predictions"]).read_text()
        pb = (rb.path.parent / rb.data["predictions"]).read_text()
        assert pa == pb


def test_four_concurrent_eval_processes_lose_no_rows(ckpts, task_dir: Path,
                                                     tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    env = {**os.environ, "HARNESS_QUIET": "1"}
    procs = []
    for i, model in enumerate(["gpt", "gpt2", "gpt", "gpt2"]):
        # two processes per model: same rows from two writers must upsert, not duplicate
        task = "fixture-topics" if i < 2 else "fixture-lm"
        cmd = [sys.executable, "-m", "harness", "eval", "--model", str(ckpts[model]),
               "--tasks", task, "--mode", "zeroshot", "--limit", "4", "--include", str(task_dir),
               "--out", str(tmp_path / f"out{i}"), "--db", str(db), "--bootstrap", "20"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    with open_store(db) as store:
        keys = {(r["model"]["id"], r["task"]["name"]) for r in store.results()}
        assert ("gpt-a", "fixture-topics") in keys and ("gpt-b", "fixture-topics") in keys
        assert ("gpt-a", "fixture-lm") in keys and ("gpt-b", "fixture-lm") in keys
        baselines = {k for k in keys if k[0].startswith("baseline-")}
        assert baselines == {("baseline-majority", "fixture-topics"),
                             ("baseline-tfidf-logreg", "fixture-topics"),
                             ("baseline-unigram-bytes", "fixture-lm")}
        assert store.count() == 7
