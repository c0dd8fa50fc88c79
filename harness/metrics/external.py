"""Metrics that a task computes itself (lm-evaluation-harness tasks), with our CIs.

An ``lmeval:`` task keeps lm-eval's own metrics: each example's metric value
comes from lm-eval's ``process_results`` (after its filters), and the corpus
value from lm-eval's aggregation function (``mean``, ``perplexity``,
``bits_per_byte``, ``f1``...), or for a group from lm-eval's group aggregation.
:class:`TaskAggregate` wraps the task's ``aggregate(key, rows)`` as one of our
metrics whose sufficient statistics are row indices, so the bootstrap of
:mod:`harness.metrics.bootstrap` recomputes lm-eval's aggregation on every
resample, and each example's score is the aggregation of its row alone.
Values are on lm-eval's scale (accuracy 0-1), so that they equal lm-eval's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.metrics.base import Evaluation, Metric, Signature, library_version


class TaskAggregate(Metric):
    """One metric of a task that aggregates its own per-example values."""

    text_inputs = False
    references_required = False

    def __init__(self, name: str, aggregate: Callable[[list[dict[str, Any]]], float],
                 fields: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]  (one instance per task metric)
        self._aggregate = aggregate
        self._fields = fields
        self._rows: list[dict[str, Any]] = []

    def _evaluate(self, predictions: list[Any], references: Any) -> Evaluation:
        self._rows = list(predictions)
        stats = np.arange(len(self._rows), dtype=np.float64)[:, None]
        return Evaluation(score=self._aggregate(self._rows), details={"n": len(self._rows)},
                          stats=stats)

    def _score_from_stats(self, stats: np.ndarray) -> float:
        return float(self._aggregate([self._rows[int(i)] for i in stats[:, 0]]))

    def signature(self) -> Signature:
        return Signature(self.name, self._fields)


def score_task_metrics(task: Any, rows: list[dict[str, Any]],
                       n_bootstrap: int) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Every metric of a self-scoring task with its CI, direction and level (the fields of
    ``harness.results.MetricResult``), and the rows with per-example scores."""
    lm_version = library_version("lm-eval")
    metrics: dict[str, dict[str, Any]] = {}
    per_example: dict[str, list[float | None]] = {}
    for spec in task.metrics:
        key = spec.name
        agg = _aggregation_name(rows, key)
        m = TaskAggregate(key, lambda rs, k=key: task.aggregate(k, rs),
                          (("agg", agg), ("task", task.name), ("task_version", str(task.version)),
                           ("lm-eval", lm_version)))
        s, values, _ = m.compute_with_examples(rows, None, ci=n_bootstrap > 0,
                                               n_bootstrap=max(n_bootstrap, 1), seed=0)
        per_example[key] = [None if np.isnan(v) else v for v in values]
        details = dict(s.details)
        if len(task.leaf_names) > 1 and "/" not in key:  # a group: each member's own value too
            details["subtasks"] = {leaf: task.aggregate(f"{leaf}/{key}", rows)
                                   for leaf in task.leaf_names}
        # lm-eval's aggregation is code, not a recipe: compare cannot recompute it (recipe None)
        metrics[key] = {"score": s.score, "ci": list(s.ci) if s.ci else None,
                        "signature": s.signature, "details": details, "options": {},
                        "direction": "lower" if task.higher_is_better(key, rows) is False
                        else "higher",
                        "level": "example" if agg == "mean" and task.example_mean(key)
                        else "corpus", "recipe": None}
    scored = [{**row, "scores": {name: vals[i] for name, vals in per_example.items()}}
              for i, row in enumerate(rows)]
    return metrics, scored


def _aggregation_name(rows: list[dict[str, Any]], key: str) -> str:
    sub = key.rsplit("/", 1)[-1]
    for row in rows:
        name = (row.get("aggregation") or {}).get(sub)
        if name:
            return name
    return "group-mean"
