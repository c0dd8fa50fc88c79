"""SQuAD v1.1 exact match and token F1, with the official normalisation.

The official ``evaluate-v1.1.py`` lower-cases, removes ASCII punctuation
(``string.punctuation``), removes the articles a/an/the as whole words and
collapses whitespace; each prediction takes the maximum over its references;
the corpus score is 100 times the mean. Token F1 is 0 when no token is shared,
also when both sides normalise to nothing (v1.1, unlike v2.0).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

import numpy as np

from harness.metrics.base import MeanMetric, Signature, library_version, register_metric

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation, articles and extra whitespace (SQuAD v1.1 order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, reference: str) -> float:
    """1.0 when both normalise to the same string."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1_score(prediction: str, reference: str) -> float:
    """Bag-of-tokens F1 between the normalised answers, in 0-1."""
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(reference).split()
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


class _Squad(MeanMetric):
    defaults: dict[str, Any] = {}
    fn = staticmethod(exact_match_score)

    def _example_rows(self, predictions: list[str], references: list[list[str]]) -> np.ndarray:
        fn = self.fn
        scores = [max(fn(p, r) for r in refs) for p, refs in zip(predictions, references)]
        return np.column_stack([100.0 * np.array(scores, dtype=np.float64), np.ones(len(scores))])

    def signature(self) -> Signature:
        return Signature(self.name, (("norm", "squad-v1.1"), ("refs", "max"),
                                     ("version", library_version("pretrain-harness"))))


@register_metric
class ExactMatch(_Squad):
    """SQuAD v1.1 exact match (0-100)."""

    name = "exact_match"


@register_metric
class TokenF1(_Squad):
    """SQuAD v1.1 token-overlap F1 (0-100)."""

    name = "token_f1"
    fn = staticmethod(token_f1_score)
