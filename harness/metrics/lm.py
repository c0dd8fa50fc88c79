r"""Language-modelling metrics from per-document token log-probabilities.

Each prediction is one document's dict (docs/INTERNAL_API.md, section D)::

    {"token_logprobs": [float, ...],   # natural log, every token of the document
     "token_correct": [bool, ...],     # argmax == target, same length (token_accuracy only)
     "n_bytes": int,                   # UTF-8 bytes of the document text
     "n_words": int}                   # words, as lm-evaluation-harness counts them

and ``references`` is None. The corpus values pool all tokens (as
lm-evaluation-harness's ``loglikelihood_rolling`` tasks do):
``cross_entropy = -sum(logp) / n_tokens`` (nats/token), ``perplexity =
exp(cross_entropy)``, ``bits_per_byte = -sum(logp) / (n_bytes * ln 2)``,
``token_accuracy = 100 * correct / n_tokens``. Every metric's details hold all
the word- and byte-normalised forms (word_perplexity, byte_perplexity, ...);
``word_perplexity`` divides by ``n_words``, which the model adapter counts as
lm-evaluation-harness's wikitext task does (``len(re.split(r"\s+", text))``).

The log-probabilities come from the model adapter (``tasks.lm_api``), not from
here: the first token of each document is conditioned on the end-of-text
token, and documents longer than the context are scored in windows, each token
exactly once. Two conventions exist there (``tasks.lm_api.rolling_windows``):
``overlap`` (the default) gives every scored token at least ``context -
stride`` tokens of left context, with the spans ``tasks.lm_base.sliding_windows``
states (the Hugging Face perplexity guide's);
``disjoint`` is lm-evaluation-harness's ``loglikelihood_rolling`` (full-context
windows that do not overlap, the last one reaching back to a full context),
which is *not* the overlapping spans with ``stride == context``. The adapter
records which windows, the weights' dtype and the float32 log-softmax in each
result's runner info.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from harness.metrics.base import Evaluation, Metric, Signature, library_version, register_metric
from harnesskit.errors import HarnessError

LN2 = math.log(2.0)
# Columns of the per-document stats rows.
_NLL, _TOK, _OK, _BYTES, _WORDS = range(5)


def _doc_row(i: int, doc: Any, need_correct: bool) -> list[float]:
    if not isinstance(doc, Mapping):
        raise HarnessError(f"predictions[{i}] is a {type(doc).__name__}, not a per-document dict",
                           hint="LM metrics take {'token_logprobs': [...], 'token_correct': "
                                "[...], 'n_bytes': int, 'n_words': int} per document")
    missing = [k for k in ("token_logprobs", "n_bytes", "n_words") if k not in doc]
    if need_correct and "token_correct" not in doc:
        missing.append("token_correct")
    if missing:
        raise HarnessError(f"predictions[{i}] lacks {', '.join(missing)}",
                           hint="see docs/INTERNAL_API.md section D")
    logps = np.asarray(doc["token_logprobs"], dtype=np.float64)
    if logps.ndim != 1 or logps.size == 0:
        raise HarnessError(f"predictions[{i}]: token_logprobs must be a non-empty list of floats")
    if np.any(logps > 1e-6) or not np.all(np.isfinite(logps)):
        raise HarnessError(f"predictions[{i}]: token_logprobs must be finite natural-log "
                           "probabilities (<= 0)")
    correct = doc.get("token_correct")
    if correct is not None and len(correct) != logps.size:
        raise HarnessError(f"predictions[{i}]: {len(correct)} token_correct values for "
                           f"{logps.size} token_logprobs")
    n_bytes, n_words = doc["n_bytes"], doc["n_words"]
    for key, val in (("n_bytes", n_bytes), ("n_words", n_words)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 0:
            raise HarnessError(f"predictions[{i}]: {key} must be a non-negative int, got {val!r}")
    n_ok = float(np.sum(np.asarray(correct, dtype=bool))) if correct is not None else math.nan
    return [float(-logps.sum()), float(logps.size), n_ok, float(n_bytes), float(n_words)]


def lm_details(total: np.ndarray, n_docs: int) -> dict[str, Any]:
    """Every normalisation of the pooled log-likelihood, for the details."""
    nll, tok, ok, nbytes, words = (float(x) for x in total)

    def per(unit: float) -> float:
        return nll / unit if unit else math.nan

    def safe_exp(x: float) -> float:
        return math.exp(x) if x < 700 else math.inf

    return {
        "n_docs": n_docs, "n_tokens": int(tok), "n_bytes": int(nbytes), "n_words": int(words),
        "sum_logprob": -nll,
        "cross_entropy": per(tok), "bits_per_token": per(tok) / LN2,
        "perplexity": safe_exp(per(tok)),
        "word_perplexity": safe_exp(per(words)), "byte_perplexity": safe_exp(per(nbytes)),
        "bits_per_byte": per(nbytes) / LN2, "bits_per_word": per(words) / LN2,
        "token_accuracy": 100.0 * ok / tok if tok and not math.isnan(ok) else None,
    }


class _LMMetric(Metric):
    """Shared validation and stats of the four language-modelling metrics."""

    defaults: dict[str, Any] = {}
    text_inputs = False
    references_required = False
    higher_is_better = False
    unit = "token"
    needs_correct = False  # token_correct is required
    ratio: ClassVar[dict[str, Any]] = {}  # the recipe: which pooled sums make the score

    def _evaluate(self, predictions: list[Any], references: Any) -> Evaluation:
        need = self.needs_correct
        stats = np.array([_doc_row(i, d, need) for i, d in enumerate(predictions)],
                         dtype=np.float64)
        return Evaluation(score=self._score_from_stats(stats),
                          details=lm_details(stats.sum(axis=0), len(stats)), stats=stats)

    def recipe(self) -> dict[str, Any]:
        return dict(self.ratio)

    def signature(self) -> Signature:
        return Signature(self.name, (("unit", self.unit), ("pool", "tokens"),
                                     ("first", "eos-conditioned"),
                                     ("version", library_version("pretrain-harness"))))


@register_metric
class Perplexity(_LMMetric):
    """Token-level perplexity exp(-sum logp / tokens), pooled over documents."""

    name = "perplexity"
    per_token = True
    ratio: ClassVar[dict[str, Any]] = {"kind": "ratio", "num": _NLL, "den": _TOK, "exp": True}


@register_metric
class CrossEntropy(_LMMetric):
    """Cross-entropy in nats per token, pooled over documents."""

    name = "cross_entropy"
    unit = "nats/token"
    per_token = True
    ratio: ClassVar[dict[str, Any]] = {"kind": "ratio", "num": _NLL, "den": _TOK}


@register_metric
class BitsPerByte(_LMMetric):
    """Bits per UTF-8 byte, comparable across tokenizers."""

    name = "bits_per_byte"
    unit = "bits/byte"
    ratio: ClassVar[dict[str, Any]] = {"kind": "ratio", "num": _NLL, "den": _BYTES,
                                       "scale": 1.0 / LN2}


@register_metric
class TokenAccuracy(_LMMetric):
    """Next-token accuracy (0-100): share of tokens whose argmax is the target."""

    name = "token_accuracy"
    higher_is_better = True
    unit = "percent"
    needs_correct = True
    per_token = True
    ratio: ClassVar[dict[str, Any]] = {"kind": "ratio", "num": _OK, "den": _TOK, "scale": 100.0}
