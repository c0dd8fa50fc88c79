"""ROUGE-1/2/L/Lsum through Google's rouge-score package.

Each example is scored by ``RougeScorer.score_multi`` (the reference with the
highest F-measure wins) with the options ``use_stemmer`` and
``split_summaries`` named as rouge-score names them. The corpus score is
100 times the mean F-measure over examples (mean precision and recall in the
details); rouge-score's ``BootstrapAggregator`` reports a resampled median
instead, so our CI comes from our own seeded bootstrap.

``rougeLsum`` splits sentences on newlines only (unless ``split_summaries``,
which needs NLTK's punkt model): summarization tasks must put one sentence a
line in both predictions and references before scoring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.metrics.base import (
    MeanMetric,
    Signature,
    library_version,
    progress,
    register_metric,
)
from harnesskit.errors import HarnessError


class _Rouge(MeanMetric):
    """Rows are ``[100*F, 1, 100*P, 100*R]`` per example."""

    defaults: dict[str, Any] = {"use_stemmer": False, "split_summaries": False}

    def _check_options(self) -> None:
        from rouge_score import rouge_scorer

        for key in ("use_stemmer", "split_summaries"):
            if not isinstance(self.options[key], bool):
                raise HarnessError(f"{self.name}: {key} must be true or false")
        self._scorer = rouge_scorer.RougeScorer(
            [self.name], use_stemmer=self.options["use_stemmer"],
            split_summaries=self.options["split_summaries"])

    def _example_rows(self, predictions: list[str], references: list[list[str]]) -> np.ndarray:
        score, multi, name = self._scorer.score, self._scorer.score_multi, self.name
        scores = []  # rouge-score's Score(precision, recall, fmeasure) tuples
        try:
            for pred, refs in progress(zip(predictions, references), len(predictions), name):
                # score_multi on one reference is score() plus an argmax: skip the detour.
                scores.append((score(refs[0], pred) if len(refs) == 1 else multi(refs, pred))[name])
        except LookupError as exc:  # split_summaries needs NLTK's punkt tokenizer
            raise HarnessError(f"{self.name}: split_summaries=True needs NLTK's punkt model",
                               hint="put one sentence a line and keep split_summaries=false") from exc
        prf = 100.0 * np.array(scores, dtype=np.float64).reshape(-1, 3)
        return np.column_stack([prf[:, 2], np.ones(len(prf)), prf[:, 0], prf[:, 1]])

    def _details(self, total: np.ndarray) -> dict[str, Any]:
        return {"n": int(total[1]), "precision": float(total[2] / total[1]),
                "recall": float(total[3] / total[1])}

    def signature(self) -> Signature:
        fields = [("stem", "yes" if self.options["use_stemmer"] else "no")]
        if self.name == "rougeLsum":
            fields.append(("split", "nltk" if self.options["split_summaries"] else "newline"))
        fields += [("refs", "max-f"), ("agg", "mean"), ("version", library_version("rouge-score"))]
        return Signature(self.name, tuple(fields))


@register_metric
class Rouge1(_Rouge):
    """ROUGE-1 F-measure (unigram overlap), 0-100."""

    name = "rouge1"


@register_metric
class Rouge2(_Rouge):
    """ROUGE-2 F-measure (bigram overlap), 0-100."""

    name = "rouge2"


@register_metric
class RougeL(_Rouge):
    """ROUGE-L F-measure (longest common subsequence, sentence level), 0-100."""

    name = "rougeL"


@register_metric
class RougeLsum(_Rouge):
    """ROUGE-Lsum F-measure (summary-level union LCS over newline-split sentences), 0-100."""

    name = "rougeLsum"
