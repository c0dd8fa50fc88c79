"""Typed configs: validation, presets, ``--set`` overrides and round trips."""

from __future__ import annotations

import dataclasses

import pytest

from harnesskit.config import (
    apply_overrides,
    config_hash,
    from_dict,
    parse_sets,
    to_dict,
    valid_keys,
)
from harnesskit.errors import ConfigError, HarnessError
from pretrain.engine.presets import ModelConfig, RunConfig, preset


def test_override_coerces_types() -> None:
    cfg = apply_overrides(preset("tiny", "gpt"), ["model.n_layer=6", "train.lr=3e-3",
                                                    "train.compile=true", "train.precision=fp32"])
    assert cfg.model.n_layer == 6
    assert cfg.train.lr == pytest.approx(3e-3)
    assert cfg.train.compile is True
    assert cfg.train.precision == "fp32"


def test_unknown_key_lists_close_matches_and_valid_keys() -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(preset("tiny"), {"model.n_layers": "3"})
    text = info.value.one_line()
    assert "did you mean model.n_layer" in text
    assert "train.seed" in text


@pytest.mark.parametrize("item, fragment", [
    ("model.n_layer=abc", "expected a int"),
    ("train.precision=fp8", "must be one of auto, fp32, bf16"),
    ("train.compile=maybe", "expected true or false"),
    ("model.n_embd=130", "divisible"),
    ("noequals", "has no '='"),
])
def test_bad_values_are_config_errors(item: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        apply_overrides(preset("tiny"), [item])


def test_configs_are_frozen_and_validated() -> None:
    cfg = preset("tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model.n_layer = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="model.n_layer"):
        ModelConfig(n_layer=0)


def test_round_trip_and_hash_are_stable() -> None:
    cfg = apply_overrides(preset("small", "bert"), ["model.n_layer=2"])
    again = from_dict(RunConfig, to_dict(cfg))
    assert again == cfg
    assert config_hash(again) == config_hash(cfg)
    assert config_hash(cfg) != config_hash(preset("small", "bert"))


def test_unknown_preset_and_keys() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        preset("huge")
    assert "model.block_size" in valid_keys(preset("tiny"))
    assert parse_sets(["a.b=1=2"]) == {"a.b": "1=2"}


def test_auto_precision_follows_the_cpu_flags(tmp_path, monkeypatch) -> None:
    from pretrain.engine import precision as pr

    with_bf16 = tmp_path / "a"
    with_bf16.write_text("flags\t: fpu sse2 avx2 avx512f avx512_bf16\n")
    without = tmp_path / "b"
    without.write_text("flags\t: fpu sse2 avx2\n")
    assert pr.cpu_has_fast_bf16(str(with_bf16)) and not pr.cpu_has_fast_bf16(str(without))
    assert pr.resolve_precision("fp32") == "fp32" and pr.resolve_precision("bf16") == "bf16"
    for fast, want in ((True, "bf16"), (False, "fp32")):  # both outcomes, whatever this CPU is
        monkeypatch.setattr(pr, "cpu_has_fast_bf16", lambda fast=fast: fast)
        assert pr.resolve_precision("auto") == want
    with pytest.raises(HarnessError, match="unknown precision"):
        pr.resolve_precision("fp8")
