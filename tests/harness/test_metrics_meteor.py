"""METEOR (NLTK, real WordNet 3.0) against NLTK's documented examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from nltk.translate.meteor_score import meteor_score

from harness.metrics import load_metric
from harness.metrics.meteor import load_wordnet
from harnesskit.errors import HarnessError

# nltk/translate/meteor_score.py docstring
HYP1 = ("It is a guide to action which ensures that the military always obeys the commands "
        "of the party")
REF1 = "It is a guide to action that ensures that the military will forever heed Party commands"
REF2 = ("It is the guiding principle which guarantees the military forces always being under "
        "the command of the Party")
REF3 = "It is the practical guide for the army always to heed the directions of the party"

# (references, hypothesis, published value, published tolerance): docstring and meteor.doctest
CASES = [
    ([REF1, REF2, REF3], HYP1, 0.6944, 5e-5),
    ([REF1], HYP1, 0.6944, 5e-5),
    (["this is a cat"], "non matching hypothesis", 0.0, 0.0),
    (["The candidate has no alignment to any of the references"], "John loves Mary", 0.0, 0.0),
    (["The cat sat on the mat"], "The cat sat on the mat", 0.9977, 1e-2),
    (["The cat sat on the mat"], "on the mat sat the cat", 0.5, 0.0),
    (["The cat sat on the mat"], "The cat was sat on the mat", 0.9654, 5e-5),
    (["create or update a vm set"], "creates or updates a virtual machine scale set", 0.7806, 5e-5),
]


@pytest.fixture(scope="module")
def wordnet():  # noqa: ANN201
    return load_wordnet()


@pytest.mark.parametrize("refs, hyp, expected, tol", CASES)
def test_nltk_examples(wordnet, refs: list[str], hyp: str, expected: float, tol: float) -> None:
    s = load_metric("meteor").compute([hyp], [refs], ci=False)
    assert s.score == pytest.approx(100 * expected, abs=100 * tol + 1e-9)
    direct = meteor_score([r.split() for r in refs], hyp.split(), wordnet=wordnet)
    assert s.score == pytest.approx(100 * direct, abs=1e-9)


def test_wordnet_is_3_0_and_in_signature(wordnet) -> None:
    assert wordnet.get_version() == "3.0"
    sig = load_metric("meteor").signature().format()
    assert "wordnet:3.0" in sig and "alpha:0.9|beta:3|gamma:0.5" in sig


def test_synonym_stage_raises_the_score(wordnet) -> None:
    class NoSynonyms:
        """A WordNet with no synsets: the synonym stage finds nothing."""

        def synsets(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return []

    # NLTK matches synonyms after stemming, so the pair must survive Porter unchanged.
    hyp, ref = "the cat sat on the sofa".split(), "the cat sat on the couch".split()
    with_wn = load_metric("meteor").per_example([" ".join(hyp)], [[" ".join(ref)]])[0]
    without = 100 * meteor_score([ref], hyp, wordnet=NoSynonyms())
    assert with_wn > without + 10
    assert with_wn == pytest.approx(100 * meteor_score([ref], hyp, wordnet=wordnet))


def test_options_change_the_number(wordnet) -> None:
    hyp, refs = ["on the mat sat the cat"], [["The cat sat on the mat"]]
    base = load_metric("meteor").compute(hyp, refs, ci=False).score
    other = load_metric("meteor", gamma=0.2).compute(hyp, refs, ci=False).score
    assert other > base
    direct = meteor_score([refs[0][0].split()], hyp[0].split(), wordnet=wordnet, gamma=0.2)
    assert other == pytest.approx(100 * direct, abs=1e-9)
    tok13a = load_metric("meteor").compute(["the cat, sat."], [["the cat sat"]], ci=False)
    ws = load_metric("meteor", tokenize="whitespace").compute(["the cat, sat."],
                                                             [["the cat sat"]], ci=False)
    assert tok13a.score > ws.score
    assert "tok:13a" in tok13a.signature and "tok:whitespace" in ws.signature


def test_missing_wordnet_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(HarnessError, match="WordNet.*make setup.*wordnet-base"):
        load_metric("meteor").compute(["a cat"], [["a cat"]])
