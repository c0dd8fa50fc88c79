"""Damaged hf: folders are refused with one line naming the file (never a traceback,
never a model that silently maps every word to [UNK])."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from harnesskit.errors import HarnessError
from tasks.hfcheck import check_hf_folder
from tasks.modelref import resolve_model
from tasks.models import load_backbone

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from hf_fixtures import tiny_hf_encoder  # noqa: E402


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_hf_encoder(tmp_path_factory.mktemp("hf") / "enc")


def damaged(good: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(good, out)
    return out


def test_good_folder_passes_and_loads(good: Path) -> None:
    assert check_hf_folder(good)["model_type"] == "bert"
    bb = load_backbone(resolve_model(f"hf:{good}"), device="cpu")
    assert bb.encode("the quick fox") and bb.special["unk"] not in bb.encode("the quick fox")


def test_invalid_config_json(good: Path, tmp_path: Path) -> None:
    folder = damaged(good, tmp_path)
    (folder / "config.json").write_text('{"model_type": "bert", ')
    with pytest.raises(HarnessError, match=r"config.json is not valid JSON"):
        check_hf_folder(folder)
    (folder / "config.json").write_text('["not", "a", "mapping"]')
    with pytest.raises(HarnessError, match="has no model_type"):
        check_hf_folder(folder)


def test_truncated_safetensors(good: Path, tmp_path: Path) -> None:
    folder = damaged(good, tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(HarnessError, match=r"model.safetensors is truncated"):
        check_hf_folder(folder)
    weights.write_bytes(b"\x00" * 5)
    with pytest.raises(HarnessError, match="is not a safetensors file"):
        check_hf_folder(folder)


def test_pickle_only_weights_are_refused(good: Path, tmp_path: Path) -> None:
    folder = damaged(good, tmp_path)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(HarnessError, match="holds only pytorch_model.bin .pickle"):
        check_hf_folder(folder)


def test_missing_tokenizer_refused_by_name(tmp_path: Path) -> None:
    folder = tiny_hf_encoder(tmp_path / "notok", tokenizer=False)
    with pytest.raises(HarnessError, match="has no tokenizer files"):
        check_hf_folder(folder)


def test_tokenizer_that_knows_no_word_is_refused(good: Path, tmp_path: Path) -> None:
    folder = damaged(good, tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    with pytest.raises(HarnessError, match="maps every word to the unknown token"):
        load_backbone(resolve_model(f"hf:{folder}"), device="cpu")


def test_missing_shard_of_an_index(good: Path, tmp_path: Path) -> None:
    folder = damaged(good, tmp_path)
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}}))
    with pytest.raises(HarnessError, match="model-00001-of-00002.safetensors, which is missing"):
        check_hf_folder(folder)
