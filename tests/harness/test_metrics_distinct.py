"""distinct-1/2 (Li et al. 2016): distinct n-grams over all n-grams of all responses."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import load_metric

RESPONSES = ["a b a b", "a c", "I don't know", "I don't know"]


def _brute(responses: list[str], n: int) -> float:
    """Li et al.'s ratio, each empty response counted as one n-gram that is never distinct."""
    grams = [tuple(t[i : i + n]) for r in responses for t in [r.split()]
             for i in range(len(t) - n + 1)]
    empty = sum(not r.split() for r in responses)
    return 100.0 * len(set(grams)) / max(len(grams) + empty, 1)


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


PARAGRAPH = (
    "Harness trains small language models on a laptop and scores what they write against "
    "references. The model reads a prompt, predicts one token at a time, and stops at the "
    "end of the sentence or when the budget runs out. Short answers are common: many "
    "replies repeat the question, apologise, or say nothing useful at all. A diverse model "
    "uses new words for new questions, names the people and places it was asked about, and "
    "does not fall back on the same polite formula for every prompt it is given today."
).split()


def _chat_like(n: int, seed: int) -> list[str]:
    """Short replies cut from a paragraph, a third of them canned (as small chat models do)."""
    rng = np.random.default_rng(seed)
    canned = ["I don't know.", "I am not sure.", "Yes."]
    out = []
    for _ in range(n):
        start, length = rng.integers(0, len(PARAGRAPH) - 12), rng.integers(3, 12)
        out.append(canned[rng.integers(3)] if rng.random() < 0.33
                   else " ".join(PARAGRAPH[start : start + length]))
    return out


def test_ci_is_a_jackknife_interval_around_the_score() -> None:
    # A percentile bootstrap misses the score here: repeats in a resample lower distinct-n.
    responses = _chat_like(60, seed=1)
    for name, n in (("distinct_1", 1), ("distinct_2", 2)):
        m = load_metric(name)
        s = m.compute(responses)
        assert s.ci[0] < s.score < s.ci[1]
        assert "|ci:jackknife|" in s.signature
        loo = np.array([_brute(responses[:i] + responses[i + 1 :], n) for i in range(60)])
        se = np.sqrt(59 / 60 * np.sum((loo - loo.mean()) ** 2))
        assert s.ci == pytest.approx((s.score - 1.959964 * se, s.score + 1.959964 * se))
        # Why not the bootstrap: its resamples (with repeats) score lower on average.
        from harnesskit.resample import bootstrap_scores

        stats = m.stats(responses)
        resampled = bootstrap_scores(lambda i, m=m, st=stats: m._score_from_stats(st[i]),
                                     len(stats), 300, 0)
        assert resampled.mean() < s.score - 1.0


def test_all_empty_scores_zero_with_a_note() -> None:
    for name in ("distinct_1", "distinct_2"):
        s = load_metric(name).compute(["", "  ", ""])
        assert s.score == 0.0 and s.ci == (0.0, 0.0)
        assert "scored 0" in s.details["note"]
    s = load_metric("distinct_2").compute(["one", "two words", ""])
    assert s.score == 50.0 and "note" not in s.details  # the empty reply counts, "one" has no bigram
    assert s.details["empty_share"] == pytest.approx(100 / 3)


def test_empty_outputs_count_as_such() -> None:
    """Issue 11: 19 empty replies and ",," scored distinct-1 = 100 and beat the retrieval
    baseline; an empty reply is now a (never distinct) response."""
    replies = [""] * 19 + [",,"]
    d1 = load_metric("distinct_1").compute(replies)
    assert d1.score == pytest.approx(5.0) and d1.details["empty_share"] == pytest.approx(95.0)
    assert "|empty:counted|" in d1.signature
    assert load_metric("distinct_2").compute(replies).score == 0.0
    assert d1.score == pytest.approx(_brute(replies, 1))


def test_paired_jackknife_no_difference_and_a_real_one() -> None:
    from harness.metrics.bootstrap import paired_bootstrap

    a = _chat_like(60, seed=2)
    b = [x if i % 2 else a[1] for i, x in enumerate(a)]  # half the replies one repeat
    m = load_metric("distinct_1")
    res = paired_bootstrap(m, a, b, None)
    assert res["method"] == "jackknife" and res["ci"][0] < res["delta"] < res["ci"][1]
    assert res["delta"] > 0 and res["p_value"] < 0.05
    same = paired_bootstrap(m, a, a, None)
    assert same["delta"] == 0 and same["p_value"] == 1.0
