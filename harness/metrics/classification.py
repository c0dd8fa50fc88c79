"""Classification metrics through scikit-learn: accuracy, macro F1, micro F1.

Predictions are label strings; ``references[i]`` holds exactly one gold label.
Labels are mapped to integers once (stats rows are ``[gold, predicted]``), so
a bootstrap resample calls scikit-learn on the resampled labels: F1 is
recomputed with the class balance of each resample, not averaged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.metrics.base import Evaluation, Metric, Signature, library_version, register_metric
from harnesskit.errors import HarnessError

MAX_PER_LABEL = 100  # per-label details only up to this many labels


class _Classification(Metric):
    """Shared label handling; subclasses set ``average`` (None for accuracy)."""

    defaults: dict[str, Any] = {"zero_division": 0.0}
    average: str | None = None

    def _check_options(self) -> None:
        zd = self.options["zero_division"]
        if not (zd in (0.0, 1.0) or (isinstance(zd, float) and np.isnan(zd))):
            raise HarnessError(f"{self.name}: zero_division must be 0.0, 1.0 or nan, got {zd!r}")

    def _evaluate(self, predictions: list[str], references: list[list[str]]) -> Evaluation:
        for i, refs in enumerate(references):
            if len(refs) != 1:
                raise HarnessError(f"{self.name}: example {i} has {len(refs)} gold labels",
                                   hint="classification takes exactly one reference label each")
        gold = [r[0] for r in references]
        self._labels = sorted(set(gold) | set(predictions))
        index = {label: k for k, label in enumerate(self._labels)}.__getitem__
        n = len(gold)
        stats = np.column_stack([np.fromiter(map(index, gold), np.int64, count=n),
                                 np.fromiter(map(index, predictions), np.int64, count=n)])
        score, details = self._sklearn_score(stats)
        return Evaluation(score=score, details=details, stats=stats)

    def _sklearn_score(self, stats: np.ndarray) -> tuple[float, dict[str, Any]]:
        """The score and details from scikit-learn (f1_score is this same call's F)."""
        from sklearn.metrics import accuracy_score, precision_recall_fscore_support

        y_true, y_pred = stats[:, 0], stats[:, 1]
        details = self._details(stats)
        if self.average is None:
            return 100.0 * float(accuracy_score(y_true, y_pred)), details
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, average=self.average, zero_division=self.options["zero_division"])
        details.update(precision=100.0 * float(p), recall=100.0 * float(r))
        return 100.0 * float(f), details

    def recipe(self) -> dict[str, Any]:
        """Accuracy or F1 from the [gold, predicted] rows (the math is in harnesskit.resample,
        1000x faster than scikit-learn and pinned against ``f1_score`` by the tests)."""
        return {"kind": "labels", "average": self.average}

    def _details(self, stats: np.ndarray) -> dict[str, Any]:
        """Counts, and per-label precision/recall/F1 (scikit-learn's formulas, in numpy)."""
        n = len(self._labels)
        details: dict[str, Any] = {"n": int(len(stats)), "n_labels": n}
        if n > MAX_PER_LABEL:  # e.g. free-text "labels": a table nobody reads
            return details
        y_true, y_pred = stats[:, 0], stats[:, 1]
        tp = np.bincount(y_true[y_true == y_pred], minlength=n).astype(np.float64)
        true, pred = np.bincount(y_true, minlength=n), np.bincount(y_pred, minlength=n)
        zd = float(self.options["zero_division"])

        def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
            return np.where(den > 0, num / np.maximum(den, 1), zd)

        p, r, f = ratio(tp, pred), ratio(tp, true), ratio(2 * tp, true + pred)
        details["per_label"] = {
            label: {"precision": 100.0 * float(p[k]), "recall": 100.0 * float(r[k]),
                    "f1": 100.0 * float(f[k]), "support": int(true[k])}
            for k, label in enumerate(self._labels)
        }
        return details

    def _rows_scores(self, stats: np.ndarray) -> list[float]:
        """100 for a correct label, 0 otherwise (a one-example F1 is the same)."""
        return (100.0 * (stats[:, 0] == stats[:, 1])).tolist()

    def signature(self) -> Signature:
        fields = [("average", self.average or "none")]
        if self.average is not None:
            fields.append(("zero_division", str(self.options["zero_division"])))
        fields.append(("sklearn", library_version("scikit-learn")))
        return Signature(self.name, tuple(fields))


@register_metric
class Accuracy(_Classification):
    """Share of exact label matches (``sklearn.metrics.accuracy_score``), 0-100."""

    name = "accuracy"
    level = "example"
    defaults: dict[str, Any] = {}

    def _check_options(self) -> None:
        self.options["zero_division"] = 0.0


@register_metric
class MacroF1(_Classification):
    """Unweighted mean of per-label F1 (``f1_score(average='macro')``), 0-100."""

    name = "macro_f1"
    average = "macro"


@register_metric
class MicroF1(_Classification):
    """F1 of pooled counts (``f1_score(average='micro')``), 0-100."""

    name = "micro_f1"
    level = "example"  # single-label micro F1 is the accuracy: the mean of 0/100 per example
    average = "micro"
