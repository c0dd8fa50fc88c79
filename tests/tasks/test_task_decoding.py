"""Decoding: a beam of width 1 equals greedy; the KV cache changes nothing."""

from __future__ import annotations

import pytest
import torch

from tasks.decoding import beam_search, greedy
from tasks.modelref import resolve_model
from tasks.models import load_backbone

PROMPTS = ["the house 3 is big.", "how are you 7?", "Some words come first. The cat"]


@pytest.fixture(scope="module")
def gpt(tiny_gpt):
    return load_backbone(resolve_model(tiny_gpt))


@pytest.mark.parametrize("prompt", PROMPTS)
def test_beam_width_one_is_greedy(gpt, prompt):
    ids = gpt.encode(prompt)
    eos = gpt.special["eos"]
    g = greedy(gpt.module, ids, max_new_tokens=20, eos_id=eos)
    b = beam_search(gpt.module, ids, beams=1, max_new_tokens=20, eos_id=eos)
    assert g and b == g


@pytest.mark.parametrize("prompt", PROMPTS[:2])
def test_kv_cache_equals_no_cache(gpt, prompt):
    ids = gpt.encode(prompt)
    eos = gpt.special["eos"]
    assert greedy(gpt.module, ids, max_new_tokens=24, eos_id=eos, use_cache=True) == \
        greedy(gpt.module, ids, max_new_tokens=24, eos_id=eos, use_cache=False)
    assert beam_search(gpt.module, ids, beams=3, max_new_tokens=10, eos_id=eos, use_cache=True) == \
        beam_search(gpt.module, ids, beams=3, max_new_tokens=10, eos_id=eos, use_cache=False)


def test_cached_logits_match_full_forward(gpt):
    ids = torch.tensor([gpt.encode(PROMPTS[0])])
    with torch.no_grad():
        full = gpt.module.logits(gpt.module.hidden(ids)[0])
        h1, past = gpt.module.hidden(ids[:, :-3])
        h2, _ = gpt.module.hidden(ids[:, -3:], past)
        inc = gpt.module.logits(torch.cat([h1, h2], dim=1))
    assert torch.allclose(full, inc, atol=1e-5)


def test_beam_stops_at_eos(gpt):
    ids = gpt.encode(PROMPTS[1])
    with torch.no_grad():
        logits = gpt.module.logits(gpt.module.hidden(torch.tensor([ids]))[0])[0, -1]
    eos = int(logits.argmax())  # the model's first choice, declared the end token
    assert greedy(gpt.module, ids, max_new_tokens=10, eos_id=eos) == []
    assert beam_search(gpt.module, ids, beams=1, max_new_tokens=10, eos_id=eos) == []
    assert len(beam_search(gpt.module, ids, beams=4, max_new_tokens=10, eos_id=eos)) <= 10
