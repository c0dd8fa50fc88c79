"""The quality report: measures of the cleaned corpus, and a readable table of it.

:class:`CorpusStats` watches documents stream past (constant memory apart from a
word counter and one integer per document for the length percentiles) and
summarises: documents, characters, words, document-length mean and
percentiles, type-token ratio, distinct-1/2 and the most frequent words.
Diversity measures depend on sample size, so TTR and distinct-n are computed
over the first ``DIVERSITY_WORDS`` words, which keeps corpora comparable.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from typing import Any

import numpy as np

DIVERSITY_WORDS = 1_000_000
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


class CorpusStats:
    """Streaming measures of a set of documents."""

    def __init__(self, full: bool = True) -> None:
        self.full = full  # False: sizes only (no word counter, no diversity)
        self.docs = 0
        self.chars = 0
        self.bytes = 0
        self.words = 0
        self.lengths = array("q")  # words per document
        self.counts: Counter[str] = Counter()
        self._div_words = 0
        self._types: set[str] = set()
        self._bigrams: set[tuple[str, str]] = set()
        self._bigram_total = 0

    def add(self, text: str, words: list[str] | None = None) -> list[str]:
        """Count one document; returns its words (pass them on to skip re-splitting)."""
        if words is None:
            words = _WORD.findall(text.lower())
        self.docs += 1
        self.chars += len(text)
        self.bytes += len(text.encode("utf-8"))
        self.words += len(words)
        self.lengths.append(len(words))
        if not self.full:
            return words
        self.counts.update(words)
        room = DIVERSITY_WORDS - self._div_words
        if room > 0:
            sample = words[:room]
            self._div_words += len(sample)
            self._types.update(sample)
            self._bigrams.update(zip(sample, sample[1:]))
            self._bigram_total += max(len(sample) - 1, 0)
        return words

    def summary(self, top: int = 20) -> dict[str, Any]:
        """The measures as a JSON-ready dict."""
        lengths = np.asarray(self.lengths, dtype=np.int64)
        pct = ({f"p{q}": float(np.percentile(lengths, q)) for q in (5, 25, 50, 75, 95)}
               if len(lengths) else {})
        div = max(self._div_words, 1)
        return {
            "documents": self.docs, "chars": self.chars, "bytes": self.bytes, "words": self.words,
            "doc_words": {"mean": float(lengths.mean()) if len(lengths) else 0.0,
                          "min": int(lengths.min()) if len(lengths) else 0,
                          "max": int(lengths.max()) if len(lengths) else 0, **pct},
            "diversity": {"over_words": self._div_words,
                          "type_token_ratio": len(self._types) / div,
                          "distinct_1": len(self._types) / div,
                          "distinct_2": len(self._bigrams) / max(self._bigram_total, 1)},
            "vocabulary": len(self.counts),
            "top_words": self.counts.most_common(top),
        }


# ----------------------------------------------------------------------------- the table


def _num(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:,.3f}" if abs(x) < 100 else f"{x:,.0f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def format_report(report: dict[str, Any]) -> str:
    """A plain-text rendering of ``report.json`` for the terminal."""
    lines = [f"corpus: {report.get('source')}  ->  {report.get('out', '')}"]
    read = report.get("read", {})
    lines.append(f"read: {_num(read.get('files', 0))} files, {_num(read.get('bytes', 0))} bytes, "
                 f"{_num(read.get('documents', 0))} documents; decode errors: "
                 f"{_num(read.get('decode_error_files', 0))} files, "
                 f"{_num(read.get('decode_error_chars', 0))} characters replaced"
                 + _non_utf8(read))
    lines += ["", f"{'step':<16}{'docs in':>12}{'removed':>10}{'docs out':>12}"
                  f"{'chars in':>15}{'chars out':>15}"]
    for s in report.get("steps", []):
        lines.append(f"{s['step']:<16}{_num(s['docs_in']):>12}{_num(s['docs_removed']):>10}"
                     f"{_num(s['docs_out']):>12}{_num(s['chars_in']):>15}{_num(s['chars_out']):>15}")
    rates = report.get("rates", {})
    lines.append("")
    lines.append("exact duplicate rate {:.2%}, near duplicate rate {:.2%}, paragraphs removed {}".format(
        rates.get("exact_duplicate", 0.0), rates.get("near_duplicate", 0.0),
        _num(rates.get("paragraphs_removed", 0))))
    if report.get("quality_failures"):
        lines.append("quality rule failures: " + ", ".join(
            f"{k} {_num(v)}" for k, v in report["quality_failures"].items()))
    if report.get("language_mix"):
        lines.append("language mix (before filter): " + ", ".join(
            f"{k} {_num(v)}" for k, v in list(report["language_mix"].items())[:8]))
    cont = report.get("contamination")
    if cont is None:
        lines.append("contamination: not checked (give --decontaminate TASK|FILE)")
    else:
        lines.append(f"contamination ({cont.get('n')}-grams vs {cont.get('against')}): "
                     f"{_num(cont.get('docs_removed', 0))} documents removed, "
                     f"{_num(cont.get('test_texts_hit', 0))} test texts hit")
    lines += ["", f"{'split':<8}{'docs':>10}{'chars':>14}{'words':>13}{'tokens':>13}"]
    for split, s in report.get("splits", {}).items():
        lines.append(f"{split:<8}{_num(s['documents']):>10}{_num(s['chars']):>14}"
                     f"{_num(s['words']):>13}{_num(s.get('tokens', '-')):>13}")
    total = report.get("output", {})
    if total:
        dw = total["doc_words"]
        div = total["diversity"]
        lines.append("")
        lines.append("words per document: mean {} (p5 {}, p25 {}, median {}, p75 {}, p95 {})".format(
            *(f"{dw.get(k, 0):,.1f}" for k in ("mean", "p5", "p25", "p50", "p75", "p95"))))
        lines.append(f"diversity over the first {_num(div['over_words'])} words: type-token ratio "
                     f"{div['type_token_ratio']:.4f}, distinct-1 {div['distinct_1']:.4f}, "
                     f"distinct-2 {div['distinct_2']:.4f}; vocabulary {_num(total['vocabulary'])}")
        lines.append("top words: " + ", ".join(f"{w} {_num(c)}" for w, c in total["top_words"][:15]))
    tok = report.get("tokenizer")
    if tok:
        lines.append(f"tokenizer: {tok['kind']} vocab {_num(tok['vocab_size'])}, sha {tok['sha']}, "
                     f"{tok.get('chars_per_token', 0):.2f} chars/token")
    return "\n".join(lines)


def _non_utf8(read: dict) -> str:
    """', 3 files not UTF-8 (cp1252 2, latin-1 1)' when some were re-decoded."""
    found = read.get("non_utf8_files") or {}
    if not found:
        return ""
    each = ", ".join(f"{enc} {n}" for enc, n in found.items())
    return f"; {sum(found.values())} files not UTF-8, decoded as {each}"
