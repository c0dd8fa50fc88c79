"""Short real pretraining runs: logs, checkpoints, falling losses, divergence, distillation."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from corpus_fixtures import make_corpus

from harnesskit.config import apply_overrides
from harnesskit.errors import HarnessError
from pretrain.engine.checkpoint import load_checkpoint
from pretrain.engine.presets import preset
from pretrain.engine.trainer import pretrain

TINY = ["model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "tokenizer.vocab_size=300", "train.batch_size=8", "train.micro_batch_size=4",
        "train.max_steps=30", "train.eval_every=10", "train.ckpt_every=10", "train.log_every=1",
        "train.warmup_steps=5", "train.lr=3e-3", "train.eval_batches=2"]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and a busy shared CPU makes spinning
    OpenMP workers (torch is already loaded, so OMP_WAIT_POLICY cannot apply) very slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



def cfg_for(arch: str, *extra: str):
    return apply_overrides(preset("tiny", arch), [*TINY, *extra])


def test_gpt_run_layout_metrics_and_checkpoints(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    result = pretrain(cfg_for("gpt", "train.keep_last=1"), corpus=str(corpus), out=run)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 31))
    for key in ("step", "tokens", "loss", "lr", "grad_norm", "tokens_per_s", "mfu", "elapsed_s"):
        assert all(key in r for r in rows), key
    vals = [r for r in rows if "val_loss" in r]
    assert [r["step"] for r in vals] == [10, 20, 30]
    assert vals[-1]["val_loss"] < vals[0]["val_loss"] < math.log(300)
    assert 0 < vals[-1]["val_bpb"] < vals[0]["val_bpb"]
    assert rows[-1]["tokens"] == 30 * 8 * 32 and result.tokens == rows[-1]["tokens"]
    assert (run / "loss.png").stat().st_size > 1000
    # keep_last=1 plus the best one (the last here, so only one remains).
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000030"]
    assert (run / "latest").read_text().strip() == "checkpoints/step-0000030"
    loaded = load_checkpoint(run)
    assert loaded.train_state["step"] == 30 and loaded.config.model.vocab_size <= 300
    assert loaded.train_state["best_step"] == 30
    with pytest.raises(HarnessError, match="already holds a run"):
        pretrain(cfg_for("gpt"), corpus=str(corpus), out=run)
    with pytest.raises(HarnessError, match="config.json does not match.*model.n_layer=2"):
        pretrain(cfg_for("gpt", "model.n_layer=2"), corpus=str(corpus), out=run, resume=True)
    with pytest.raises(HarnessError, match="nothing to resume"):
        pretrain(cfg_for("gpt"), corpus=str(corpus), out=tmp_path / "new", resume=True)

    # Distillation into a narrower student reuses the teacher's tokenizer.
    student = pretrain(cfg_for("gpt", "model.n_embd=16", "train.max_steps=20"),
                       corpus=str(corpus), out=tmp_path / "student", teacher=str(run))
    assert load_checkpoint(student.run_dir).tokenizer.to_str() == loaded.tokenizer.to_str()
    srows = [json.loads(x) for x in (tmp_path / "student/metrics.jsonl").read_text().splitlines()]
    assert srows[-1]["loss"] < srows[0]["loss"]


def test_bert_mlm_with_nsp_loss_falls(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    result = pretrain(cfg_for("bert", "model.nsp=true", "train.max_steps=40", "train.lr=5e-3"),
                      corpus=str(corpus), out=tmp_path / "run")
    rows = [json.loads(x) for x in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    vals = [r["val_loss"] for r in rows if "val_loss" in r]
    assert vals[-1] < rows[0]["loss"] - 0.8, (rows[0]["loss"], vals)
    assert all(r.get("val_bpb") is None for r in rows)  # bits per byte are for causal LMs
    loaded = load_checkpoint(result.checkpoint)
    assert loaded.config.model.nsp and loaded.tokenizer.token_to_id("[MASK]") == 4


def test_divergence_stops_with_clear_error_and_keeps_good_checkpoint(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    cfg = cfg_for("gpt", "train.lr=1e30", "train.grad_clip=0", "train.warmup_steps=0",
                  "train.ckpt_every=1", "train.precision=fp32")
    with pytest.raises(HarnessError, match=r"diverged.*last good checkpoint is .*step-0000001"):
        pretrain(cfg, corpus=str(corpus), out=tmp_path / "run")
    loaded = load_checkpoint(tmp_path / "run")
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())


def test_micro_batches_and_global_batch_errors() -> None:
    from pretrain.engine.trainer import micro_batches

    cfg = preset("tiny")
    cfg = replace(cfg, train=replace(cfg.train, batch_size=32, micro_batch_size=8))
    assert micro_batches(cfg, 1) == (8, 4)
    assert micro_batches(cfg, 2) == (8, 2)
    assert micro_batches(cfg, 4) == (8, 1)
    assert micro_batches(cfg, 8) == (4, 1)
    with pytest.raises(HarnessError, match="not divisible by 3"):
        micro_batches(cfg, 3)


def test_init_from_starts_from_the_checkpoints_weights(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    first = tmp_path / "first"
    pretrain(cfg_for("gpt", "train.max_steps=2", "train.ckpt_every=2"), corpus=str(corpus),
             out=first)
    start = load_checkpoint(first).model.state_dict()
    # one step at a negligible rate: the second run's weights are the first run's
    second = tmp_path / "second"
    pretrain(cfg_for("gpt", "train.max_steps=1", "train.ckpt_every=1", "train.warmup_steps=0",
                     "train.lr=1e-12", "train.min_lr=1e-12", "train.weight_decay=0",
                     f"train.init_from={first}"), corpus=str(corpus), out=second)
    after = load_checkpoint(second).model.state_dict()
    assert all(torch.allclose(start[k], after[k], atol=1e-6) for k in start)
