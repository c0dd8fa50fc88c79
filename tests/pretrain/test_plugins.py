"""Registries of pretraining parts: names, close matches, the protocol checks, llama export."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from harnesskit.errors import HarnessError
from pretrain.engine.model import GPT, build_model
from pretrain.engine.plugins import ARCHS, OBJECTIVES, Architecture, check_architecture
from pretrain.engine.presets import ModelConfig, check_names, preset


def test_builtins_are_registered_like_plugins() -> None:
    assert {"gpt", "bert", "llama"} <= set(ARCHS.names())
    assert {"clm", "mlm", "simcse", "electra"} <= set(OBJECTIVES.names())
    assert ARCHS.get("llama").kind == "decoder" and ARCHS.get("bert").default_objective == "mlm"


@pytest.mark.parametrize("key,value,msg", [
    ("model.arch", "lama", "unknown architecture 'lama'; did you mean llama"),
    ("optim.name", "adamv", "unknown optimizer 'adamv'; did you mean adamw"),
    ("schedule.name", "cosin", "unknown schedule 'cosin'; did you mean cosine"),
    ("train.objective", "electro", "unknown objective 'electro'; did you mean electra"),
])
def test_unknown_names_list_close_matches(key: str, value: str, msg: str) -> None:
    from harnesskit.config import apply_overrides

    with pytest.raises(HarnessError) as info:
        check_names(apply_overrides(preset("tiny", "gpt"), [f"{key}={value}"]))
    assert str(info.value).startswith(msg)


def test_objective_must_fit_the_arch_kind() -> None:
    from harnesskit.config import apply_overrides

    with pytest.raises(HarnessError, match="trains encoder models, not the decoder 'llama'"):
        check_names(apply_overrides(preset("tiny", "llama"), ["train.objective=simcse"]))


def test_simcse_without_dropout_is_refused_before_any_work() -> None:
    from harnesskit.config import apply_overrides

    cfg = apply_overrides(preset("tiny", "bert"), ["train.objective=simcse", "model.dropout=0"])
    with pytest.raises(HarnessError, match="objective 'simcse': it needs dropout noise"):
        check_names(cfg)


def test_llama_refuses_an_odd_head_size_before_any_work() -> None:
    from harnesskit.config import apply_overrides

    odd = apply_overrides(preset("tiny", "llama"), ["model.n_embd=96", "model.n_head=32"])
    with pytest.raises(HarnessError, match="rotary positions need an even head size"):
        check_names(odd)
    check_names(preset("tiny", "llama"))  # the preset itself is fine


def test_protocol_is_checked_at_registration() -> None:
    class NoHead(torch.nn.Module):
        def hidden(self, idx, past=None): ...
        def forward(self, idx, targets=None): ...
        def num_params(self): ...

    class NoCache(GPT):
        def hidden(self, idx): ...  # type: ignore[override]

    bad = check_architecture("x", Architecture(name="x", kind="decoder", module=NoHead))
    assert bad == "NoHead lacks logits (see the decoder protocol in pretrain/engine/plugins.py)"
    assert "must take past=" in check_architecture(
        "x", Architecture(name="x", kind="decoder", module=NoCache))
    assert "kind 'rnn'" in check_architecture("x", Architecture(name="x", kind="rnn", module=GPT))
    assert "calls itself 'y'" in check_architecture("x", Architecture(name="y", kind="decoder",
                                                                      module=GPT))
    with pytest.raises(ValueError, match="architecture 'bad'"):
        ARCHS.add("bad", object())  # type: ignore[arg-type]
    assert "bad" not in ARCHS


def test_config_show_lists_what_is_installed() -> None:
    proc = subprocess.run([sys.executable, "-m", "harness", "config", "show", "--arch", "llama"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "optim.name" in out and "schedule.name" in out and "train.objective" in out
    for line in ("architectures:  bert, gpt, llama", "objectives:     clm, electra, mlm, simcse",
                 "optimizers:     adagrad, adamw, rmsprop"):
        assert line in out
    proc = subprocess.run([sys.executable, "-m", "harness", "pretrain", "--arch", "lama",
                           "--out", "/nonexistent/x"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "harness: error: unknown architecture 'lama'; did you mean llama? "
        "known architectures: bert, gpt, llama"]


def test_llama_exports_to_transformers_within_1e4(tmp_path) -> None:
    """LlamaForCausalLM from our export gives our logits (and our KV-cached hidden states)."""
    from transformers import LlamaForCausalLM

    from pretrain.engine.export import hf_model

    torch.manual_seed(0)
    cfg = ModelConfig(arch="llama", n_layer=2, n_head=4, n_embd=64, block_size=48, vocab_size=300)
    model = build_model(cfg).eval()
    with torch.no_grad():  # non-trivial norm gains, so a wrong mapping of them shows
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name == "norm.weight":
                p.uniform_(0.5, 1.5)
    hf = hf_model(model)
    hf.save_pretrained(tmp_path)
    hf = LlamaForCausalLM.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 300, (3, 48))
    with torch.no_grad():
        ours, _ = model(idx)
        theirs = hf(idx).logits
        h1, past = model.hidden(idx[:, :30])
        h2, _ = model.hidden(idx[:, 30:], past)
        cached = model.logits(torch.cat([h1, h2], 1))
    assert (ours - theirs).abs().max().item() < 1e-4
    assert (ours - cached).abs().max().item() < 1e-4
    assert model.num_params() == hf.num_parameters()
    gpt = build_model(replace(cfg, arch="gpt"))
    assert abs(model.num_params() / gpt.num_params() - 1) < 0.05  # a like-for-like comparison
