"""ROUGE against rouge-score's own test cases (google-research rouge/rouge_scorer_test.py).

The long strings are the package's test data (rouge/testdata/target.txt,
prediction.txt, pyrouge_files/*_multi.0.txt), whose expected values were
computed with the original ROUGE-1.5.5 Perl script.
"""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from harness.metrics import load_metric

TARGETS = [
    "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM "
    "EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L",
    "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m "
    "qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing "
    "UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN",
]
PREDICTIONS = [
    "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi",
    "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J "
    "XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD",
]
TARGET_MULTI = "\n".join([
    TARGETS[0], TARGETS[1],
    "NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion "
    "jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT",
    "vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing "
    "AwkeKbO 'DxqNOHBH qKtVvm OYJl mM",
]) + "\n"
PREDICTION_MULTI = "\n".join([
    PREDICTIONS[0], PREDICTIONS[1],
    "xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J",
    "VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO",
]) + "\n"

# (metric, use_stemmer, example, recall, precision, fmeasure), from rouge_scorer_test.py
AGAINST_ROUGE155 = [
    ("rouge1", False, 0, 0.40741, 0.68750, 0.51163),
    ("rouge1", False, 1, 0.40476, 0.65385, 0.50000),
    ("rouge1", True, 0, 0.40741, 0.68750, 0.51163),
    ("rouge1", True, 1, 0.42857, 0.69231, 0.52941),
    ("rouge2", False, 0, 0.30769, 0.53333, 0.39024),
    ("rouge2", False, 1, 0.29268, 0.48000, 0.36364),
    ("rouge2", True, 0, 0.30769, 0.53333, 0.39024),
    ("rouge2", True, 1, 0.29268, 0.48000, 0.36364),
    ("rougeL", False, 0, 0.40741, 0.68750, 0.51163),
    ("rougeL", False, 1, 0.40476, 0.65385, 0.50000),
]


@pytest.mark.parametrize("name, stem, i, recall, precision, fmeasure", AGAINST_ROUGE155)
def test_against_rouge155(name: str, stem: bool, i: int, recall: float, precision: float,
                          fmeasure: float) -> None:
    s = load_metric(name, use_stemmer=stem).compute([PREDICTIONS[i]], [[TARGETS[i]]], ci=False)
    # Published to 5 places (assertAlmostEqual(places=5)); scaled by 100 here.
    assert s.score == pytest.approx(100 * fmeasure, abs=5e-4)
    assert s.details["precision"] == pytest.approx(100 * precision, abs=5e-4)
    assert s.details["recall"] == pytest.approx(100 * recall, abs=5e-4)
    direct = rouge_scorer.RougeScorer([name], use_stemmer=stem).score(TARGETS[i], PREDICTIONS[i])
    assert s.score == pytest.approx(100 * direct[name].fmeasure, abs=1e-9)


def test_rougelsum_against_rouge155_with_stemming() -> None:
    s = load_metric("rougeLsum", use_stemmer=True).compute([PREDICTION_MULTI], [[TARGET_MULTI]],
                                                            ci=False)
    assert s.score == pytest.approx(47.205, abs=5e-4)
    assert s.details["recall"] == pytest.approx(36.538, abs=5e-4)
    assert s.details["precision"] == pytest.approx(66.667, abs=5e-4)
    assert "split:newline" in s.signature and "stem:yes" in s.signature


# (metric, target, prediction, fmeasure) from the small cases of rouge_scorer_test.py
SMALL = [
    ("rouge1", "testing one two", "testing", 1 / 2),
    ("rouge2", "testing one two", "testing one", 2 / 3),
    ("rougeL", "testing one two", "testing one", 4 / 5),
    ("rougeL", "testing one two", "testing two", 4 / 5),
    ("rouge1", "testing one two", "", 0.0),
    ("rougeLsum", "testing one two", "", 0.0),
    ("rougeLsum", "First sentence.\nSecond Sentence.", "Second sentence.\nFirst Sentence.", 1.0),
    ("rougeLsum", "First sentence. Second Sentence.", "Second sentence. First Sentence.", 0.5),
]


@pytest.mark.parametrize("name, target, prediction, fmeasure", SMALL)
def test_small_cases(name: str, target: str, prediction: str, fmeasure: float) -> None:
    s = load_metric(name, use_stemmer=True).compute([prediction], [[target]], ci=False)
    assert s.score == pytest.approx(100 * fmeasure, abs=1e-6)


def test_multi_reference_takes_best_f() -> None:
    # testRougeAllMulti: targets "first text" / "first something", prediction "text first".
    refs = [["first text", "first something"]]
    assert load_metric("rouge1").compute(["text first"], refs, ci=False).score == 100.0
    assert load_metric("rouge2").compute(["text first"], refs, ci=False).score == 0.0
    assert load_metric("rougeL").compute(["text first"], refs, ci=False).score == 50.0


def test_corpus_is_mean_of_examples() -> None:
    m = load_metric("rougeL")
    s = m.compute(PREDICTIONS, [[t] for t in TARGETS], ci=False)
    per = m.per_example(PREDICTIONS, [[t] for t in TARGETS])
    assert s.score == pytest.approx(sum(per) / 2, abs=1e-12)
    assert per == pytest.approx([51.163, 50.0], abs=5e-4)
