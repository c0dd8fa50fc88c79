"""Language-modelling metrics and the sliding-window helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness.metrics import load_metric
from harnesskit.errors import HarnessError
from tasks.lm_base import sliding_windows


def _docs_from_logits(seed: int = 0) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
    """Two documents scored by random logits; returns docs, logits and targets (pooled)."""
    g = torch.Generator().manual_seed(seed)
    docs, all_logits, all_targets = [], [], []
    for length, text in ((7, "héllo wörld again"), (4, "short one")):
        logits = torch.randn(length, 11, generator=g)
        targets = torch.randint(0, 11, (length,), generator=g)
        logp = torch.log_softmax(logits, -1).gather(1, targets[:, None])[:, 0]
        docs.append({"token_logprobs": logp.tolist(),
                     "token_correct": (logits.argmax(-1) == targets).tolist(),
                     "n_bytes": len(text.encode()), "n_words": len(text.split())})
        all_logits.append(logits)
        all_targets.append(targets)
    return docs, torch.cat(all_logits), torch.cat(all_targets)


def test_lm_metrics_equal_torch_cross_entropy() -> None:
    docs, logits, targets = _docs_from_logits()
    ce = torch.nn.functional.cross_entropy(logits.double(), targets, reduction="mean").item()
    assert load_metric("cross_entropy").compute(docs, ci=False).score == pytest.approx(ce, abs=1e-6)
    ppl = load_metric("perplexity").compute(docs, ci=False)
    assert ppl.score == pytest.approx(math.exp(ce), rel=1e-6)
    n_bytes = sum(d["n_bytes"] for d in docs)
    bpb = load_metric("bits_per_byte").compute(docs, ci=False)
    assert bpb.score == pytest.approx(ce * len(targets) / n_bytes / math.log(2), abs=1e-6)
    acc = (logits.argmax(-1) == targets).double().mean().item() * 100
    assert load_metric("token_accuracy").compute(docs, ci=False).score == pytest.approx(acc)
    n_words = sum(d["n_words"] for d in docs)
    assert ppl.details["word_perplexity"] == pytest.approx(math.exp(ce * len(targets) / n_words))
    assert ppl.details["byte_perplexity"] == pytest.approx(2 ** bpb.score)
    assert ppl.details["n_tokens"] == 11 and ppl.details["n_docs"] == 2
    assert ppl.ci is None or ppl.ci[0] <= ppl.ci[1]


def test_lm_bad_inputs() -> None:
    m = load_metric("perplexity")
    with pytest.raises(HarnessError, match="not a per-document dict"):
        m.compute(["text"])
    with pytest.raises(HarnessError, match="lacks n_bytes"):
        m.compute([{"token_logprobs": [-1.0], "n_words": 1}])
    with pytest.raises(HarnessError, match="<= 0"):
        m.compute([{"token_logprobs": [0.5], "n_bytes": 1, "n_words": 1}])
    with pytest.raises(HarnessError, match="lacks token_correct"):
        load_metric("token_accuracy").compute([{"token_logprobs": [-1.0], "n_bytes": 1,
                                                "n_words": 1}])


def _hf_guide_spans(n: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """The loop of the Hugging Face perplexity guide, in target positions."""
    spans, prev_end = [], 0
    for begin in range(0, n, stride):
        end = min(begin + context, n)
        spans.append((begin, end, prev_end))
        prev_end = end
        if end == n:
            break
    return spans


@pytest.mark.parametrize("n, context, stride", [(10, 4, 2), (10, 4, 4), (3, 8, 4), (17, 5, 1),
                                                (0, 4, 2), (9, 3, 3)])
def test_sliding_windows(n: int, context: int, stride: int) -> None:
    spans = sliding_windows(n, context, stride)
    assert spans == _hf_guide_spans(n, context, stride)
    scored = [t for _, end, frm in spans for t in range(frm, end)]
    assert scored == list(range(n))  # every token exactly once, in order
    for start, end, frm in spans:
        assert end - start <= context
        if start > 0:
            assert frm - start >= context - stride  # left context of the newly scored tokens


def test_sliding_windows_examples_and_errors() -> None:
    assert sliding_windows(10, 4, 2) == [(0, 4, 0), (2, 6, 4), (4, 8, 6), (6, 10, 8)]
    with pytest.raises(HarnessError, match="stride"):
        sliding_windows(10, 4, 5)
    with pytest.raises(HarnessError, match="context"):
        sliding_windows(10, 0, 1)


def test_windowed_scoring_of_a_bigram_model_equals_full_scoring() -> None:
    # A model whose prediction depends only on the previous token loses nothing to windows.
    rng = np.random.default_rng(0)
    vocab, eos = 6, 0
    table = np.log(rng.dirichlet(np.ones(vocab), size=vocab))  # log P(next | prev)
    doc = rng.integers(1, vocab, 23).tolist()
    seq = [eos, *doc]
    full = [table[seq[i], seq[i + 1]] for i in range(len(doc))]
    windowed = []
    for start, end, frm in sliding_windows(len(doc), context=5, stride=3):
        inputs = seq[start:end]  # the token before each target
        logps = [table[tok, doc[start + k]] for k, tok in enumerate(inputs)]
        windowed.extend(logps[frm - start :])
    assert windowed == pytest.approx(full)
