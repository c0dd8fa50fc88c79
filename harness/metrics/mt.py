"""BLEU, chrF (chrF++ with ``word_order=2``) and TER through sacrebleu.

Options are sacrebleu's constructor arguments, by the same names. The corpus
score is sacrebleu's: per-segment statistics from sacrebleu's own extractor,
summed, then its ``_compute_score_from_stats`` (exactly what ``corpus_score``
does, and what its paired bootstrap resamples). The signature is sacrebleu's
signature string. References come one list per hypothesis and may vary in
number: they are transposed into sacrebleu's reference streams with ``None``
for the missing ones (sacrebleu's convention for a variable number).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from harness.metrics.base import Evaluation, Metric, Signature, progress, register_metric
from harnesskit.errors import HarnessError


def reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-hypothesis reference lists -> sacrebleu's streams (one per reference slot)."""
    width = max(len(r) for r in references)
    return [[r[j] if j < len(r) else None for r in references] for j in range(width)]


def _sacrebleu_defaults(cls_name: str) -> dict[str, Any]:
    import sacrebleu.metrics as sm

    params = inspect.signature(getattr(sm, cls_name).__init__).parameters
    return {k: p.default for k, p in params.items() if k not in ("self", "references")}


CHUNK = 5000  # segments per sacrebleu call: 4 chunks or more show a progress bar


class _Sacrebleu(Metric):
    """Wraps one sacrebleu metric object built from our options."""

    lib_class = ""

    def _check_options(self) -> None:
        import sacrebleu.metrics as sm

        try:
            self._lib = getattr(sm, self.lib_class)(**self.options)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            raise HarnessError(f"{self.name}: bad option ({exc})",
                               hint=f"options are sacrebleu {self.lib_class}'s: "
                                    f"{', '.join(sorted(self.defaults))}") from exc
        self._lib.num_refs = "?"  # known once references are seen

    def _evaluate(self, predictions: list[str], references: list[list[str]]) -> Evaluation:
        # Per-segment statistics, so chunks give exactly the whole; the chunks show progress.
        starts = range(0, len(predictions), CHUNK)
        seg: list[Any] = []
        for i in progress(starts, len(starts), self.name, unit="chunk",
                          min_total=4):
            seg.extend(self._lib._extract_corpus_statistics(
                predictions[i:i + CHUNK], reference_streams(references[i:i + CHUNK])))
        stats = np.array(seg, dtype=np.float64)
        full = self._lib._compute_score_from_stats(list(stats.sum(axis=0)))
        return Evaluation(score=float(full.score), details=self._details(full), stats=stats)

    def recipe(self) -> dict[str, Any]:
        return {"kind": "sacrebleu", "class": self.lib_class, "options": dict(self.options)}

    def _details(self, full: Any) -> dict[str, Any]:
        return {"formatted": full.format(signature="", score_only=False).strip()}

    def signature(self) -> Signature:
        text = self._lib.get_signature().format()
        return Signature(self.name, tuple(tuple(kv.split(":", 1)) for kv in text.split("|")))


@register_metric
class BLEU(_Sacrebleu):
    """Corpus BLEU (sacrebleu.metrics.BLEU), 0-100."""

    name = "bleu"
    lib_class = "BLEU"
    defaults = _sacrebleu_defaults("BLEU")

    def _details(self, full: Any) -> dict[str, Any]:
        return {"counts": [int(c) for c in full.counts], "totals": [int(t) for t in full.totals],
                "precisions": [float(p) for p in full.precisions], "bp": float(full.bp),
                "sys_len": int(full.sys_len), "ref_len": int(full.ref_len),
                "ratio": float(full.ratio)}


@register_metric
class CHRF(_Sacrebleu):
    """Character n-gram F-score (sacrebleu.metrics.CHRF); chrF++ with ``word_order=2``."""

    name = "chrf"
    lib_class = "CHRF"
    defaults = _sacrebleu_defaults("CHRF")

    def _details(self, full: Any) -> dict[str, Any]:
        return {"char_order": full.char_order, "word_order": full.word_order, "beta": full.beta}


@register_metric
class TER(_Sacrebleu):
    """Translation edit rate (sacrebleu.metrics.TER), in percent; lower is better."""

    name = "ter"
    lib_class = "TER"
    higher_is_better = False
    defaults = _sacrebleu_defaults("TER")

    def _details(self, full: Any) -> dict[str, Any]:
        return {"num_edits": float(full.num_edits), "ref_length": float(full.ref_length)}
