"""The model interface (tasks.lm_api): our gpt, its HF export and tiny hf: Llama / GPT-2
answer the same requests with the same numbers, whatever the batch size."""

from __future__ import annotations

import math

import pytest
from lm_fixtures import save_tiny

from harnesskit.errors import HarnessError
from tasks.lm_api import NotApplicable, load_lm, rolling_windows

REQS = [("The cat sat on", " the mat"), ("The cat sat on", " a dog"), ("The cat sat on", " x"),
        ("Question: what is two plus two?\nAnswer:", " four."), ("", "Python"),
        ("A dog ran " * 12, " in the park and far away")]
DOCS = ["The cat sat on the mat. " * 12, "short", "Python is a programming language. " * 4]
GEN = [("The cat", {"until": ["\n"], "max_gen_toks": 8}),
       ("Question: what is two plus two?\nAnswer:", {"until": ["."], "max_gen_toks": 6}),
       ("A", {"max_gen_toks": 5}), ("The dog", {"max_gen_toks": 4, "num_beams": 3})]


@pytest.fixture(scope="module")
def tiny_hf_models(tmp_path_factory, tiny_gpt) -> dict[str, str]:
    from pretrain.engine.export import export_hf

    root = tmp_path_factory.mktemp("lm-api")
    return {"gpt": tiny_gpt, "export": f"hf:{export_hf(tiny_gpt, root / 'export')}",
            "llama": f"hf:{save_tiny(root / 'llama', 'llama')}",
            "gpt2": f"hf:{save_tiny(root / 'gpt2', 'gpt2')}"}


def _all(lm, bs):  # type: ignore[no-untyped-def]
    ll = lm.loglikelihood(REQS, batch_size=bs)
    roll = {w: lm.loglikelihood_rolling(DOCS, window=w, batch_size=bs)
            for w in ("overlap", "disjoint")}
    return ll, roll, lm.generate_until(GEN, batch_size=bs)


def _close(a, b, rel=1e-6):  # type: ignore[no-untyped-def]
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-5)


def test_hf_export_scores_like_the_native_checkpoint(tiny_hf_models):
    native, hf = load_lm(tiny_hf_models["gpt"], device="cpu"), load_lm(tiny_hf_models["export"],
                                                                        device="cpu")
    assert (native.kind, hf.kind) == ("gpt", "hf-causal") and native.eot_id == hf.eot_id
    (ll_a, roll_a, gen_a), (ll_b, roll_b, gen_b) = _all(native, 3), _all(hf, 3)
    assert [g for _, g in ll_a] == [g for _, g in ll_b]
    assert all(_close(x, y) for (x, _), (y, _) in zip(ll_a, ll_b))
    for w in roll_a:
        for da, db in zip(roll_a[w], roll_b[w]):
            assert len(da["token_logprobs"]) == len(db["token_logprobs"])
            assert _close(sum(da["token_logprobs"]), sum(db["token_logprobs"]))
            assert da["token_correct"] == db["token_correct"]
    assert gen_a == gen_b


@pytest.mark.parametrize("name", ["gpt", "llama", "gpt2"])
def test_every_path_is_independent_of_batch_size(tiny_hf_models, name):
    lm = load_lm(tiny_hf_models[name], device="cpu")
    ref = _all(lm, 1)
    for bs in (3, 16):
        ll, roll, gen = _all(lm, bs)
        assert [g for _, g in ll] == [g for _, g in ref[0]]
        assert all(_close(x, y) for (x, _), (y, _) in zip(ll, ref[0]))
        for w in roll:
            assert all(_close(sum(a["token_logprobs"]), sum(b["token_logprobs"]))
                       for a, b in zip(roll[w], ref[1][w]))
        assert gen == ref[2]


def test_shared_context_equals_separate_requests(tiny_hf_models):
    """A context run once for all its continuations scores as each pair alone."""
    lm = load_lm(tiny_hf_models["llama"], device="cpu")
    together = lm.loglikelihood(REQS[:3], batch_size=16)
    alone = [lm.loglikelihood([r], batch_size=1)[0] for r in REQS[:3]]
    assert all(_close(a[0], b[0]) and a[1] == b[1] for a, b in zip(together, alone))


def test_rolling_windows_score_every_token_once():
    ids = list(range(1, 30))
    for window in ("overlap", "disjoint"):
        wins = rolling_windows(ids, 0, 8, window=window)
        assert [t for _, tgt in wins for t in tgt] == ids
        assert all(len(inp) <= 8 and len(tgt) <= len(inp) for inp, tgt in wins)
    # lm-evaluation-harness's last window reaches back to a full context
    assert len(rolling_windows(ids, 0, 8, window="disjoint")[-1][0]) == 8


def test_encoders_say_what_they_cannot_do(tiny_bert):
    lm = load_lm(tiny_bert, device="cpu")
    roll = lm.loglikelihood_rolling(["The cat sat on the mat."])
    assert roll[0]["token_logprobs"] and all(x <= 0 for x in roll[0]["token_logprobs"])
    assert len(lm.loglikelihood([("The cat sat", " on the mat")])) == 1
    with pytest.raises(NotApplicable):
        lm.generate_until([("The cat", {"max_gen_toks": 3})])


def test_overlap_windows_golden_and_bad_stride():
    """Every token scored once, each with at least context - stride tokens before it."""
    wins = rolling_windows(list(range(1, 11)), 0, 5, window="overlap", stride=2)
    assert wins == [([0, 1, 2, 3], [1, 2, 3, 4]), ([2, 3, 4, 5], [5, 6]),
                    ([4, 5, 6, 7], [7, 8]), ([6, 7, 8, 9], [9, 10])]
    with pytest.raises(HarnessError, match="stride must be in 1..4"):
        rolling_windows(list(range(1, 11)), 0, 5, window="overlap", stride=5)


@pytest.mark.parametrize("name", ["gpt", "gpt2"])
def test_generation_longer_than_the_context_generates_what_fits(tiny_hf_models, name):
    """max_gen_toks beyond the model's context (a 40-token zero-shot answer from a model of
    block size 32) gives what fits, greedy and beam, instead of a position error."""
    lm = load_lm(tiny_hf_models[name], device="cpu")
    n = lm.max_length + 8
    reqs = [("The cat sat on the mat " * 30, {"max_gen_toks": n}), ("A", {"max_gen_toks": n}),
            ("The dog", {"max_gen_toks": n, "num_beams": 2})]
    out = lm.generate_until(reqs, batch_size=2)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert out == lm.generate_until(reqs, batch_size=1)


def test_gpt2_gelu_runs_fused_and_scores_as_transformers(tiny_hf_models):
    """gelu_new is swapped for torch's fused tanh GELU (the same function): logits equal
    transformers' own forward to float rounding, with and without building a KV cache."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.activations import GELUTanh, NewGELUActivation

    lm = load_lm(tiny_hf_models["gpt2"], device="cpu")
    kinds = {type(m) for m in lm.model.m.modules()}
    assert GELUTanh in kinds and NewGELUActivation not in kinds
    ref = AutoModelForCausalLM.from_pretrained(tiny_hf_models["gpt2"].removeprefix("hf:")).eval()
    assert any(type(m) is NewGELUActivation for m in ref.modules())
    ids = torch.tensor([lm.tok_encode(DOCS[0])[:40]])
    with torch.no_grad():
        expected = ref(ids).logits
        for cache in (True, False):
            h, past = lm.model.hidden(ids, cache=cache)
            assert (past is None) == (not cache)
            torch.testing.assert_close(lm.model.logits(h), expected, rtol=1e-5, atol=1e-5)


def test_repeated_requests_run_once_with_the_same_answer(tiny_hf_models, monkeypatch):
    """Zero-shot classification asks the same content-free prior once per example: a
    repeated request is scored once and every copy gets its answer."""
    lm = load_lm(tiny_hf_models["gpt"], device="cpu")
    pairs = [lm.encode_pair(c, x) for c, x in REQS]
    alone = lm.loglikelihood_tokens(pairs, batch_size=4)
    seen = []
    real = type(lm)._group_batch

    def counting(self, ctxs, groups, requests, out, batch_size):  # type: ignore[no-untyped-def]
        seen.extend(i for c in ctxs for i in groups[c])
        return real(self, ctxs, groups, requests, out, batch_size)

    monkeypatch.setattr(type(lm), "_group_batch", counting)
    repeated = lm.loglikelihood_tokens(pairs * 3, batch_size=4)
    assert len(seen) == len(pairs)
    assert repeated == alone * 3
