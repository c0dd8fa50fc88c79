"""ModelRef: a model spec resolved once (kind, path, content hash, size) and passed along."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from task_fixtures import TinyLM, make_checkpoint

from harnesskit.errors import HarnessError
from tasks.modelref import content_hash, resolve_model, resolve_models


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two different runs that share a name, each with a checkpoint and a `latest` pointer."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for who, seed in (("alice", 0), ("bob", 1)):
        run = root / who / "gpt-tiny"
        make_checkpoint(run / "checkpoints" / "step-0000400", "gpt", seed=seed)
        (run / "latest").write_text("checkpoints/step-0000400")
        out[who] = run
    return out


def test_ours_resolves_from_small_files(runs) -> None:
    ref = resolve_model(runs["alice"])
    ckpt = runs["alice"] / "checkpoints" / "step-0000400"
    assert ref.kind == "gpt" and ref.path == ckpt and ref.name == ref.id == "gpt-tiny"
    assert ref.content_hash == content_hash(ckpt) and len(ref.content_hash) == 16
    assert ref.step == 0 and ref.config["arch"] == "gpt"
    from pretrain.engine.checkpoint import load_checkpoint

    assert ref.params == load_checkpoint(ckpt).model.num_params()  # from the header, no model
    step = resolve_model(ckpt)
    assert step.name == "gpt-tiny-step-0000400" and step.content_hash == ref.content_hash


def test_same_name_different_content_never_share_an_id(runs) -> None:
    a, b = resolve_models([runs["alice"], runs["bob"]])
    assert a.content_hash != b.content_hash
    assert a.id == f"gpt-tiny-{a.content_hash[:8]}" and b.id == f"gpt-tiny-{b.content_hash[:8]}"
    steps = resolve_models([r / "checkpoints" / "step-0000400" for r in runs.values()])
    assert len({s.id for s in steps}) == 2
    # the same model named twice (run dir and its checkpoint) is one model
    assert len(resolve_models([runs["alice"], runs["alice"] / "checkpoints" / "step-0000400"])) == 1


def test_content_hash_follows_the_manifest(runs, tmp_path) -> None:
    """Ours hash from the (verified) manifest; a changed file changes the hash."""
    copy = tmp_path / "copy"
    shutil.copytree(runs["alice"] / "checkpoints" / "step-0000400", copy)
    before = content_hash(copy)
    man = json.loads((copy / "MANIFEST.json").read_text())
    man["files"]["model.safetensors"]["sha256"] = "0" * 64
    (copy / "MANIFEST.json").write_text(json.dumps(man))
    assert content_hash(copy) != before
    (copy / "MANIFEST.json").write_text("{broken")
    with pytest.raises(HarnessError, match="corrupt checkpoint manifest"):
        content_hash(copy)


def _hf_folder(root: Path, name: str, config: dict) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(("config", "kind"), [
    ({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, "hf-causal"),
    ({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, "hf-causal"),
    ({"architectures": ["BertForMaskedLM"], "model_type": "bert"}, "hf-encoder"),
    ({"architectures": ["BertModel"], "model_type": "bert"}, "hf-encoder"),  # MiniLM's layout
    ({"architectures": ["GPT2Model"], "model_type": "gpt2"}, "hf-causal"),
    ({"model_type": "qwen2"}, "hf-causal"),
])
def test_hf_kind_from_config(tmp_path, config, kind) -> None:
    from tasks.modelref import hf_kind

    assert hf_kind(config, tmp_path) == kind


@pytest.mark.parametrize("config", [
    {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
     "is_encoder_decoder": True},
    {"model_type": "resnet", "architectures": ["ResNetForImageClassification"]},
])
def test_hf_folder_that_is_neither_fails_naming_it(tmp_path, config) -> None:
    from tasks.modelref import hf_kind

    folder = _hf_folder(tmp_path, "odd", config)
    with pytest.raises(HarnessError) as info:
        hf_kind(config, folder)
    assert str(folder) in info.value.one_line() and "\n" not in info.value.one_line()


def test_baseline_ref() -> None:
    ref = resolve_model("baseline:majority")
    assert ref.is_baseline and ref.path is None and ref.id == "baseline-majority"
    assert ref.content_hash == resolve_model("baseline:majority").content_hash


def test_runner_takes_the_ref_and_never_reparses_the_spec(runs) -> None:
    """The runner loads from the reference: a spec that names nothing does not matter."""
    from tasks.runner import predict

    ref = dataclasses.replace(resolve_model(runs["alice"]), spec="/nowhere/at/all")
    out = predict(ref, TinyLM())
    assert out.info["content_hash"] == ref.content_hash and out.info["model_id"] == "gpt-tiny"
