"""Checkpoint directories: round trip, manifest checks, pointers, rotation, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from harnesskit.errors import HarnessError
from pretrain.engine.checkpoint import (
    load_checkpoint,
    load_optimizer_state,
    point,
    resolve_checkpoint,
    rotate,
    save_model_checkpoint,
    step_dir,
    write_checkpoint_dir,
)
from pretrain.engine.model import build_model
from pretrain.engine.presets import ModelConfig, preset


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["to be or not to be, that is the question"] * 20, trainer)
    return tok


def _cfg(arch: str = "gpt"):
    cfg = preset("tiny", arch)
    return replace(cfg, model=ModelConfig(arch=arch, n_layer=1, n_head=2, n_embd=16,
                                          block_size=16, vocab_size=300))


@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_round_trip(tmp_path: Path, arch: str) -> None:
    torch.manual_seed(0)
    cfg = _cfg(arch)
    model = build_model(cfg.model)
    out = save_model_checkpoint(tmp_path / "ckpt", model, _tokenizer(), cfg, extra={"note": "x"})
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "config.json", "model.safetensors", "tokenizer.json", "train_state.json"]
    loaded = load_checkpoint(out)
    assert loaded.config == cfg and loaded.train_state["note"] == "x"
    assert not loaded.model.training and loaded.path == out
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert not list(tmp_path.glob(".tmp-*"))


def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = _cfg()
    model = build_model(cfg.model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randint(0, 300, (2, 8)), torch.randint(0, 300, (2, 8)))[1].backward()
    opt.step()
    ckpt = write_checkpoint_dir(tmp_path / "c", model, _tokenizer(), cfg, {"step": 1}, opt)
    opt2 = torch.optim.AdamW(model.parameters(), lr=5.0)
    load_optimizer_state(ckpt, opt2)
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k in a["state"][i]:
            assert torch.equal(a["state"][i][k], b["state"][i][k])


def test_corrupt_truncated_and_mismatched_are_refused(tmp_path: Path) -> None:
    cfg = _cfg()
    out = save_model_checkpoint(tmp_path / "c", build_model(cfg.model), _tokenizer(), cfg)
    weights = out / "model.safetensors"
    blob = weights.read_bytes()
    weights.write_bytes(blob[:-10])
    with pytest.raises(HarnessError, match="model.safetensors is truncated"):
        load_checkpoint(out)
    weights.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(HarnessError, match="model.safetensors fails its sha256"):
        load_checkpoint(out)
    weights.write_bytes(blob)
    (out / "MANIFEST.json").write_text("{not json")
    with pytest.raises(HarnessError, match="MANIFEST.json"):
        load_checkpoint(out)
    # Weights of another size under a valid manifest: config and weights disagree.
    other = replace(cfg, model=replace(cfg.model, n_embd=32))
    out2 = save_model_checkpoint(tmp_path / "d", build_model(other.model), _tokenizer(), other)
    conf = json.loads((out2 / "config.json").read_text())
    conf["run"]["model"]["n_embd"] = 16
    (out2 / "config.json").write_text(json.dumps(conf))
    manifest = json.loads((out2 / "MANIFEST.json").read_text())
    import hashlib
    manifest["files"]["config.json"] = {
        "sha256": hashlib.sha256((out2 / "config.json").read_bytes()).hexdigest(),
        "size": (out2 / "config.json").stat().st_size}
    (out2 / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(HarnessError, match="model.safetensors do not match"):
        load_checkpoint(out2)
    with pytest.raises(HarnessError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    with pytest.raises(HarnessError, match="not a checkpoint"):
        resolve_checkpoint(tmp_path)


def test_run_pointers_and_rotation(tmp_path: Path) -> None:
    cfg = _cfg()
    model, tok = build_model(cfg.model), _tokenizer()
    for step in (10, 20, 30, 40):
        ckpt = write_checkpoint_dir(step_dir(tmp_path, step), model, tok, cfg, {"step": step})
        if step == 20:
            point(tmp_path, "best", ckpt)
        point(tmp_path, "latest", ckpt)
        rotate(tmp_path, keep_last=2)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert kept == ["step-0000020", "step-0000030", "step-0000040"]
    assert resolve_checkpoint(tmp_path).name == "step-0000040"
    assert load_checkpoint(tmp_path).train_state["step"] == 40
