"""The cleaning pipeline: switchable steps, each counting what goes in and out.

Documents stream through the steps one at a time; a step returns the document
(possibly with its text changed) or ``None`` to drop it. Every step counts
documents and characters in and out, so the report can show that documents out
equal documents in minus each step's removals. The steps, in order:

``normalize``        Unicode NFC or NFKC, control characters removed, line ends unified
``exact_dedup``      drop a document whose whitespace-folded text was seen before
``paragraph_dedup``  drop long paragraphs already seen in an earlier document (boilerplate)
``langid``           py3langid; drop documents not in the wanted languages
``quality``          Gopher/C4-style rules: length, mean word length, symbols, stop words ...
``near_dedup``       MinHash + LSH over word 5-shingles (datasketch); drop near copies
``decontaminate``    drop documents sharing a 13-gram with a task's test set
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pretrain.config import field

Doc = dict


@dataclass(frozen=True, kw_only=True)
class CleanConfig:
    """Which cleaning steps run, and their thresholds."""

    normalize: str = field("NFC", "Unicode normal form: NFC, NFKC or off")
    exact_dedup: bool = field(True, "drop exact duplicate documents (whitespace folded)")
    paragraph_dedup: bool = field(True, "drop paragraphs repeated from earlier documents")
    paragraph_min_chars: int = field(120, "only paragraphs at least this long are deduplicated")
    quality: bool = field(True, "apply the Gopher/C4 quality rules")
    min_words: int = field(50, "quality: fewest words in a document")
    max_words: int = field(100_000, "quality: most words in a document")
    min_mean_word_len: float = field(3.0, "quality: smallest mean word length")
    max_mean_word_len: float = field(10.0, "quality: largest mean word length")
    max_symbol_ratio: float = field(0.1, "quality: most '#' and '...' per word")
    min_alpha_words: float = field(0.8, "quality: least fraction of words with a letter")
    min_stop_words: int = field(2, "quality: fewest distinct stop words (en: the, of, and ...)")
    langid: bool = field(True, "identify languages with py3langid and filter them")
    languages: tuple[str, ...] = field(("en",), "languages kept by the language filter")
    near_dedup: bool = field(True, "drop near duplicates (MinHash LSH)")
    near_threshold: float = field(0.8, "near_dedup: estimated Jaccard similarity that counts as a copy")
    num_perm: int = field(128, "near_dedup: MinHash permutations")
    shingle: int = field(5, "near_dedup: words per shingle")
    decontaminate_n: int = field(13, "decontaminate: n-gram length shared with a test set")

    def __post_init__(self) -> None:
        if self.normalize not in ("NFC", "NFKC", "off"):
            raise ValueError("clean.normalize must be NFC, NFKC or off")
        if not 0.0 < self.near_threshold <= 1.0:
            raise ValueError("clean.near_threshold must be in (0, 1]")
        if self.min_words < 0 or self.max_words < self.min_words:
            raise ValueError("clean.min_words must be >= 0 and <= clean.max_words")
        if self.num_perm < 16 or self.shingle < 1 or self.decontaminate_n < 1:
            raise ValueError("clean.num_perm must be >= 16, clean.shingle and "
                             "clean.decontaminate_n >= 1")


class Step:
    """A counted pipeline step; subclasses implement :meth:`process`."""

    name = "step"

    def __init__(self) -> None:
        self.docs_in = self.docs_out = self.chars_in = self.chars_out = 0
        self.seconds = 0.0
        self.extra: dict[str, Any] = {}

    def process(self, doc: Doc) -> Doc | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Doc | None:
        self.docs_in += 1
        self.chars_in += len(doc["text"])
        t0 = time.perf_counter()
        out = self.process(doc)
        self.seconds += time.perf_counter() - t0
        if out is not None and not out["text"].strip():
            out = None
        if out is not None:
            self.docs_out += 1
            self.chars_out += len(out["text"])
        return out

    def summary(self) -> dict[str, Any]:
        """Counts for the report: docs and chars in, out, removed, plus step details."""
        return {"step": self.name, "docs_in": self.docs_in, "docs_out": self.docs_out,
                "docs_removed": self.docs_in - self.docs_out, "chars_in": self.chars_in,
                "chars_out": self.chars_out, "seconds": round(self.seconds, 3), **self.extra}


# Control characters (Unicode category C*) except tab and newline; U+FFFD stays so that
# decoding errors remain visible in the text as well as in the report.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")


class Normalize(Step):
    """Unicode normal form, control characters removed, at most one blank line in a row."""

    name = "normalize"

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.extra = {"form": form, "control_chars_removed": 0}

    def process(self, doc: Doc) -> Doc | None:
        text = doc["text"].replace("\r\n", "\n").replace("\r", "\n")
        if self.form != "off":
            text = unicodedata.normalize(self.form, text)
        text, n = _CONTROL.subn("", text)
        self.extra["control_chars_removed"] += n
        text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", text)).strip()
        return {**doc, "text": text}


def build_steps(cfg: CleanConfig, test_texts: list[str] | None = None) -> list[Step]:
    """The enabled steps for ``cfg`` in pipeline order (decontaminate only with test texts)."""
    from pretrain.contamination import Decontaminate
    from pretrain.dedup import ExactDedup, NearDedup, ParagraphDedup
    from pretrain.langid import LanguageFilter
    from pretrain.quality import QualityFilter

    steps: list[Step] = [Normalize(cfg.normalize)]
    if cfg.exact_dedup:
        steps.append(ExactDedup())
    if cfg.paragraph_dedup:
        steps.append(ParagraphDedup(cfg.paragraph_min_chars))
    if cfg.langid:
        steps.append(LanguageFilter(cfg.languages))
    if cfg.quality:  # after langid: the stop-word rule uses the document's language
        steps.append(QualityFilter(cfg))
    if cfg.near_dedup:
        steps.append(NearDedup(cfg.near_threshold, cfg.num_perm, cfg.shingle))
    if test_texts:
        steps.append(Decontaminate(test_texts, cfg.decontaminate_n))
    return steps


def run_pipeline(docs: Iterable[Doc], steps: list[Step]) -> Iterator[Doc]:
    """Stream ``docs`` through ``steps``; yields the survivors."""
    for doc in docs:
        for step in steps:
            doc = step(doc)
            if doc is None:
                break
        else:
            yield doc


# ----------------------------------------------------------------------------- sentences

_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf",
           "fig", "no", "vol", "inc", "ltd", "co", "jan", "feb", "mar", "apr", "jun", "jul",
           "aug", "sep", "sept", "oct", "nov", "dec", "approx", "dept", "est", "gen", "gov"}
_SENT_END = re.compile(r"([.!?]+[\"')\]]*)(\s+)(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split English ``text`` into sentences (for NSP and sentence-level tasks).

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets)
    followed by whitespace and a capital or digit, unless the word before the
    period is a known abbreviation or a single letter (an initial). Blank lines
    always end a sentence.
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        start = 0
        for m in _SENT_END.finditer(para):
            before = para[start:m.start()].rsplit(" ", 1)[-1].lower().strip("\"'([")
            if m.group(1).startswith(".") and (before in _ABBREV or len(before) == 1):
                continue
            out.append(para[start:m.end(1)].strip())
            start = m.end()
        if para[start:].strip():
            out.append(para[start:].strip())
    return out
