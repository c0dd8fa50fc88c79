"""distinct-1 and distinct-2 (Li et al., 2016, "A Diversity-Promoting Objective").

distinct-n = number of distinct n-grams over the number of n-grams, both
counted over all responses of the corpus pooled (so it is a corpus metric,
not a mean of per-response ratios), times 100. Responses are split on
whitespace (``lowercase`` folds case first). References are not used.
The details also give the ratio over all tokens (Li et al.'s wording
"scaled by the total number of generated tokens"), which differs for n > 1.
An empty response (nothing but whitespace) counts as such: one n-gram
occurrence in the denominator that is never distinct, so a generator that
answers 19 times with nothing and once with ",," scores distinct-1 = 5, not
100 (the signature says ``empty:counted``); the details give ``empty_share``,
the percentage of empty responses, which the leaderboard shows beside the
score. A corpus without a single n-gram scores 0.0, with a ``note`` in the
details, not nan.

The CI is the delete-1 jackknife normal interval (``ci_method``; the
signature says ``ci:jackknife``), not the percentile bootstrap: resampling
responses with replacement repeats some, a repeat adds n-grams but no
distinct ones, so the resampled scores sit almost all below the corpus score
and their percentiles miss it. Leaving one response out never duplicates
one; its score is recounted exactly through a sparse response x n-gram
incidence matrix (the n-grams found only in that response are lost). The
paired test of two systems is the paired jackknife (see ``bootstrap``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.metrics.base import Evaluation, Metric, Signature, library_version, register_metric


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """The n-grams of a token list, in order."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


class _Distinct(Metric):
    """Stats rows are ``[response index, n-gram count (1 for an empty response), token count,
    run id]``."""

    defaults: dict[str, Any] = {"lowercase": False}
    references_required = False
    ci_method = "jackknife"
    order = 1

    def validate(self, predictions: Any, references: Any) -> tuple[list[Any], None]:
        """Responses only: references, if given, are not used and not checked."""
        return super().validate(predictions, None)[0], None

    def _check_options(self) -> None:
        self._incidence: dict[int, Any] = {}
        self._runs = 0

    def _evaluate(self, predictions: list[str], references: Any) -> Evaluation:
        from scipy.sparse import csr_matrix

        ids: dict[tuple[str, ...], int] = {}
        rows, cols, stats = [], [], []
        for i, text in enumerate(predictions):
            tokens = (text.lower() if self.options["lowercase"] else text).split()
            grams = ngrams(tokens, self.order)
            uniq = {ids.setdefault(g, len(ids)) for g in grams}
            rows.extend([i] * len(uniq))
            cols.extend(uniq)
            stats.append([i, len(grams) if tokens else 1, len(tokens)])
        # Keyed by a run id stored in the rows, so that stats of two systems (paired
        # bootstrap) each resample against their own n-grams.
        run = self._runs = self._runs + 1
        if len(self._incidence) >= 4:  # a paired test needs two; keep memory bounded
            del self._incidence[min(self._incidence)]
        self._incidence[run] = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                                          shape=(len(predictions), max(len(ids), 1)))
        arr = np.array([[*row, run] for row in stats], dtype=np.int64)
        total = arr[:, 1].sum()
        n_empty = int(np.sum(arr[:, 2] == 0))
        details: dict[str, Any] = {
            "n_empty": n_empty, "empty_share": 100.0 * n_empty / len(arr),
            "n_distinct": len(ids), "n_ngrams": int(total), "n_tokens": int(arr[:, 2].sum()),
            "per_token": 100.0 * len(ids) / arr[:, 2].sum() if arr[:, 2].sum() else None,
            "ci_method": "delete-1 jackknife, score +- 1.96 se"}
        if not len(ids):
            details["note"] = (f"no response has a {self.order}-gram (all empty or shorter); "
                               "scored 0")
        return Evaluation(score=self._ratio(len(ids), int(total)), details=details, stats=arr)

    @staticmethod
    def _ratio(distinct: Any, total: Any) -> Any:
        # No n-gram at all: no diversity shown, 0 (not nan, which breaks tables and means).
        return 100.0 * distinct / np.maximum(total, 1)

    def _score_from_stats(self, stats: np.ndarray) -> float:
        # Distinct n-grams of the resample: columns hit by any selected response.
        incidence = self._incidence[int(stats[0, 3])]
        chosen = np.zeros(incidence.shape[0], dtype=np.int32)
        chosen[np.unique(stats[:, 0])] = 1
        distinct = int(np.count_nonzero(incidence.T @ chosen))
        return self._ratio(distinct, int(stats[:, 1].sum()))

    def _leave_one_out(self, stats: np.ndarray) -> np.ndarray:
        # Without response i the distinct count loses the n-grams found in i alone.
        incidence = self._incidence[int(stats[0, 3])][stats[:, 0]]
        df = np.asarray(incidence.sum(axis=0)).ravel()
        only_here = incidence @ (df == 1).astype(np.int32)
        distinct = np.count_nonzero(df) - only_here
        return np.asarray(self._ratio(distinct, stats[:, 1].sum() - stats[:, 1]), dtype=float)

    def signature(self) -> Signature:
        return Signature(self.name, (("n", str(self.order)), ("tok", "whitespace"),
                                     ("case", "lc" if self.options["lowercase"] else "mixed"),
                                     ("pool", "corpus"), ("empty", "counted"),
                                     ("ci", "jackknife"),
                                     ("version", library_version("pretrain-harness"))))


@register_metric
class Distinct1(_Distinct):
    """Distinct unigrams over all unigrams of all responses, 0-100."""

    name = "distinct_1"
    order = 1


@register_metric
class Distinct2(_Distinct):
    """Distinct bigrams over all bigrams of all responses, 0-100."""

    name = "distinct_2"
    order = 2
