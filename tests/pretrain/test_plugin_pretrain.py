"""examples/plugin-pretrain installed as a user would: its architecture and objective arrive
through entry points, train, resume bit-identically after SIGKILL, are evaluated on a task
and land on the leaderboard."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_fixtures import make_corpus
from test_resume import command, run_killed_then_resumed

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "harness"))
import test_evaluate_fixtures as fx  # noqa: E402


def install_example(tmp_path: Path) -> Path:
    """pip-install examples/plugin-pretrain into a folder (from a copy: pip builds in-tree)."""
    src = shutil.copytree(REPO / "examples" / "plugin-pretrain", tmp_path / "plugin-pretrain",
                          ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(src)],
                   check=True, cwd=tmp_path, capture_output=True)
    return target


def harness(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "--quiet", *args], env=env,
                          capture_output=True, text=True)


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example installed and on sys.path, the registries refilled around the test."""
    from pretrain.engine.plugins import ARCHS, OBJECTIVES

    monkeypatch.syspath_prepend(str(install_example(tmp_path)))
    ARCHS.reset()
    OBJECTIVES.reset()
    yield
    monkeypatch.undo()
    ARCHS.reset()
    OBJECTIVES.reset()


def test_plugin_registers_and_trains_in_process(plugin_site, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from harnesskit.config import apply_overrides
    from pretrain.engine.checkpoint import load_checkpoint
    from pretrain.engine.plugins import ARCHS, OBJECTIVES
    from pretrain.engine.presets import preset
    from pretrain.engine.trainer import pretrain

    assert ARCHS.origin("parallel") == "entry point parallel = harness_parallel_lm:PARALLEL"
    assert OBJECTIVES.get("noisy-clm").kinds == ("decoder",)
    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HARNESS_QUIET", "1")
    cfg = apply_overrides(preset("tiny", "parallel"), [
        "model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.block_size=32",
        "tokenizer.vocab_size=300", "train.batch_size=8", "train.max_steps=4",
        "train.eval_every=4", "train.ckpt_every=4", "train.warmup_steps=1"])
    res = pretrain(cfg, corpus=str(make_corpus(tmp_path / "corpus")), out=tmp_path / "run")
    assert res.steps == 4 and res.val_loss < 6.0  # ln(300) = 5.7 at random
    loaded = load_checkpoint(tmp_path / "run")
    assert type(loaded.model).__name__ == "ParallelLM" and loaded.config.model.arch == "parallel"
    # bf16 autocast, as for a built-in (emulated on a CPU without avx512_bf16, so 2 steps)
    bf16 = apply_overrides(cfg, ["train.precision=bf16", "train.max_steps=2",
                                 "train.eval_every=2", "train.ckpt_every=2"])
    res = pretrain(bf16, corpus=str(tmp_path / "corpus"), out=tmp_path / "run-bf16")
    assert res.steps == 2 and math.isfinite(res.val_loss)
    assert load_checkpoint(tmp_path / "run-bf16").config.train.precision == "bf16"


@pytest.mark.slow
def test_plugin_architecture_trains_resumes_and_is_ranked(tmp_path: Path) -> None:
    site = install_example(tmp_path)
    path = os.pathsep.join(p for p in (str(site), str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "HARNESS_DATA_HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1"}
    shown = harness(env, "config", "show", "--arch", "parallel")
    assert shown.returncode == 0, shown.stderr
    assert "parallel [entry point parallel = harness_parallel_lm:PARALLEL]" in shown.stdout
    assert "noisy-clm [entry point noisy-clm = harness_parallel_lm:NoisyCLM]" in shown.stdout

    corpus = make_corpus(tmp_path / "corpus")
    full, resumed = tmp_path / "full-parallel", tmp_path / "resumed-parallel"
    done = subprocess.run(command(corpus, full, "parallel"), env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    run_killed_then_resumed(corpus, resumed, "parallel", env)
    final = "checkpoints/step-0000060"
    for name in ("model.safetensors", "optimizer.safetensors"):
        assert (full / final / name).read_bytes() == (resumed / final / name).read_bytes(), name
    assert '"objective": ""' in (full / final / "config.json").read_text()  # the arch's default

    tasks = fx.write_tasks(tmp_path / "tasks")
    res = harness(env, "eval", "--model", str(full), "--tasks", "fixture-topics,fixture-lm",
                  "--include", str(tasks), "--limit", "6", "--no-baselines", "--bootstrap", "50",
                  "--ft", "epochs=1", "--ft", "max_len=48", "--out", str(tmp_path / "results"))
    assert res.returncode == 0, res.stderr
    board = harness(env, "leaderboard", "show", "--db", str(tmp_path / "results" / "harness.sqlite"),
                    "--task", "fixture-topics", "--format", "csv")
    assert board.returncode == 0, board.stderr
    assert "full-parallel" in board.stdout
    # zero-shot: classification by log-likelihood and generation through the plugin's KV cache
    zs = harness(env, "eval", "--model", str(full), "--tasks", "fixture-topics,fixture-en-de",
                 "--include", str(tasks), "--limit", "6", "--no-baselines", "--bootstrap", "50",
                 "--mode", "zeroshot", "--out", str(tmp_path / "results"))
    assert zs.returncode == 0, zs.stderr
    shown = harness(env, "leaderboard", "show", "--db",
                    str(tmp_path / "results" / "harness.sqlite"), "--format", "json")
    boards = json.loads(shown.stdout)["tasks"]
    for task, metric in (("fixture-topics", "accuracy"), ("fixture-en-de", "bleu")):
        (row,) = [r for r in boards[task]["rows"]
                  if r["model_id"] == "full-parallel" and r["mode"] == "zeroshot"]
        assert row["status"] == "ok", row
        assert math.isfinite(row["metrics"][metric]["mean"]), row["metrics"]
    exported = harness(env, "export", "--model", str(full), "--format", "hf",
                       "--out", str(tmp_path / "hf"))
    assert exported.returncode == 2
    assert "architecture 'parallel' declares no transformers mapping" in exported.stderr
