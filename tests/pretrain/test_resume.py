"""Exact resume: a run SIGKILLed mid-way and resumed ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_fixtures import make_corpus

SETS = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "model.dropout=0.1", "tokenizer.vocab_size=300", "train.batch_size=8",
        "train.micro_batch_size=4", "train.max_steps=60", "train.eval_every=20",
        "train.ckpt_every=20", "train.log_every=5", "train.warmup_steps=5", "train.keep_last=10"]



def command(corpus: Path, out: Path, arch: str, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "harness", "--quiet", "pretrain", "--preset", "tiny",
           "--arch", arch, "--corpus", str(corpus), "--out", str(out)]
    for s in SETS:
        cmd += ["--set", s]
    return cmd + list(extra)


def run_killed_then_resumed(corpus: Path, out: Path, arch: str, env: dict) -> None:
    """Start a run, SIGKILL it once its first checkpoint exists, then --resume it."""
    proc = subprocess.Popen(command(corpus, out, arch), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "latest").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert not (out / "checkpoints" / "step-0000060").exists()  # really killed mid-run
    done = subprocess.run(command(corpus, out, arch, "--resume"), env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("arch", ["gpt", pytest.param("bert", marks=pytest.mark.slow)])
def test_sigkill_then_resume_is_bit_identical(tmp_path: Path, arch: str) -> None:
    """Both archs use dropout; bert adds masking randomness (slow: run by make test-slow)."""
    corpus = make_corpus(tmp_path / "corpus")
    env = {**os.environ, "HARNESS_DATA_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    full, resumed = tmp_path / f"full-{arch}", tmp_path / f"resumed-{arch}"
    done = subprocess.run(command(corpus, full, arch), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run_killed_then_resumed(corpus, resumed, arch, env)
    final = "checkpoints/step-0000060"
    a = (full / final / "model.safetensors").read_bytes()
    b = (resumed / final / "model.safetensors").read_bytes()
    assert a == b, f"{arch}: resumed weights differ from the uninterrupted run"
    a = (full / final / "optimizer.safetensors").read_bytes()
    assert a == (resumed / final / "optimizer.safetensors").read_bytes()
    rows_a = [json.loads(x) for x in (full / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]
