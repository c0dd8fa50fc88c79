"""Bootstrap CIs and the paired bootstrap test."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import load_metric
from harness.metrics.bootstrap import paired_bootstrap
from harnesskit.errors import HarnessError

GOLD = ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a"] * 3
GOOD = ["a", "b", "c", "a", "b", "c", "a", "b", "a", "a"] * 3
BAD = ["a", "a", "a", "b", "b", "a", "c", "a", "a", "c"] * 3


def _refs(labels: list[str]) -> list[list[str]]:
    return [[x] for x in labels]


def test_ci_of_a_mean_metric_is_the_percentile_of_resampled_means() -> None:
    m = load_metric("exact_match")
    lo, hi = m.compute(GOOD, _refs(GOLD), n_bootstrap=500, seed=7).ci
    x = np.array(m.per_example(GOOD, _refs(GOLD)))
    rng = np.random.default_rng(7)
    means = [x[idx].mean() for idx in rng.choice(x.size, size=(500, x.size))]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))


def test_ci_seeded_and_contains_score() -> None:
    m = load_metric("macro_f1")
    a = m.compute(BAD, _refs(GOLD), seed=1)
    assert a.ci == m.compute(BAD, _refs(GOLD), seed=1).ci
    assert a.ci != m.compute(BAD, _refs(GOLD), seed=2).ci
    assert a.ci[0] <= a.score <= a.ci[1]


def test_paired_bootstrap_detects_the_better_system() -> None:
    m = load_metric("macro_f1")
    res = paired_bootstrap(m, GOOD, BAD, _refs(GOLD), n=500, seed=0)
    expected = (m.compute(GOOD, _refs(GOLD), ci=False).score
                - m.compute(BAD, _refs(GOLD), ci=False).score)
    assert res["delta"] == pytest.approx(expected)
    assert res["ci"][0] > 0 and res["p_value"] < 0.01
    same = paired_bootstrap(m, GOOD, GOOD, _refs(GOLD), n=200)
    assert same["delta"] == 0.0 and same["p_value"] == 1.0


def test_paired_bootstrap_needs_same_length() -> None:
    with pytest.raises(HarnessError, match="same examples"):
        paired_bootstrap(load_metric("accuracy"), ["a"], ["a", "b"], [["a"]])
