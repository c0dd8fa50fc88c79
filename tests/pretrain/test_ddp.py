"""DDP: two gloo processes under torchrun give the losses of one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_fixtures import make_corpus

SETS = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "tokenizer.vocab_size=300", "train.batch_size=8", "train.micro_batch_size=4",
        "train.max_steps=24", "train.eval_every=12", "train.ckpt_every=12", "train.log_every=1",
        "train.warmup_steps=4", "train.lr=3e-3", "train.precision=fp32"]



def args(corpus: Path, out: Path) -> list[str]:
    out_args = ["pretrain", "--preset", "tiny", "--arch", "gpt", "--corpus", str(corpus),
                "--out", str(out)]
    for s in SETS:
        out_args += ["--set", s]
    return out_args


def metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_two_gloo_processes_match_one(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    env = {**os.environ, "HARNESS_DATA_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "harness", *args(corpus, tmp_path / "one")],
                         env=env, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m", "harness"]
    two = subprocess.run([*torchrun, *args(corpus, tmp_path / "two")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert len(a) == len(b) == 24
    for ra, rb in zip(a, b):
        assert ra["step"] == rb["step"] and ra["tokens"] == rb["tokens"]
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-4, abs=1e-5), ra["step"]
        assert rb["grad_norm"] == pytest.approx(ra["grad_norm"], rel=1e-3, abs=1e-5)
    assert b[-1]["val_loss"] == pytest.approx(a[-1]["val_loss"], rel=1e-4)
    assert a[-1]["loss"] < a[0]["loss"] - 0.5  # it did learn
    # Only rank 0 wrote: one metrics file, one set of checkpoints, and a single summary line.
    assert sorted(p.name for p in (tmp_path / "two/checkpoints").iterdir()) == \
        ["step-0000012", "step-0000024"]
    assert two.stdout.count("checkpoint:") == 1
