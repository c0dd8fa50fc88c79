"""Fixtures shared by the evaluator tests: YAML tasks with JSONL data, tiny random checkpoints.

(Named ``test_*`` so that it sits with the tests it serves; it holds one sanity test.)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

TOPICS = {"sport": ["match", "goal", "team", "league", "coach"],
          "tech": ["software", "chip", "phone", "internet", "data"],
          "food": ["recipe", "bread", "cheese", "dinner", "oven"]}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_tasks(folder: Path, n_test: int = 12) -> Path:
    """Two tiny YAML tasks (classification and translation) with JSONL data."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    def doc(label: str) -> str:
        return " ".join(rng.choice(TOPICS[label] + ["the", "a", "new", "today"]) for _ in range(12))
    for split, n in (("train", 30), ("validation", 6), ("test", n_test)):
        labels = [list(TOPICS)[i % 3] for i in range(n)]
        _write_jsonl(folder / f"cls-{split}.jsonl",
                     [{"id": f"{split}{i}", "text": doc(lab), "topic": lab}
                      for i, lab in enumerate(labels)])
        _write_jsonl(folder / f"mt-{split}.jsonl",
                     [{"id": f"{split}{i}", "en": f"the house number {i} is small .",
                       "de": f"das haus nummer {i} ist klein ."} for i in range(n)])
    (folder / "cls.yaml").write_text(
        "name: fixture-topics\nfamily: classification\nversion: 1\n"
        "source: {jsonl: {train: cls-train.jsonl, validation: cls-validation.jsonl, "
        "test: cls-test.jsonl}}\nfields: {id: id, input: text, label: topic}\n"
        "metrics: [accuracy, macro_f1]\n")
    lm_rows = [{"id": f"doc{i}", "text": f"the small house number {i} stands by the river ."}
               for i in range(n_test)]
    _write_jsonl(folder / "lm-test.jsonl", lm_rows)
    (folder / "lm.yaml").write_text(
        "name: fixture-lm\nfamily: lm\nversion: 1\nsource: {jsonl: {test: lm-test.jsonl}}\n"
        "fields: {id: id, text: text}\nmetrics: [bits_per_byte, perplexity]\n")
    (folder / "mt.yaml").write_text(
        "name: fixture-en-de\nfamily: translation\nversion: 1\n"
        "source: {jsonl: {train: mt-train.jsonl, validation: mt-validation.jsonl, "
        "test: mt-test.jsonl}}\nfields: {id: id, input: en, target: de}\n"
        "metrics: [bleu, chrf, ter]\n")
    return folder


def registered_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Yield the fixture tasks' folder, with a fresh registry and task data under tmp_path
    (the test modules wrap this generator in their ``task_dir`` fixture)."""
    from tasks import data, registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "data-home"))
    data.clear_memo()
    registry.reset()
    yield write_tasks(tmp_path / "yaml-tasks")
    data.clear_memo()
    registry.reset()




def load_module(path: Path, name: str):  # type: ignore[no-untyped-def]
    """A helper module of another test folder, loaded by path under a name of its own (putting
    that folder on sys.path would let its conftest.py shadow others imported by name)."""
    import importlib.util
    import sys

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        sys.modules[name] = module
    return sys.modules[name]


def make_checkpoint(out: Path, arch: str, seed: int = 0) -> Path:
    """A tiny randomly initialised model (2 layers, 32 wide) saved as a weights-only checkpoint."""
    import dataclasses

    import torch

    from pretrain.data.tokenizer import train_tokenizer
    from pretrain.engine.checkpoint import save_model_checkpoint
    from pretrain.engine.model import build_model
    from pretrain.engine.presets import ModelConfig, RunConfig

    words = [w for ws in TOPICS.values() for w in ws]
    texts = [" ".join(random.Random(i).choices(words, k=20)) for i in range(50)]
    texts += [f"the house number {i} is small . das haus nummer {i} ist klein ." for i in range(40)]
    tok = train_tokenizer(texts, arch, 300 if arch == "gpt" else 200, min_frequency=1)
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, n_layer=2, n_head=2, n_embd=32, block_size=64,
                      vocab_size=tok.get_vocab_size())
    run = dataclasses.replace(RunConfig(), model=cfg)
    return save_model_checkpoint(out, build_model(cfg), tok, run)


def test_fixture_tasks_validate(tmp_path: Path) -> None:
    from tasks.yaml_task import load_yaml_task

    folder = write_tasks(tmp_path)
    for name in ("cls", "mt", "lm"):
        assert load_yaml_task(folder / f"{name}.yaml").name.startswith("fixture-")
