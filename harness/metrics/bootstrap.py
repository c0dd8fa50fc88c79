"""Bootstrap confidence intervals and the paired bootstrap test.

Resampling is over examples, with replacement, seeded (numpy's PCG64), and the
corpus metric is recomputed on every resample from the per-example sufficient
statistics (so BLEU's brevity penalty and F1's class balance are resampled
too, as in sacrebleu's ``--confidence`` and Koehn 2004). Scores on a resample
are those of :meth:`Metric._score_from_stats`, identical to ``compute`` on the
resampled corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.metrics.base import Metric, percentile_interval
from pretrain.errors import HarnessError


def _indices(rng: np.random.Generator, n_examples: int) -> np.ndarray:
    return rng.integers(0, n_examples, size=n_examples)


def _check_n(n: int) -> None:
    if n < 1:
        raise HarnessError(f"bootstrap needs at least 1 resample, got n={n}")


def resample_scores(metric: Metric, stats: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Corpus scores of ``n`` bootstrap resamples of the rows of ``stats``."""
    _check_n(n)
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.float64)
    for b in range(n):
        out[b] = metric._score_from_stats(stats[_indices(rng, len(stats))])
    return out


def bootstrap_ci(
    metric: Metric,
    preds: Sequence[Any],
    refs: Sequence[Sequence[str]] | None,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """The percentile bootstrap interval (95% by default) of ``metric`` on a corpus."""
    stats = metric.stats(preds, refs)
    return percentile_interval(resample_scores(metric, stats, n, seed), level)


def paired_bootstrap(
    metric: Metric,
    preds_a: Sequence[Any],
    preds_b: Sequence[Any],
    refs: Sequence[Sequence[str]] | None,
    n: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired bootstrap test of system A against B on the same examples.

    Both systems are resampled with the same indices. ``delta`` is
    score(A) - score(B) on the full corpus; ``ci`` the 95% percentile interval
    of the resampled deltas; ``p_value`` the two-sided probability, under the
    null hypothesis of no difference (resampled deltas shifted to mean zero,
    as sacrebleu's paired bootstrap does), of a delta at least as large as
    the observed one, with the usual +1 correction.
    """
    _check_n(n)
    if len(preds_a) != len(preds_b):
        raise HarnessError(f"paired bootstrap: system A has {len(preds_a)} predictions, "
                           f"system B {len(preds_b)}", hint="score both on the same examples")
    stats_a = metric.stats(preds_a, refs)
    stats_b = metric.stats(preds_b, refs)
    delta = metric._score_from_stats(stats_a) - metric._score_from_stats(stats_b)
    rng = np.random.default_rng(seed)
    deltas = np.empty(n, dtype=np.float64)
    for b in range(n):
        idx = _indices(rng, len(stats_a))
        deltas[b] = metric._score_from_stats(stats_a[idx]) - metric._score_from_stats(stats_b[idx])
    return paired_result(float(delta), deltas, metric.name)


def paired_result(delta: float, deltas: np.ndarray, name: str = "") -> dict[str, Any]:
    """delta, 95% CI and two-sided p-value from resampled deltas."""
    finite = deltas[np.isfinite(deltas)]
    centered = finite - finite.mean() if finite.size else finite
    extreme = int(np.sum(np.abs(centered) >= abs(delta) - 1e-12))
    return {
        "metric": name,
        "delta": delta,
        "ci": percentile_interval(finite),
        "p_value": (extreme + 1) / (finite.size + 1),
        "n_bootstrap": int(finite.size),
    }


def paired_bootstrap_scores(
    scores_a: Sequence[float], scores_b: Sequence[float], n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The paired test on per-example scores whose corpus score is their mean."""
    _check_n(n)
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise HarnessError(f"paired bootstrap: {a.size} scores for A, {b.size} for B",
                           hint="give both systems' per-example scores on the same examples")
    rng = np.random.default_rng(seed)
    diff = a - b
    deltas = np.array([diff[_indices(rng, diff.size)].mean() for _ in range(n)])
    return paired_result(float(diff.mean()), deltas)
