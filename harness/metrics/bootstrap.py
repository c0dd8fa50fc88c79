"""A metric's confidence interval and paired test, on the one bootstrap of ``harnesskit.resample``.

Resampling is over examples, with replacement, seeded, and the corpus metric is
recomputed on every resample from the per-example sufficient statistics (so
BLEU's brevity penalty and F1's class balance are resampled too, as in
sacrebleu's ``--confidence`` and ``--paired-bs``). ``leaderboard compare`` runs
the same :func:`harnesskit.resample.paired_bootstrap` on the stored statistics.

Metrics with ``ci_method = "jackknife"`` (distinct-n) are not resampled: a
resample with replacement repeats responses, and a repeated response adds
n-grams but no new distinct ones, so nearly every resample scores below the
corpus (a "CI" of 32.6-47.8 around a score of 57.4 was seen). They get the
delete-1 jackknife instead, which never duplicates a row: the standard error
is sqrt((n-1)/n * sum((s_-i - mean)^2)) over the n leave-one-out scores
(by Efron & Stein 1981 its expectation is at least the variance of the
statistic on n-1 examples: it errs on the wide side), and the interval is
score +- z * se, clipped to 0-100. ``n`` and ``seed`` do not apply to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harnesskit import resample
from harnesskit.errors import HarnessError

if TYPE_CHECKING:  # type hints only: base imports this module
    from harness.metrics.base import Metric


def _check_n(n: int) -> None:
    if n < 1:
        raise HarnessError(f"bootstrap needs at least 1 resample, got n={n}")


def interval_from_stats(metric: Metric, stats: np.ndarray, n: int = 1000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float] | None:
    """The CI of ``metric`` from its per-example stats, by the metric's ``ci_method``."""
    _check_n(n)
    if metric.ci_method == "jackknife":
        return resample.jackknife_interval(metric._score_from_stats(stats),
                                           metric._leave_one_out(stats), level)
    scores = resample.bootstrap_scores(lambda idx: metric._score_from_stats(stats[idx]),
                                       len(stats), n, seed, desc=f"{metric.name} bootstrap")
    return resample.percentile_interval(scores, level)


def paired_bootstrap(
    metric: Metric,
    preds_a: Sequence[Any],
    preds_b: Sequence[Any],
    refs: Sequence[Sequence[str]] | None,
    n: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired test of system A against B on the same examples (sacrebleu's ``--paired-bs``).

    ``delta`` is score(A) - score(B) on the full corpus; ``ci`` the 95%
    percentile interval of the resampled deltas; ``p_value`` sacrebleu's (see
    :func:`harnesskit.resample.paired_bootstrap`). For ``ci_method =
    "jackknife"`` metrics it is the paired jackknife.
    """
    _check_n(n)
    if len(preds_a) != len(preds_b):
        raise HarnessError(f"paired bootstrap: system A has {len(preds_a)} predictions, "
                           f"system B {len(preds_b)}", hint="score both on the same examples")
    stats_a = metric.stats(preds_a, refs)
    stats_b = metric.stats(preds_b, refs)
    if metric.ci_method == "jackknife":
        delta = metric._score_from_stats(stats_a) - metric._score_from_stats(stats_b)
        loo = metric._leave_one_out(stats_a) - metric._leave_one_out(stats_b)
        return {"metric": metric.name, **resample.paired_jackknife(float(delta), loo)}
    res = resample.paired_bootstrap(lambda i: metric._score_from_stats(stats_a[i]),
                                    lambda i: metric._score_from_stats(stats_b[i]),
                                    len(stats_a), n=n, seed=seed,
                                    identical=list(preds_a) == list(preds_b))
    return {"metric": metric.name, **res}
