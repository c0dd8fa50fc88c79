"""Trainer callbacks: told every step and its checkpoint, rows logged, training unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from corpus_fixtures import make_corpus

from harnesskit.config import apply_overrides
from pretrain.engine.presets import preset
from pretrain.engine.trainer import StepEnd, Trainer, pretrain

TINY = ["model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "model.dropout=0.1", "tokenizer.vocab_size=300", "train.batch_size=8",
        "train.micro_batch_size=8", "train.max_steps=12", "train.eval_every=6",
        "train.ckpt_every=4", "train.log_every=1", "train.warmup_steps=2", "train.eval_batches=1",
        "train.keep_last=10"]


def test_callbacks_see_every_step_log_rows_and_do_not_change_training(
        tmp_path: Path, monkeypatch) -> None:
    torch.set_num_threads(1)
    monkeypatch.setenv("HARNESS_PEAK_FLOPS", "1e12")  # skip measuring the matmul peak (MFU only)
    corpus = str(make_corpus(tmp_path / "corpus", n_docs=30))
    cfg = apply_overrides(preset("tiny", "gpt"), TINY)
    seen: list[StepEnd] = []

    def meddler(trainer: Trainer, event: StepEnd) -> dict | None:
        seen.append(event)
        torch.rand(1000)             # draws from the global RNG ...
        trainer.model.eval()         # ... and leaves the model in eval mode
        if event.step == 6:
            trainer.save(event.step, None)   # a checkpoint the schedule would not write
        return {"probe": event.step * 2} if event.step % 3 == 0 else None

    plain = pretrain(cfg, corpus=corpus, out=tmp_path / "plain")
    hooked = pretrain(cfg, corpus=corpus, out=tmp_path / "hooked", callbacks=[meddler])
    assert [e.step for e in seen] == list(range(1, 13))
    assert [e.step for e in seen if e.checkpoint] == [4, 8, 12]
    assert seen[-1].last and not seen[0].last and seen[-1].tokens == 12 * 8 * 32
    assert seen[3].checkpoint == tmp_path / "hooked" / "checkpoints" / "step-0000004"
    ckpts = sorted(p.name for p in (tmp_path / "hooked" / "checkpoints").iterdir())
    assert ckpts == ["step-0000004", "step-0000006", "step-0000008", "step-0000012"]
    rows = [json.loads(x) for x in (tmp_path / "hooked/metrics.jsonl").read_text().splitlines()]
    probes = [(r["step"], r["probe"], r["tokens"]) for r in rows if "probe" in r]
    assert probes == [(s, 2 * s, s * 8 * 32) for s in (3, 6, 9, 12)]
    # Dropout is on: a callback that drew random numbers or left eval mode would show here.
    final = "checkpoints/step-0000012/model.safetensors"
    assert (tmp_path / "plain" / final).read_bytes() == (tmp_path / "hooked" / final).read_bytes()
    assert plain.val_loss == hooked.val_loss
