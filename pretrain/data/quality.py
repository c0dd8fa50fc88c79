"""Gopher/C4-style quality rules (Rae et al. 2021, appendix A; Raffel et al. 2020).

Each rule is a predicate over simple document statistics; a document failing
any rule is dropped, and the first rule it failed is counted, so the report
says why documents went.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from pretrain.data.step import CleanConfig, Doc, Step, register_step

# Gopher's stop-word rule: a document of English text uses at least two of these.
# German and French get the equally common words of their languages; for other
# languages the rule is skipped (we have no list, and dropping them is langid's job).
STOP_WORDS = {
    "en": frozenset({"the", "be", "to", "of", "and", "that", "have", "with"}),
    "de": frozenset({"der", "die", "das", "und", "zu", "mit", "von", "ist"}),
    "fr": frozenset({"le", "la", "les", "de", "et", "que", "un", "est"}),
}
_BULLETS = ("*", "-", "•", "‣", "◦", "⁃")
_WORD = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class DocStats:
    """The statistics the quality rules read."""

    n_words: int
    mean_word_len: float
    symbol_ratio: float
    alpha_words: float
    stop_words: int
    bullet_lines: float
    ellipsis_lines: float


def doc_stats(text: str, lang: str = "en") -> DocStats:
    """Words are whitespace-separated tokens; lines are non-empty lines; stop words of ``lang``
    (-1 when there is no list for it)."""
    words = _WORD.findall(text)
    n = len(words) or 1
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [""]
    lowered = {w.lower().strip(".,;:!?\"'()[]") for w in words}
    return DocStats(
        n_words=len(words),
        mean_word_len=sum(len(w) for w in words) / n,
        symbol_ratio=(text.count("#") + text.count("...") + text.count("…")) / n,
        alpha_words=sum(1 for w in words if _ALPHA.search(w)) / n,
        stop_words=len(STOP_WORDS[lang] & lowered) if lang in STOP_WORDS else -1,
        bullet_lines=sum(ln.startswith(_BULLETS) for ln in lines) / len(lines),
        ellipsis_lines=sum(ln.endswith(("...", "…")) for ln in lines) / len(lines),
    )


def failed_rule(s: DocStats, cfg: CleanConfig) -> str | None:
    """The name of the first rule ``s`` fails, or None when the document passes."""
    rules = (
        ("too_few_words", s.n_words < cfg.min_words),
        ("too_many_words", s.n_words > cfg.max_words),
        ("mean_word_length", not cfg.min_mean_word_len <= s.mean_word_len <= cfg.max_mean_word_len),
        ("symbol_ratio", s.symbol_ratio > cfg.max_symbol_ratio),
        ("alphabetic_words", s.alpha_words < cfg.min_alpha_words),
        ("stop_words", 0 <= s.stop_words < cfg.min_stop_words),
        ("bullet_lines", s.bullet_lines > 0.9),
        ("ellipsis_lines", s.ellipsis_lines > 0.3),
    )
    return next((name for name, failed in rules if failed), None)


class QualityFilter(Step):
    """Drop documents that fail a quality rule; count failures per rule."""

    name = "quality"

    def __init__(self, cfg: CleanConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.failures: Counter[str] = Counter()

    def process(self, doc: Doc) -> Doc | None:
        rule = failed_rule(doc_stats(doc["text"], doc.get("lang", "en")), self.cfg)
        if rule is not None:
            self.failures[rule] += 1
            return None
        return doc

    def summary(self) -> dict:
        out = super().summary()
        out["failed_rule"] = dict(self.failures.most_common())
        out["thresholds"] = {"min_words": self.cfg.min_words, "max_words": self.cfg.max_words,
                             "mean_word_len": [self.cfg.min_mean_word_len,
                                               self.cfg.max_mean_word_len],
                             "max_symbol_ratio": self.cfg.max_symbol_ratio,
                             "min_alpha_words": self.cfg.min_alpha_words,
                             "min_stop_words": self.cfg.min_stop_words}
        return out


@register_step("quality", order=40)  # after langid: the stop-word rule uses the document's language
def _quality(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return QualityFilter(cfg) if cfg.quality else None
