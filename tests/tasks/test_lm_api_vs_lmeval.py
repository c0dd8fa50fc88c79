"""hf: scoring equals lm-evaluation-harness's ``hf`` model on the same folder: rolling
log-likelihood (bits per byte) within 1e-6 relative, on short documents with our default
windows and on long ones with lm-eval's disjoint windows; multiple-choice decisions
(acc, acc_norm, acc_bytes) identical question by question."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lm_fixtures import save_tiny

pytest.importorskip("lm_eval")

SHORT = ["The cat sat on the mat.", "A dog ran in the park. Shakespeare wrote plays.",
         "Python is a programming language", "short"]
LONG = ["The cat sat on the mat. A dog ran in the park. " * 9,
        "Question: what is two plus two? Answer: four. " * 12]
QUESTIONS = [("Question: what is two plus two?\nAnswer:", [" four.", " five", " a dog", " cat"]),
             ("The cat sat on the", [" mat", " park", " programming language"]),
             ("", [" Python", " Shakespeare"]),
             ("A dog ran in the ", ["park.", "mat.", "language"])]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from lm_eval.models.huggingface import HFLM

    from tasks.lm_api import load_lm

    path = save_tiny(tmp_path_factory.mktemp("parity") / "gpt2", "gpt2")
    theirs = HFLM(pretrained=str(path), device="cpu", batch_size=3, dtype="float32")
    return load_lm(f"hf:{path}", device="cpu"), theirs


def _instances(kind: str, args: list[tuple]) -> list:
    from lm_eval.api.instance import Instance

    return [Instance(request_type=kind, doc={}, arguments=a, idx=i) for i, a in enumerate(args)]


def _bpb(total_logprob: float, text: str) -> float:
    return -total_logprob / (len(text.encode("utf-8")) * math.log(2))


@pytest.mark.parametrize("docs,window", [(SHORT, "overlap"), (SHORT, "disjoint"),
                                         (LONG, "disjoint")])
def test_rolling_bits_per_byte_equal_lmeval(models, docs, window):
    ours, theirs = models
    expected = theirs.loglikelihood_rolling(_instances("loglikelihood_rolling",
                                                       [(d,) for d in docs]))
    got = ours.loglikelihood_rolling(docs, window=window, batch_size=2)
    if docs is LONG:
        assert all(len(ours.tok_encode(d)) > 2 * ours.max_length for d in docs)
    for doc, g, e in zip(docs, got, expected):
        assert math.isclose(_bpb(sum(g["token_logprobs"]), doc), _bpb(e, doc), rel_tol=1e-6)


def test_multiple_choice_decisions_equal_lmeval(models):
    ours, theirs = models
    pairs = [(q, c) for q, cs in QUESTIONS for c in cs]
    expected = theirs.loglikelihood(_instances("loglikelihood", pairs))
    got = ours.loglikelihood(pairs, batch_size=5)
    for (lp_g, greedy_g), (lp_e, greedy_e) in zip(got, expected):
        assert math.isclose(lp_g, lp_e, rel_tol=1e-6, abs_tol=1e-6) and greedy_g == greedy_e
    a = 0
    for _, choices in QUESTIONS:
        mine = np.array([lp for lp, _ in got[a:a + len(choices)]])
        ref = np.array([lp for lp, _ in expected[a:a + len(choices)]])
        for norm in (np.ones(len(choices)), np.array([len(c) for c in choices]),
                     np.array([len(c.encode()) for c in choices])):
            assert int(np.argmax(mine / norm)) == int(np.argmax(ref / norm))
        a += len(choices)
