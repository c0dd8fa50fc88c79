"""distinct-1/2 (Li et al. 2016): distinct n-grams over all n-grams of all responses."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import load_metric

RESPONSES = ["a b a b", "a c", "I don't know", "I don't know"]


def _brute(responses: list[str], n: int) -> float:
    grams = [tuple(t[i : i + n]) for r in responses for t in [r.split()]
             for i in range(len(t) - n + 1)]
    return 100.0 * len(set(grams)) / len(grams)


def test_hand_computed_values() -> None:
    # unigrams: a b a b a c I don't know I don't know -> 12 total, 6 distinct
    d1 = load_metric("distinct_1").compute(RESPONSES, ci=False)
    assert d1.score == pytest.approx(50.0)
    assert d1.details["n_distinct"] == 6 and d1.details["n_ngrams"] == 12
    # bigrams: ab ba ab | ac | I-don't don't-know | I-don't don't-know -> 8 total, 5 distinct
    d2 = load_metric("distinct_2").compute(RESPONSES, ci=False)
    assert d2.score == pytest.approx(62.5)
    assert d2.details["per_token"] == pytest.approx(100 * 5 / 12)
    assert "pool:corpus" in d2.signature


def test_references_are_ignored_and_lowercase_option() -> None:
    m = load_metric("distinct_1", lowercase=True)
    assert m.compute(["A a", "a"], [["x"], ["y"]], ci=False).score == pytest.approx(100 / 3)
    assert m.compute(["A a", "a"], [[], []], ci=False).score == pytest.approx(100 / 3)


def test_bootstrap_resample_equals_recount() -> None:
    rng = np.random.default_rng(3)
    words = "the cat dog sat ran on a mat log".split()
    responses = [" ".join(rng.choice(words, rng.integers(1, 8))) for _ in range(40)]
    for name, n in (("distinct_1", 1), ("distinct_2", 2)):
        m = load_metric(name)
        stats = m.stats(responses)
        for _ in range(20):
            idx = rng.integers(0, len(responses), len(responses))
            assert m._score_from_stats(stats[idx]) == pytest.approx(
                _brute([responses[i] for i in idx], n), abs=1e-9)


def test_paired_bootstrap_keeps_each_system_with_its_own_ngrams() -> None:
    from harness.metrics.bootstrap import paired_bootstrap

    varied = ["the cat sat", "a dog ran far", "birds fly high", "fish swim deep"] * 5
    dull = ["I don't know"] * 20
    m = load_metric("distinct_2")
    res = paired_bootstrap(m, varied, dull, None, n=200)
    assert res["delta"] == pytest.approx(_brute(varied, 2) - _brute(dull, 2))
    assert res["ci"][0] > 0
