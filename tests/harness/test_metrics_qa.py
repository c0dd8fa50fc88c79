"""SQuAD v1.1 exact match and token F1: the official script's behaviour."""

from __future__ import annotations

import pytest

from harness.metrics import load_metric
from harness.metrics.qa import normalize_answer, token_f1_score


@pytest.mark.parametrize("text, normalized", [
    ("The  Quick, brown fox!", "quick brown fox"),
    ("an apple a day", "apple day"),
    ("Theatre and THE thesis", "theatre and thesis"),  # articles only as whole words
    ("U.S. $5,000", "us 5000"),
    ("a-b", "ab"),  # hyphens are punctuation: removed, not split
    ("café — naïve", "café — naïve"),  # only ASCII punctuation is removed
])
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


def test_exact_match_max_over_references() -> None:
    m = load_metric("exact_match")
    s = m.compute(["the Denver Broncos", "Broncos", "Carolina"],
                  [["Denver Broncos"], ["Denver Broncos", "Broncos"], ["Denver Broncos"]], ci=False)
    assert s.score == pytest.approx(200 / 3, abs=1e-9)
    assert m.per_example(["Broncos"], [["Denver Broncos", "broncos."]]) == [100.0]


def test_token_f1_values() -> None:
    # precision 2/3, recall 1: F1 = 0.8
    assert token_f1_score("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    # bag of tokens: repeated tokens count once per match
    assert token_f1_score("the the cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)
    s = load_metric("token_f1").compute(["Denver Broncos won", "nothing"],
                                        [["Denver Broncos", "Broncos won it all"], ["x"]], ci=False)
    assert s.score == pytest.approx(40.0, abs=1e-9)


def test_v11_empty_answers() -> None:
    # v1.1: no shared token -> F1 0, even when both sides normalise to nothing; EM is 1.
    assert token_f1_score("the", "a") == 0.0
    assert load_metric("exact_match").per_example(["the"], [["a"]]) == [100.0]
