"""BLEU, chrF and TER against sacrebleu's own published test vectors.

Each case is checked twice: against the value printed in sacrebleu's test
suite (github.com/mjpost/sacrebleu, test/test_bleu.py, test_sentence_bleu.py,
test_chrf.py, test_ter.py), to the precision it is printed with, and against
the installed sacrebleu called directly, to 1e-9.
"""

from __future__ import annotations

import pytest
import sacrebleu

from harness.metrics import load_metric

# test_bleu.py: the README example (references given as streams there).
_STREAMS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
_HYPS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
_REFS = [list(r) for r in zip(*_STREAMS)]

BLEU_CORPUS = [
    (_HYPS, {}, 48.530827),
    (["", "", ""], {}, 0.0),
    (_HYPS, {"tokenize": "none"}, 49.1919566),
    (_HYPS, {"tokenize": "13a"}, 48.530827),
    (_HYPS, {"tokenize": "intl"}, 43.91623493),
    (_HYPS, {"smooth_method": "none"}, 48.530827),
]


def _places(value: float) -> float:
    """Half a unit in the last printed place of a published value (at least 1e-6)."""
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return max(0.5 * 10.0 ** -decimals, 1e-6) * 1.0001


@pytest.mark.parametrize("hyps, opts, expected", BLEU_CORPUS)
def test_bleu_corpus_vectors(hyps: list[str], opts: dict, expected: float) -> None:
    s = load_metric("bleu", **opts).compute(hyps, _REFS, ci=False)
    assert s.score == pytest.approx(expected, abs=_places(expected))
    direct = sacrebleu.metrics.BLEU(**opts).corpus_score(hyps, _STREAMS).score
    assert s.score == pytest.approx(direct, abs=1e-9)


# test_sentence_bleu.py (issue #98 example), with effective_order=True.
_SYS = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
_REF = "producţia de zahăr brut se exprimă în zahăr alb;"
SENTENCE_BLEU = [
    ("exp", None, False, "13a", 8.493),
    ("none", None, False, "13a", 0.0),
    ("floor", None, False, "13a", 4.51688),
    ("floor", 0.5, False, "13a", 10.10),
    ("add-k", None, False, "13a", 14.882),
    ("add-k", 2, False, "13a", 21.389),
    ("exp", None, False, "none", 7.347),
    ("exp", None, False, "intl", 8.493),
    ("exp", None, False, "char", 40.8759),
    ("exp", None, True, "char", 42.0267),
]


@pytest.mark.parametrize("smooth, value, lower, tok, expected", SENTENCE_BLEU)
def test_sentence_bleu_vectors(smooth: str, value: float | None, lower: bool, tok: str,
                               expected: float) -> None:
    opts = dict(smooth_method=smooth, smooth_value=value, lowercase=lower, tokenize=tok,
                effective_order=True)
    m = load_metric("bleu", **opts)
    [per] = m.per_example([_SYS], [[_REF]])
    assert per == pytest.approx(expected, abs=1e-3)  # the published tolerance
    direct = sacrebleu.metrics.BLEU(**opts).sentence_score(_SYS, [_REF]).score
    assert per == pytest.approx(direct, abs=1e-9)
    assert m.compute([_SYS], [[_REF]], ci=False).score == pytest.approx(direct, abs=1e-9)


# test_chrf.py: corpus chrF with eps_smoothing (sacrebleu >= 2.0 defaults otherwise).
CHRF_EPS = [
    (["abcdefg"], ["hijklmnop"], 0.0),
    (["a"], ["b"], 0.0),
    ([""], ["b"], 0.0),
    (["aa"], ["ab"], 8.3333),
    (["a", "b"], ["a", "c"], 8.3333),
    (["a"], ["a"], 16.6667),
    (["a b c"], ["a b c"], 50.0),
    (["a b c"], ["abc"], 50.0),
    ([" risk assessment must be made of those who are qualified and expertise in the sector - "
      "these are the scientists ."],
     ["risk assessment has to be undertaken by those who are qualified and expert in that area - "
      "that is the scientists ."], 63.361730),
    ([" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
     ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."],
     64.1302698),
    (["Niemand hat die Absicht, eine Mauer zu errichten"],
     ["Niemand hat die Absicht, eine Mauer zu errichten"], 100.0),
]
CHRF_EFFECTIVE = [
    (["a"], ["a"], 100.0), ([""], ["reference"], 0.0), (["a b c"], ["abc"], 100.0),
    (["a", "b"], ["a", "c"], 50.0), (["aa"], ["ab"], 25.0),
]


@pytest.mark.parametrize("hyps, refs, expected", CHRF_EPS)
def test_chrf_vectors(hyps: list[str], refs: list[str], expected: float) -> None:
    opts = dict(char_order=6, word_order=0, beta=3, eps_smoothing=True)
    s = load_metric("chrf", **opts).compute(hyps, [[r] for r in refs], ci=False)
    assert s.score == pytest.approx(expected, abs=1e-4)  # the published tolerance
    direct = sacrebleu.metrics.CHRF(**opts).corpus_score(hyps, [refs]).score
    assert s.score == pytest.approx(direct, abs=1e-9)


@pytest.mark.parametrize("hyps, refs, expected", CHRF_EFFECTIVE)
def test_chrf_effective_order_vectors(hyps: list[str], refs: list[str], expected: float) -> None:
    s = load_metric("chrf", eps_smoothing=False).compute(hyps, [[r] for r in refs], ci=False)
    assert s.score == pytest.approx(expected, abs=1e-6)


def test_chrf_plus_plus_equals_sacrebleu() -> None:
    s = load_metric("chrf", word_order=2).compute(_HYPS, _REFS, ci=False)
    direct = sacrebleu.metrics.CHRF(word_order=2).corpus_score(_HYPS, _STREAMS)
    assert s.score == pytest.approx(direct.score, abs=1e-9)
    assert s.signature.startswith("chrf|nrefs:2|case:mixed|eff:yes|nc:6|nw:2|space:no|version:")


# test_ter.py
_TER_HYPS = [
    'wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen oder zu '
    'entfernen , damit das Bild ungefähr dieselbe Größe aufweist wie die andere Größe .',
    "wenn Sie alle Aufgaben im aktuellen Dokument aktualisieren möchten , wählen Sie im Menü des "
    'Aufgabenbedienfelds die Option " Alle Aufgaben aktualisieren . "',
    'klicken Sie auf der Registerkarte " Optionen " auf die Schaltfläche " Benutzerdefiniert " und '
    'geben Sie Werte für " Fehlerkorrektur-Level " und " Y / X-Verhältnis " ein .',
    "Sie können beispielsweise ein Dokument erstellen , das ein Auto über die Bühne enthält .",
    'wählen Sie im Dialogfeld " Neu aus Vorlage " eine Vorlage aus und klicken Sie auf " Neu . "',
]
_TER_REFS = [
    'wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen oder zu '
    "entfernen , damit die Darstellung des Bildes in einer anderen Größe beibehalten wird .",
    _TER_HYPS[1],
    'klicken Sie auf der Registerkarte " Optionen " auf die Schaltfläche " Benutzerdefiniert " und '
    'geben Sie für " Fehlerkorrektur-Level " und " Y / X-Verhältnis " niedrigere Werte ein .',
    "Sie können beispielsweise ein Dokument erstellen , das ein Auto enthalt , das sich über die "
    "Bühne bewegt .",
    _TER_HYPS[4],
]
TER = [
    (["aaaa bbbb cccc dddd"], ["aaaa bbbb cccc dddd"], 0.0),
    (["dddd eeee ffff"], ["aaaa bbbb cccc"], 100.0),
    ([""], ["a"], 100.0),
    (["d e f g h a b c"], ["a b c d e f g h"], 100.0 / 8),
    (_TER_HYPS, _TER_REFS, 13.6),
]


@pytest.mark.parametrize("hyps, refs, expected", TER)
def test_ter_vectors(hyps: list[str], refs: list[str], expected: float) -> None:
    s = load_metric("ter").compute(hyps, [[r] for r in refs], ci=False)
    assert s.score == pytest.approx(expected, abs=1e-3)  # the published tolerance
    direct = sacrebleu.metrics.TER().corpus_score(hyps, [refs]).score
    assert s.score == pytest.approx(direct, abs=1e-9)
    assert s.signature.startswith("ter|nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|")


def test_bootstrap_recomputes_bleu_from_resampled_stats() -> None:
    from harness.metrics.bootstrap import paired_bootstrap

    m = load_metric("bleu")
    lo, hi = m.compute(_HYPS, _REFS, n_bootstrap=200, seed=1).ci
    assert lo <= m.compute(_HYPS, _REFS, ci=False).score <= hi
    same = paired_bootstrap(m, _HYPS, _HYPS, _REFS, n=200)
    assert same["delta"] == 0.0 and same["ci"] == (0.0, 0.0) and same["p_value"] == 1.0
