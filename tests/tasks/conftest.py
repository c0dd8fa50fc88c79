"""Fixtures for the task tests: a private data home and a fresh registry per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tiny fixture tasks live beside the tests (task_fixtures.py); importlib mode
# does not put this folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _task_state(tmp_path, monkeypatch):
    """Cache task data under tmp_path and start each test with an empty registry."""
    from tasks import data, registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "data-home"))
    data.clear_memo()
    registry.reset()
    yield
    data.clear_memo()
    registry.reset()


def make_checkpoint(out: Path, arch: str, seed: int = 0) -> Path:
    """A tiny randomly initialised model saved as a weights-only checkpoint."""
    import dataclasses

    import torch
    from task_fixtures import ALL

    from pretrain.data.tokenizer import train_tokenizer
    from pretrain.engine.checkpoint import save_model_checkpoint
    from pretrain.engine.model import build_model
    from pretrain.engine.presets import ModelConfig, RunConfig

    texts = []
    for cls in ALL:
        for split in cls().build().values():
            for ex in split:
                texts.append(str(ex.input) + " " + " ".join(ex.references))
    tok = train_tokenizer(texts * 3, arch, 300 if arch == "gpt" else 200, min_frequency=1)
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, n_layer=2, n_head=2, n_embd=32, block_size=64,
                      vocab_size=tok.get_vocab_size())
    run = dataclasses.replace(RunConfig(), model=cfg)
    return save_model_checkpoint(out, build_model(cfg), tok, run)


@pytest.fixture(scope="session")
def tiny_gpt(tmp_path_factory) -> str:
    return str(make_checkpoint(tmp_path_factory.mktemp("ckpt") / "gpt", "gpt"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return str(make_checkpoint(tmp_path_factory.mktemp("ckpt") / "bert", "bert"))
