"""Bootstrap confidence intervals and the paired bootstrap test.

Resampling is over examples, with replacement, seeded (numpy's PCG64), and the
corpus metric is recomputed on every resample from the per-example sufficient
statistics (so BLEU's brevity penalty and F1's class balance are resampled
too, as in sacrebleu's ``--confidence`` and Koehn 2004). Scores on a resample
are those of :meth:`Metric._score_from_stats`, identical to ``compute`` on the
resampled corpus.

Metrics with ``ci_method = "jackknife"`` (distinct-n) are not resampled: a
resample with replacement repeats responses, and a repeated response adds
n-grams but no new distinct ones, so nearly every resample scores below the
corpus (a "CI" of 32.6-47.8 around a score of 57.4 was seen). They get the
delete-1 jackknife instead, which never duplicates a row: the standard error
is sqrt((n-1)/n * sum((s_-i - mean)^2)) over the n leave-one-out scores
(by Efron & Stein 1981 its expectation is at least the variance of the
statistic on n-1 examples: it errs on the wide side), and the interval is score +- z * se, clipped to
0-100. ``n`` and ``seed`` do not apply to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from harnesskit.errors import HarnessError
from harnesskit.progress import bar

if TYPE_CHECKING:  # type hints only: base imports this module
    from harness.metrics.base import Metric


def _indices(rng: np.random.Generator, n_examples: int) -> np.ndarray:
    return rng.integers(0, n_examples, size=n_examples)


def _check_n(n: int) -> None:
    if n < 1:
        raise HarnessError(f"bootstrap needs at least 1 resample, got n={n}")


PROGRESS_ROWS = 20_000  # corpora at least this long show progress bars while scoring


def resample_scores(metric: Metric, stats: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Corpus scores of ``n`` bootstrap resamples of the rows of ``stats``."""
    _check_n(n)
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.float64)
    # On large corpora (minutes of work for 50 MB files) the resamples show a bar.
    rounds = (bar(range(n), desc=f"{metric.name} bootstrap", unit="resample", leave=False)
              if len(stats) >= PROGRESS_ROWS else range(n))
    for b in rounds:
        out[b] = metric._score_from_stats(stats[_indices(rng, len(stats))])
    return out


def percentile_interval(scores: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile bootstrap interval; None when no finite resample exists."""
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return (float(lo), float(hi))


def jackknife_se(loo: np.ndarray) -> float:
    """Delete-1 jackknife standard error from the leave-one-out estimates."""
    k = loo.size
    if k < 2:
        return float("nan")
    return float(np.sqrt((k - 1) / k * np.sum((loo - loo.mean()) ** 2)))


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def jackknife_interval(score: float, loo: np.ndarray,
                       level: float = 0.95) -> tuple[float, float] | None:
    """score +- z * jackknife se, clipped to 0-100; None with fewer than 2 rows."""
    se = jackknife_se(loo)
    if not (np.isfinite(se) and np.isfinite(score)):
        return None
    half = _z(level) * se
    return (float(max(score - half, 0.0)), float(min(score + half, 100.0)))


def interval_from_stats(metric: Metric, stats: np.ndarray, n: int = 1000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float] | None:
    """The CI of ``metric`` from its per-example stats, by the metric's ``ci_method``."""
    if metric.ci_method == "jackknife":
        _check_n(n)
        return jackknife_interval(metric._score_from_stats(stats),
                                  metric._leave_one_out(stats), level)
    return percentile_interval(resample_scores(metric, stats, n, seed), level)


def bootstrap_ci(
    metric: Metric,
    preds: Sequence[Any],
    refs: Sequence[Sequence[str]] | None,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """The 95% (by default) interval of ``metric`` on a corpus: percentile bootstrap,
    or the jackknife for ``ci_method = "jackknife"`` metrics (see the module doc)."""
    return interval_from_stats(metric, metric.stats(preds, refs), n, seed, level)


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
    the observed one, with the usual +1 correction. For ``ci_method =
    "jackknife"`` metrics it is the paired jackknife (:func:`paired_jackknife`).
    """
    _check_n(n)
    if len(preds_a) != len(preds_b):
        raise HarnessError(f"paired bootstrap: system A has {len(preds_a)} predictions, "
                           f"system B {len(preds_b)}", hint="score both on the same examples")
    stats_a = metric.stats(preds_a, refs)
    stats_b = metric.stats(preds_b, refs)
    delta = metric._score_from_stats(stats_a) - metric._score_from_stats(stats_b)
    if metric.ci_method == "jackknife":
        loo = metric._leave_one_out(stats_a) - metric._leave_one_out(stats_b)
        return paired_jackknife(float(delta), loo, metric.name)
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


def paired_jackknife(delta: float, loo: np.ndarray, name: str = "") -> dict[str, Any]:
    """delta, 95% normal CI and two-sided normal p-value from leave-one-out deltas.

    The same example is left out of both systems, so the pairing is kept. With a
    zero standard error the p-value is 1 for no difference and 0 otherwise.
    """
    se = jackknife_se(loo)
    ci = None
    p_value = float("nan")
    if np.isfinite(se):
        half = _z(0.95) * se
        ci = (float(delta - half), float(delta + half))
        if se > 0:
            p_value = 2.0 * (1.0 - NormalDist().cdf(abs(delta) / se))
        else:
            p_value = 1.0 if delta == 0 else 0.0
    return {"metric": name, "delta": delta, "ci": ci, "p_value": p_value,
            "n_bootstrap": 0, "method": "jackknife", "n_jackknife": int(loo.size)}


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
