"""Log-likelihood choice metrics, as lm-evaluation-harness defines them.

Multiple choice (``acc``, ``acc_norm``, ``acc_bytes``): a prediction is the
model's per-choice dict ``{"loglikelihoods": [float, ...], "choice_chars": [int,
...], "choice_bytes": [int, ...]}`` (log-likelihood of each choice after the
prompt, and each choice's length in characters and UTF-8 bytes, without the
target delimiter), or a plain choice index (a baseline that picks one);
``references[i]`` is ``[str(gold index)]``. ``acc`` takes the argmax of the
log-likelihoods, ``acc_norm`` of log-likelihood / characters, ``acc_bytes`` of
log-likelihood / bytes (lm-evaluation-harness's ``process_results`` for
``multiple_choice``; ties go to the first choice, as ``np.argmax``).

Cloze (``greedy_acc``, ``target_perplexity``): a prediction is ``{"logprob":
float, "is_greedy": bool}`` for the target continuation; ``greedy_acc`` is the
share of targets that greedy decoding reproduces exactly (lm-evaluation-harness's
LAMBADA ``acc``) and ``target_perplexity`` is ``exp(-mean logprob)`` over
examples (its LAMBADA ``perplexity``). Scores are on 0-100 except the perplexity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.metrics.base import MeanMetric, Signature, library_version, register_metric
from harnesskit.errors import HarnessError


def _choice_index(i: int, pred: Any, norm: str) -> int:
    """The chosen index of one prediction under the normalisation ``norm``."""
    if isinstance(pred, (int, np.integer)) and not isinstance(pred, bool):
        return int(pred)
    if not isinstance(pred, Mapping) or "loglikelihoods" not in pred:
        raise HarnessError(f"predictions[{i}] is not a multiple-choice prediction",
                           hint="give {'loglikelihoods': [...], 'choice_chars': [...], "
                                "'choice_bytes': [...]} or a choice index")
    lls = np.asarray(pred["loglikelihoods"], dtype=np.float64)
    if lls.ndim != 1 or lls.size == 0:
        raise HarnessError(f"predictions[{i}]: loglikelihoods must be a non-empty list")
    if norm != "none":
        key = "choice_chars" if norm == "chars" else "choice_bytes"
        lens = np.asarray(pred.get(key, []), dtype=np.float64)
        if lens.shape != lls.shape:
            raise HarnessError(f"predictions[{i}]: {key} must give one length per choice")
        lls = lls / lens
    return int(np.argmax(lls))


def _gold(i: int, refs: list[str]) -> int:
    try:
        return int(refs[0])
    except (ValueError, IndexError):
        raise HarnessError(f"references[{i}] must be [gold choice index], got {refs!r}") from None


class _ChoiceAcc(MeanMetric):
    """Accuracy of the argmax choice under a length normalisation."""

    text_inputs = False
    norm = "none"

    def _example_rows(self, predictions: list[Any], references: Any) -> np.ndarray:
        return np.array([[100.0 * (_choice_index(i, p, self.norm) == _gold(i, r)), 1.0]
                         for i, (p, r) in enumerate(zip(predictions, references))])

    def signature(self) -> Signature:
        return Signature(self.name, (("norm", self.norm), ("convention", "lm-eval"),
                                     ("version", library_version("pretrain-harness"))))


@register_metric
class Acc(_ChoiceAcc):
    """Multiple-choice accuracy: the choice of highest log-likelihood (0-100)."""

    name = "acc"


@register_metric
class AccNorm(_ChoiceAcc):
    """Multiple-choice accuracy with log-likelihood divided by the choice's characters."""

    name = "acc_norm"
    norm = "chars"


@register_metric
class AccBytes(_ChoiceAcc):
    """Multiple-choice accuracy with log-likelihood divided by the choice's UTF-8 bytes."""

    name = "acc_bytes"
    norm = "bytes"


def _target(i: int, pred: Any) -> tuple[float, bool]:
    if not isinstance(pred, Mapping) or "logprob" not in pred or "is_greedy" not in pred:
        raise HarnessError(f"predictions[{i}] is not a cloze prediction",
                           hint="give {'logprob': float, 'is_greedy': bool}")
    lp = float(pred["logprob"])
    if not math.isfinite(lp) or lp > 1e-6:
        raise HarnessError(f"predictions[{i}]: logprob must be a finite natural-log probability")
    return lp, bool(pred["is_greedy"])


@register_metric
class GreedyAcc(MeanMetric):
    """Share (0-100) of cloze targets that greedy decoding reproduces token for token."""

    name = "greedy_acc"
    text_inputs = False
    references_required = False

    def _example_rows(self, predictions: list[Any], references: Any) -> np.ndarray:
        return np.array([[100.0 * _target(i, p)[1], 1.0] for i, p in enumerate(predictions)])

    def signature(self) -> Signature:
        return Signature(self.name, (("convention", "lm-eval lambada acc"),
                                     ("version", library_version("pretrain-harness"))))


@register_metric
class TargetPerplexity(MeanMetric):
    """exp(-mean target log-likelihood) over examples (lm-eval's LAMBADA perplexity)."""

    name = "target_perplexity"
    text_inputs = False
    references_required = False
    higher_is_better = False

    def _example_rows(self, predictions: list[Any], references: Any) -> np.ndarray:
        return np.array([[_target(i, p)[0], 1.0] for i, p in enumerate(predictions)])

    level = "corpus"  # exp of the mean log-likelihood, not a mean of per-example values

    def recipe(self) -> dict[str, Any]:
        return {"kind": "ratio", "num": 0, "den": 1, "scale": -1.0, "exp": True}

    def _rows_scores(self, stats: np.ndarray) -> list[float]:
        return np.exp(-stats[:, 0] / stats[:, 1]).tolist()

    def signature(self) -> Signature:
        return Signature(self.name, (("mean", "examples"), ("convention", "lm-eval lambada"),
                                     ("version", library_version("pretrain-harness"))))
