"""Model shapes, the KV cache, masking, schedules and weight-decay groups."""

from __future__ import annotations

import math

import pytest
import torch

from pretrain.engine.model import BERT, GPT, build_model
from pretrain.engine.objectives import Objective, distill_loss, mask_tokens, nsp_pairs
from pretrain.engine.optim import Schedule, build_optimizer, param_groups
from pretrain.engine.presets import ModelConfig, OptimConfig, RunConfig, ScheduleConfig, TrainConfig


def _gpt(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(ModelConfig(arch="gpt", n_layer=2, n_head=2, n_embd=32, block_size=16,
                           vocab_size=50, **kw)).eval()


def test_gpt_forward_shapes_and_initial_loss() -> None:
    model = _gpt()
    idx = torch.randint(0, 50, (3, 16))
    logits, loss = model(idx, torch.randint(0, 50, (3, 16)))
    assert logits.shape == (3, 16, 50)
    # A fresh model predicts close to uniform: loss near ln(V).
    assert abs(loss.item() - math.log(50)) < 0.3


def test_gpt_kv_cache_matches_full_pass() -> None:
    model = _gpt()
    idx = torch.randint(0, 50, (2, 12))
    full, _ = model.hidden(idx)
    h1, past = model.hidden(idx[:, :5])
    h2, past = model.hidden(idx[:, 5:9], past)
    h3, past = model.hidden(idx[:, 9:10], past)
    h4, past = model.hidden(idx[:, 10:], past)
    assert past[0][0].shape == (2, 2, 12, 16)
    torch.testing.assert_close(torch.cat([h1, h2, h3, h4], 1), full, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="block_size"):
        model.hidden(torch.zeros(1, 5, dtype=torch.long), past)


def test_gpt_is_causal() -> None:
    model = _gpt()
    a = torch.randint(0, 50, (1, 10))
    b = a.clone()
    b[0, 7:] = (b[0, 7:] + 1) % 50
    torch.testing.assert_close(model(a)[0][:, :7], model(b)[0][:, :7])
    assert not torch.allclose(model(a)[0][:, 7:], model(b)[0][:, 7:])


def test_bert_mask_and_nsp_head() -> None:
    torch.manual_seed(0)
    model = BERT(ModelConfig(arch="bert", n_layer=2, n_head=2, n_embd=32, block_size=16,
                             vocab_size=60, nsp=True)).eval()
    idx = torch.randint(5, 60, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, 6:] = 0
    h = model.hidden(idx, attention_mask=mask)
    other = idx.clone()
    other[1, 6:] = 7  # padding content must not change the real positions
    h2 = model.hidden(other, attention_mask=mask)
    torch.testing.assert_close(h[1, :6], h2[1, :6], atol=1e-5, rtol=1e-5)
    assert model.nsp_logits(h).shape == (2, 2)
    logits, loss = model(idx, targets=torch.full((2, 10), -100).index_fill(1, torch.tensor([3]), 9))
    assert logits.shape == (2, 10, 60) and loss.item() > 0


def test_mask_tokens_80_10_10() -> None:
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(5, 1000, (64, 256))
    idx[:, 0] = 2
    inputs, targets = mask_tokens(idx, vocab_size=1000, mask_id=4, special_ids=[0, 1, 2, 3, 4],
                                  prob=0.15, generator=g)
    picked = targets != -100
    assert not picked[:, 0].any()  # specials never masked
    assert abs(picked.float().mean().item() - 0.15) < 0.01
    masked = (inputs == 4) & picked
    same = (inputs == idx) & picked
    assert abs(masked.sum().item() / picked.sum().item() - 0.8) < 0.02
    assert abs(same.sum().item() / picked.sum().item() - 0.1 - 0.001) < 0.02
    assert torch.equal(targets[picked], idx[picked])
    assert torch.equal(inputs[~picked], idx[~picked])


def test_nsp_pairs_layout() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.arange(8 * 20).view(8, 20) + 10
    ids, types, labels = nsp_pairs(w, cls_id=2, sep_id=3, generator=g)
    assert ids.shape == w.shape and (ids[:, 0] == 2).all() and (ids[:, -1] == 3).all()
    assert set(labels.tolist()) == {0, 1}
    assert types[:, 0].eq(0).all() and types[:, -1].eq(1).all()
    keep = labels == 0
    torch.testing.assert_close(ids[keep, 10], w[keep, 8])  # continuation kept


def test_distill_loss_limits() -> None:
    s = torch.randn(4, 10)
    hard = torch.tensor(1.5)
    assert distill_loss(s, s, hard, alpha=0.3, temperature=2.0).item() == pytest.approx(0.45)
    assert distill_loss(s, s + torch.randn(4, 10), hard, alpha=0.3, temperature=2.0) > 0.45


def test_objective_with_teacher_and_sparse_mlm_head() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="bert", n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=30)
    student, teacher = build_model(cfg), build_model(cfg)
    idx = torch.randint(5, 30, (2, 8))
    targets = torch.full_like(idx, -100)
    targets[:, 2] = idx[:, 2]
    loss, hard = Objective(student)(idx, targets)
    _, ref = student(idx, targets)
    torch.testing.assert_close(hard, ref)
    kd, _ = Objective(student, teacher=teacher, alpha=0.5)(idx, targets)
    assert kd.item() != loss.item()
    assert all(p.grad is None for p in teacher.parameters())


def test_no_decay_on_norms_biases_embeddings() -> None:
    model = _gpt()
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].endswith("weight") and "ln" not in names[id(p)] for p in decay["params"])
    assert any(names[id(p)] == "wte.weight" for p in no_decay["params"])
    assert len(decay["params"]) == 2 * 4  # c_attn, c_proj, c_fc, c_proj per layer
    for name in ("adamw", "rmsprop", "adagrad"):
        opt = build_optimizer(model, RunConfig(optim=OptimConfig(name=name)))
        assert opt.param_groups[1]["weight_decay"] == 0.0


@pytest.mark.parametrize("kind", ["cosine", "cosine_restarts", "cyclic", "linear", "constant"])
def test_schedules(kind: str) -> None:
    s = Schedule.from_config(RunConfig(
        schedule=ScheduleConfig(name=kind),
        train=TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110, cycle_steps=20)))
    assert s(0) == pytest.approx(0.1) and s(9) == pytest.approx(1.0)
    values = [s(i) for i in range(10, 110)]
    assert all(0.1 - 1e-9 <= v <= 1.0 + 1e-9 for v in values)
    if kind in ("cosine", "linear"):
        assert values == sorted(values, reverse=True) and values[-1] == pytest.approx(0.1, abs=0.01)
    if kind == "cosine_restarts":
        assert s(30) == pytest.approx(1.0) and s(29) < 0.2
    if kind == "cyclic":
        assert s(10) == pytest.approx(1.0) and s(20) == pytest.approx(0.1) and s(30) == pytest.approx(1.0)
