"""Paired bootstrap comparisons on per-example scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harnesskit.errors import HarnessError
from leaderboards.compare import paired_bootstrap
from leaderboards.views import compare


def test_paired_bootstrap_clear_difference_and_no_difference() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, 200)
    delta, ci, p = paired_bootstrap(base + 5 + rng.normal(0, 1, 200), base, n_boot=2000)
    assert delta == pytest.approx(5.0, abs=0.3)
    assert ci[0] > 4 and ci[1] < 6 and p < 0.001
    delta, ci, p = paired_bootstrap(base + rng.normal(0, 1, 200), base, n_boot=2000)
    assert ci[0] < 0 < ci[1] and p > 0.05
    # identical systems: no difference at all
    delta, ci, p = paired_bootstrap(base, base, n_boot=500)
    assert delta == 0 and ci == (0.0, 0.0) and p == 1.0


def test_paired_bootstrap_is_seeded() -> None:
    a, b = np.arange(30.0), np.arange(30.0)[::-1]
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)


def test_compare_models_in_store(filled_store: Path) -> None:
    out = compare(filled_store, "gpt-tiny", "bert-tiny", n_boot=2000)
    by = {(c.task, c.metric): c for c in out}
    assert set(by) == {("news", "accuracy"), ("news", "macro_f1")}  # dialogue: bert n/a
    acc = by[("news", "accuracy")]
    assert acc.n == 50 and acc.delta == pytest.approx(30.0)
    assert acc.p_value < 0.01
    assert acc.verdict.startswith("gpt-tiny is better than bert-tiny on accuracy (higher is "
                                  "better): gpt-tiny - bert-tiny = +30")
    # against a baseline (seed-free), and the other way round
    rev = compare(filled_store, "majority", "gpt-tiny", task="news", n_boot=1000)
    assert rev[0].delta == pytest.approx(-60.0) and "gpt-tiny is better" in rev[0].verdict


def test_compare_unknown_model(filled_store: Path) -> None:
    with pytest.raises(HarnessError, match="no scored results for model 'gpt-huge'.*gpt-tiny"):
        compare(filled_store, "gpt-huge", "bert-tiny")
