"""The one bootstrap: corpus scores from per-example statistics, resampled.

Every metric reduces each example to a row of sufficient statistics, and
records as data (a *recipe*, JSON) how its corpus score is made from a set of
rows. :func:`score_from_stats` applies a recipe, so a consumer that holds the
stored rows (``leaderboard compare``) recomputes BLEU, F1 or bits-per-byte on
every resample exactly as the metric does, without importing the metrics.

Recipes (``{"kind": ..., ...}``):

- ``mean``: rows ``[score, count, ...]``; ``sum(score) / sum(count)``.
- ``ratio``: ``scale * sum(row[num]) / sum(row[den])``, then ``exp`` if ``"exp": true``
  (cross-entropy, perplexity, bits per byte, token accuracy).
- ``sacrebleu``: sacrebleu's own ``_compute_score_from_stats`` on the summed rows of
  ``class`` (BLEU, CHRF, TER) built with ``options`` (exactly what ``corpus_score`` and
  ``--paired-bs`` compute).
- ``labels``: rows ``[gold, predicted]`` label indices; ``average`` ``null`` (accuracy),
  ``micro`` or ``macro`` F1 as scikit-learn computes them.

:func:`paired_bootstrap` is sacrebleu's paired bootstrap (``--paired-bs``,
Koehn 2004): the same resampled example indices for both systems (numpy
``default_rng(seed).choice``), the p-value of the absolute score difference
against the centred resampled differences with the +1 correction.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np

from harnesskit.progress import bar

PROGRESS_ROWS = 20_000  # corpora at least this long show progress bars while resampling
Recipe = dict[str, Any]
ScoreFn = Callable[[np.ndarray], float]  # example indices -> corpus score on those examples


def score_from_stats(recipe: Recipe, stats: np.ndarray) -> float:
    """The corpus score of the rows ``stats`` (n_examples, k) by ``recipe``."""
    kind = recipe.get("kind")
    stats = np.asarray(stats, dtype=np.float64)
    if kind == "labels":
        return _label_score(stats, recipe.get("average"))
    total = stats.sum(axis=0)
    if kind == "mean":
        return float(total[0] / total[1]) if total[1] else math.nan
    if kind == "ratio":
        den = total[recipe["den"]]
        if not den or math.isnan(total[recipe["num"]]):
            return math.nan
        value = float(recipe.get("scale", 1.0)) * float(total[recipe["num"]]) / float(den)
        if recipe.get("exp"):
            return math.exp(value) if value < 700 else math.inf
        return value
    if kind == "sacrebleu":
        return float(_sacrebleu(recipe["class"], json.dumps(recipe.get("options") or {},
                                                            sort_keys=True))
                     ._compute_score_from_stats(list(total)).score)
    raise ValueError(f"unknown score recipe {recipe!r}")


@functools.lru_cache(maxsize=16)
def _sacrebleu(cls_name: str, options: str) -> Any:
    """A sacrebleu metric object (built once per recipe: building BLEU costs milliseconds)."""
    import sacrebleu.metrics as sm

    return getattr(sm, cls_name)(**json.loads(options))


def _label_score(stats: np.ndarray, average: str | None) -> float:
    """Accuracy or F1 from [gold, predicted] rows, equal to scikit-learn's.

    scikit-learn's per-label F1 is 2tp / (true + predicted) over the labels present in
    either column; micro F1 of single-label data is the accuracy.
    """
    y_true, y_pred = stats[:, 0].astype(np.int64), stats[:, 1].astype(np.int64)
    if average in (None, "micro"):
        return 100.0 * float(np.mean(y_true == y_pred))
    n = int(max(y_true.max(), y_pred.max())) + 1
    tp = np.bincount(y_true[y_true == y_pred], minlength=n).astype(np.float64)
    both = np.bincount(y_true, minlength=n) + np.bincount(y_pred, minlength=n)
    present = both > 0
    return 100.0 * float(np.mean(2.0 * tp[present] / both[present]))


# ----- resampling -----------------------------------------------------------
def resample_indices(n_items: int, n: int, seed: int) -> np.ndarray:
    """(n, n_items) example indices drawn with replacement, as sacrebleu draws them."""
    if n < 1:
        raise ValueError(f"bootstrap needs at least 1 resample, got n={n}")
    rng = np.random.default_rng(seed)
    return rng.choice(n_items, size=(n, n_items), replace=True)


def bootstrap_scores(score: ScoreFn, n_items: int, n: int, seed: int, *,
                     desc: str = "bootstrap") -> np.ndarray:
    """The corpus score on each of ``n`` resamples of ``n_items`` examples (with a progress
    bar on large corpora, where the resamples take minutes)."""
    idxs = resample_indices(n_items, n, seed)
    rounds = bar(idxs, desc=desc, unit="resample", leave=False) if n_items >= PROGRESS_ROWS else idxs
    return np.array([score(idx) for idx in rounds], dtype=np.float64)


def percentile_interval(scores: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile bootstrap interval; None when no finite resample exists."""
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return (float(lo), float(hi))


def paired_bootstrap(score_a: ScoreFn, score_b: ScoreFn, n_items: int, *, n: int = 1000,
                     seed: int = 0, identical: bool = False) -> dict[str, Any]:
    """Paired bootstrap test of A against B on the same ``n_items`` examples.

    ``delta`` = score_a(all) - score_b(all); ``ci`` the 95% percentile interval of
    the resampled deltas; ``p_value`` sacrebleu's: the share (+1 corrected) of
    centred resampled |differences| above the observed |difference|. ``identical``
    (the two systems' rows are the same) gives p = 1: sacrebleu's strict ``>``
    would report 1/(n+1) for a system against itself.
    """
    everything = np.arange(n_items)
    delta = float(score_a(everything) - score_b(everything))
    idxs = resample_indices(n_items, n, seed)
    a = np.array([score_a(i) for i in idxs], dtype=np.float64)
    b = np.array([score_b(i) for i in idxs], dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    diffs = np.abs(a - b)
    centred = diffs - diffs.mean() if diffs.size else diffs
    p = 1.0 if identical else (int(np.sum(centred > abs(delta))) + 1) / (diffs.size + 1)
    return {"delta": delta, "ci": percentile_interval(a - b), "p_value": float(p),
            "mean_a": float(score_a(everything)), "mean_b": float(score_b(everything)),
            "n_bootstrap": int(diffs.size)}


# ----- the jackknife (for statistics that resampling with replacement biases) --------------
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


def paired_jackknife(delta: float, loo: np.ndarray) -> dict[str, Any]:
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
    return {"delta": delta, "ci": ci, "p_value": p_value, "n_bootstrap": 0,
            "method": "jackknife", "n_jackknife": int(loo.size)}
