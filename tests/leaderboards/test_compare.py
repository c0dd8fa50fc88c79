"""Paired bootstrap comparisons on per-example scores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from harnesskit.errors import HarnessError
from leaderboards.views import compare, render

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_result  # noqa: E402

SRC = ["The cat sat on the mat today.", "A quick brown fox jumps over the dog.",
       "We will meet at noon near the old station.", "Prices rose sharply in the last quarter.",
       "She plays the violin every evening.", "The river floods every spring after the rain.",
       "He forgot his keys at the office again.", "Our team won the final match yesterday."]
HYP_A = ["The cat sat on the mat.", "A quick brown fox jumps over a dog.",
         "We meet at noon near the old station.", "Prices rose sharply last quarter.",
         "She plays violin every evening.", "The river floods each spring after rain.",
         "He forgot the keys at the office again.", "Our team won the final yesterday."]
HYP_B = ["Cat on mat.", "The fox jumps.", "Meet at noon at the station.", "Prices rose.",
         "She plays the violin.", "A river floods in spring.", "He forgot keys.",
         "The team won a match."]


def test_paired_bootstrap_equals_sacrebleus_paired_bs(monkeypatch: pytest.MonkeyPatch) -> None:
    """What compare runs (the metric's recipe and per-example stats, as stored, through JSON)
    gives sacrebleu's own --paired-bs p-value and bootstrap mean for BLEU."""
    import json

    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    from harness.metrics import load_metric
    from harnesskit.resample import paired_bootstrap, score_from_stats

    refs = [[r] for r in SRC] * 4
    hyp_a, hyp_b = HYP_A * 4, HYP_B * 4
    m = load_metric("bleu")
    recipe = json.loads(json.dumps(m.recipe()))
    sa = np.array(json.loads(json.dumps(m.stats(hyp_a, refs).tolist())))
    sb = np.array(json.loads(json.dumps(m.stats(hyp_b, refs).tolist())))
    n, seed = 300, 12345
    ours = paired_bootstrap(lambda i: score_from_stats(recipe, sa[i]),
                            lambda i: score_from_stats(recipe, sb[i]), len(sa), n=n, seed=seed)
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))
    test = PairedTest([("b", hyp_b), ("a", hyp_a)], {"BLEU": BLEU()}, [SRC * 4],
                      test_type="bs", n_samples=n)
    _, res = test()
    theirs = res["BLEU"][1]
    assert ours["p_value"] == pytest.approx(theirs.p_value, abs=1e-12)
    assert ours["mean_a"] == pytest.approx(theirs.score, abs=1e-9)
    assert ours["mean_b"] == pytest.approx(res["BLEU"][0].score, abs=1e-9)
    resampled = np.array([score_from_stats(recipe, sa[i])
                          for i in np.random.default_rng(seed).choice(len(sa), (n, len(sa)))])
    assert resampled.mean() == pytest.approx(theirs.mean, abs=1e-3)  # sacrebleu sums float32


def test_compare_models_in_store(filled_store: Path) -> None:
    out = compare(filled_store, "gpt-tiny", "bert-tiny", n_boot=2000)
    by = {(c.task, c.metric): c for c in out}
    assert set(by) == {("news", "accuracy"), ("news", "macro_f1")}  # dialogue: bert n/a
    acc = by[("news", "accuracy")]
    assert acc.n == 50 and acc.delta == pytest.approx(30.0)
    # macro F1 is recomputed from the labels: the leaderboard's number, not a mean of per-example
    # values (issue 11: "macro_f1: 18 vs 18" while the board said 6.10)
    f1 = by[("news", "macro_f1")]
    board = json.loads(render(filled_store, fmt="json"))["tasks"]["news"]["rows"]
    shown = {r["model_id"]: r["metrics"]["macro_f1"]["mean"] for r in board}
    assert f1.mean_a == pytest.approx(shown["gpt-tiny"], abs=1e-9)
    assert f1.mean_b == pytest.approx(shown["bert-tiny"], abs=1e-9)
    per_example_mean = 100.0 * 25 / 50  # what averaging bert's per-example F1 would have said
    assert abs(f1.mean_b - per_example_mean) > 5
    assert acc.p_value < 0.01
    assert acc.verdict.startswith("gpt-tiny is better than bert-tiny on accuracy (higher is "
                                  "better): gpt-tiny - bert-tiny = +30")
    # against a baseline (seed-free), and the other way round
    rev = compare(filled_store, "majority", "gpt-tiny", task="news", n_boot=1000)
    assert rev[0].delta == pytest.approx(-60.0) and "gpt-tiny is better" in rev[0].verdict


def test_compare_unknown_model(filled_store: Path) -> None:
    with pytest.raises(HarnessError, match="no scored results for model 'gpt-huge'.*gpt-tiny"):
        compare(filled_store, "gpt-huge", "bert-tiny")


def test_compare_refuses_a_name_that_two_models_share(filled_store: Path, tmp_path: Path) -> None:
    """Issue 11: two runs both called gpt-tiny; compare silently picked one."""
    from leaderboards.store import open_store

    doc = make_result(tmp_path / "other", "gpt-tiny", "news", model_hash="f" * 16,
                      scores={"accuracy": [100.0 * (i % 10 < 3) for i in range(50)]})
    with open_store(filled_store) as store:
        store.put({k: v for k, v in doc.items() if k != "_path"}, path=doc["_path"])
    with pytest.raises(HarnessError, match=r"'gpt-tiny' names 2 different models: .*\[ffffffff\]"):
        compare(filled_store, "gpt-tiny", "bert-tiny")
    (acc,) = compare(filled_store, "ffffffff", "bert-tiny", n_boot=200)
    assert acc.mean_a == pytest.approx(30.0)
    rows = json.loads(render(filled_store, fmt="json"))["tasks"]["news"]["rows"]
    labels = sorted(r["label"] for r in rows if r["model_id"] == "gpt-tiny")
    assert len(labels) == 2 and labels[1] == "gpt-tiny [ffffffff]"


def test_compare_refuses_results_on_other_task_data(tmp_path: Path) -> None:
    """Same task name and limit, but scored on another version of its data: not comparable."""
    from leaderboards.store import open_store

    db = tmp_path / "r" / "harness.sqlite"
    docs = [make_result(tmp_path / "r", name, "news",
                        scores={"accuracy": [100.0 * (i % 10 < k) for i in range(50)]})
            for name, k in (("a", 8), ("b", 3))]
    docs[1]["task"] = {**docs[1]["task"], "data_hash": "other-data"}
    with open_store(db) as store:
        for d in docs:
            store.put({k: v for k, v in d.items() if k != "_path"}, path=d["_path"])
    with pytest.raises(HarnessError, match="share no task scored on the same test examples"):
        compare(db, "a", "b")
