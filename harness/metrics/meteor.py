"""METEOR through NLTK, with the real WordNet 3.0 for the synonym stage.

``nltk.translate.meteor_score.meteor_score`` aligns exact matches, Porter
stems, then WordNet synonyms, and takes the best reference. It scores token
lists: strings are tokenized with sacrebleu's ``13a`` tokenizer by default,
which splits punctuation off words ("sofa." would otherwise match neither
"sofa" nor its synonyms), or split on whitespace only for text that is
already tokenized (``tokenize="whitespace"``). Options ``alpha``, ``beta``, ``gamma`` are NLTK's. The
corpus score is 100 times the mean of the sentence scores.

Without WordNet the synonym stage would silently vanish and the numbers
change, so a missing or wrong WordNet is an error that says how to install it
(``make setup`` copies Debian's ``wordnet-base`` into ``.venv/nltk_data``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.metrics.base import MeanMetric, Signature, library_version, progress, register_metric
from harnesskit.errors import HarnessError

WORDNET_HINT = ("run `make setup` (it copies Debian's WordNet into .venv/nltk_data; "
                "as root: apt install wordnet-base wordnet-sense-index, then "
                "python -m harness.resources)")


def load_wordnet() -> Any:
    """NLTK's WordNet reader, checked to be WordNet 3.0; HarnessError if missing."""
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError as exc:
        raise HarnessError("METEOR needs WordNet 3.0 for NLTK and it is not installed",
                           hint=WORDNET_HINT) from exc
    from nltk.corpus import wordnet

    try:
        version = _wordnet_version(wordnet)
    except (LookupError, OSError) as exc:
        raise HarnessError(f"NLTK's WordNet could not be read ({exc})", hint=WORDNET_HINT) from exc
    if version != "3.0":
        raise HarnessError(f"METEOR expects WordNet 3.0, found {version}", hint=WORDNET_HINT)
    return wordnet


_VERSIONS: dict[int, str] = {}


def _wordnet_version(reader: Any) -> str:
    """The reader's WordNet version, read once (get_version scans a data file)."""
    key = id(reader)
    if key not in _VERSIONS:
        _VERSIONS[key] = reader.get_version()
    return _VERSIONS[key]


def _tokenizer(name: str) -> Any:
    if name == "whitespace":
        return str.split
    if name == "13a":
        from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

        tok = Tokenizer13a()
        return lambda text: tok(text).split()
    raise HarnessError(f"meteor: unknown tokenize={name!r}", hint="use whitespace or 13a")


@register_metric
class Meteor(MeanMetric):
    """METEOR (NLTK), best over references, corpus = mean of sentences, 0-100."""

    name = "meteor"
    defaults: dict[str, Any] = {"alpha": 0.9, "beta": 3.0, "gamma": 0.5, "tokenize": "13a"}

    def _check_options(self) -> None:
        for key in ("alpha", "beta", "gamma"):
            value = self.options[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise HarnessError(f"meteor: {key} must be a number, got {value!r}")
        if not 0.0 <= self.options["alpha"] <= 1.0:
            raise HarnessError(f"meteor: alpha must be in [0, 1], got {self.options['alpha']}")
        self._tokenize = _tokenizer(self.options["tokenize"])

    def _example_rows(self, predictions: list[str], references: list[list[str]]) -> np.ndarray:
        from nltk.translate.meteor_score import meteor_score

        wordnet = load_wordnet()
        alpha, beta, gamma = (float(self.options[k]) for k in ("alpha", "beta", "gamma"))
        tok = self._tokenize
        pairs = progress(zip(predictions, references), len(predictions), "meteor")
        scores = [meteor_score([tok(r) for r in refs], tok(pred), wordnet=wordnet,
                               alpha=alpha, beta=beta, gamma=gamma) for pred, refs in pairs]
        return np.column_stack([100.0 * np.array(scores, dtype=np.float64), np.ones(len(scores))])

    def signature(self) -> Signature:
        o = self.options
        return Signature(self.name, (
            ("alpha", f"{float(o['alpha']):g}"), ("beta", f"{float(o['beta']):g}"),
            ("gamma", f"{float(o['gamma']):g}"), ("tok", o["tokenize"]), ("case", "lc"),
            ("stem", "porter"), ("wordnet", "3.0"), ("refs", "max"), ("agg", "mean"),
            ("nltk", library_version("nltk")),
        ))
