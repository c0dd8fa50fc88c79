"""EDA data augmentation (Wei & Zou 2019) for fine-tuning data: a seeded, counted step.

Four operations on the words of a text, each changing about ``alpha`` of them:
synonym replacement (WordNet 3.0 through NLTK, lemmas of the word's synsets;
stop words are never replaced), random insertion (a synonym of a random word
at a random place), random swap of two words, and random deletion (each word
with probability ``alpha``; one word always stays). As in the paper, each
augmented copy applies one operation, chosen at random. Everything random comes
from a ``random.Random`` seeded by the caller, so a seed gives the same copies.

Two ways in: the opt-in cleaning step ``eda`` (``clean.extra_steps=eda``), which
rewrites each document once, and :func:`augment_texts`, which the tasks'
fine-tuning uses (``--ft eda=N``: N augmented copies per training example).
Both count every operation for the report.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from typing import Any

from harnesskit.errors import HarnessError
from pretrain.data.step import CleanConfig, Doc, Step, register_step

OPS = ("synonym", "insert", "swap", "delete")
# The stop list of the EDA paper's code (NLTK's English list, shortened): never replaced.
STOP = frozenset("""i me my myself we our ours ourselves you your yours yourself yourselves he
him his himself she her hers herself it its itself they them their theirs themselves what which
who whom this that these those am is are was were be been being have has had having do does did
doing a an the and but if or because as until while of at by for with about against between into
through during before after above below to from up down in out on off over under again further
then once here there when where why how all any both each few more most other some such no nor
not only own same so than too very s t can will just don should now""".split())


@functools.lru_cache(maxsize=1)
def _wordnet() -> Any:
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        raise HarnessError("EDA needs WordNet 3.0 for synonym replacement and it is not installed",
                           hint="run `make setup` (it copies Debian's WordNet into "
                                ".venv/nltk_data)") from None
    from nltk.corpus import wordnet

    return wordnet


@functools.lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """WordNet lemmas sharing a synset with ``word`` (lower case, not the word), sorted."""
    found = {lemma.name().replace("_", " ").lower()
             for syn in _wordnet().synsets(word) for lemma in syn.lemmas()}
    found.discard(word.lower())
    return tuple(sorted(w for w in found if w.replace(" ", "").replace("-", "").isalpha()))


class EDA(Step):
    """One EDA operation per call, on whitespace-separated words; counts in ``extra``."""

    name = "eda"

    def __init__(self, alpha: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        if not 0.0 < alpha <= 0.5:
            raise ValueError("eda alpha must be in (0, 0.5]")
        self.alpha, self.rng = alpha, random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.extra = {"seed": seed, "alpha": alpha, "operations": self.counts}

    def augment(self, text: str) -> str:
        """``text`` with one randomly chosen operation applied."""
        words = text.split()
        if not words:
            return text
        n = max(1, round(self.alpha * len(words)))
        op = self.rng.choice(OPS)
        out = getattr(self, f"_{op}")(list(words), n)
        self.counts[f"{op}_texts"] += 1
        return " ".join(out)

    def process(self, doc: Doc) -> Doc | None:
        return {**doc, "text": self.augment(doc["text"])}

    def _synonym(self, words: list[str], n: int) -> list[str]:
        spots = [i for i, w in enumerate(words) if w.lower() not in STOP and w.isalpha()]
        self.rng.shuffle(spots)
        done = 0
        for i in spots:
            options = synonyms(words[i].lower())
            if options:
                words[i] = self.rng.choice(options)
                done += 1
                if done == n:
                    break
        self.counts["words_replaced"] += done
        return words

    def _insert(self, words: list[str], n: int) -> list[str]:
        for _ in range(n):
            for _ in range(10):  # a few tries to find a word with a synonym
                options = synonyms(self.rng.choice(words).lower())
                if options:
                    words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(options))
                    self.counts["words_inserted"] += 1
                    break
        return words

    def _swap(self, words: list[str], n: int) -> list[str]:
        if len(words) > 1:
            for _ in range(n):
                i, j = self.rng.sample(range(len(words)), 2)
                words[i], words[j] = words[j], words[i]
                self.counts["words_swapped"] += 2
        return words

    def _delete(self, words: list[str], n: int) -> list[str]:
        kept = [w for w in words if self.rng.random() > self.alpha]
        kept = kept or [self.rng.choice(words)]
        self.counts["words_deleted"] += len(words) - len(kept)
        return kept

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "operations": dict(sorted(self.counts.items()))}


@register_step("eda", order=90, opt_in=True)
def _eda(cfg: CleanConfig, test_texts: list[str] | None) -> Step:
    return EDA(cfg.eda_alpha, cfg.eda_seed)


def augment_texts(texts: list[str], copies: int, *, seed: int, alpha: float = 0.1
                  ) -> tuple[list[tuple[int, str]], dict[str, Any]]:
    """``copies`` augmented versions of each text: ((index of the original, text) rows, report).

    The report counts texts in and out and every operation (the same counts as the step's).
    """
    eda = EDA(alpha, seed)
    rows = [(i, eda.augment(t)) for i, t in enumerate(texts) for _ in range(copies)]
    report = {"method": "eda", "seed": seed, "alpha": alpha, "copies": copies,
              "texts_in": len(texts), "texts_added": len(rows),
              "operations": dict(sorted(eda.counts.items()))}
    return rows, report
