"""From a model and a task to predictions: ``predict`` (contract E of docs/INTERNAL_API.md).

``ref`` is a model resolved once by :func:`tasks.modelref.resolve_model`: a
checkpoint or run directory of ours, ``hf:PATH`` for a local transformers
encoder or causal LM, or ``baseline:NAME`` for one of the task's baselines.
Every model is run through the one model interface (:mod:`tasks.lm_api`), so
nothing here depends on the model's kind: language-modelling tasks are scored
by rolling log-likelihood (pseudo-log-likelihood for ``bert``), multiple
choice and cloze by log-likelihood, zero-/few-shot tasks by the requests of
:mod:`tasks.zeroshot`, and fine-tuning trains a head first. A model that
cannot answer a task's requests, or does not fit in memory, raises
:class:`NotApplicable` with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harnesskit.errors import HarnessError
from tasks.base import SCORED_FAMILIES, Example, Task, finetune_settings
from tasks.fewshot import PromptConfig
from tasks.lm_base import NotApplicable
from tasks.modelref import ModelRef

__all__ = ["NotApplicable", "Predictions", "check_fits", "predict"]


@dataclass
class Predictions:
    """One row per test example ({id, input, prediction, references}) and run info."""

    rows: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)


def _rows(exs: list[Example], preds: list[Any]) -> list[dict[str, Any]]:
    assert len(exs) == len(preds)
    return [{"id": e.id, "input": e.input, "prediction": p, "references": e.references}
            for e, p in zip(exs, preds)]


def _baseline(name: str, task: Task, test: list[Example]) -> Predictions:
    table = task.baselines()
    if name not in table:
        raise HarnessError(f"task {task.name} has no baseline {name!r}",
                           hint=f"choose one of {', '.join(sorted(table)) or 'none'}")
    t0 = time.time()
    preds = table[name](task.examples("train"), test)
    return Predictions(_rows(test, preds), {"model_kind": "baseline", "baseline": name,
                                            "predict_seconds": round(time.time() - t0, 2)})


def predict(ref: ModelRef, task: Task, *, mode: str = "finetune", seed: int = 0,
            limit: int | None = None, batch_size: int = 16, workdir: Path | None = None,
            precision: str = "bf16", overrides: dict[str, Any] | None = None,
            num_fewshot: int | None = None, chat_template: bool = False,
            shard: tuple[int, int] = (0, 1), device: str | None = None,
            dtype: str = "float32") -> Predictions:
    """Predictions of the model ``ref`` on ``task``'s test split (``limit`` caps every split).

    Scored families (lm, multiple_choice, cloze) and ``mode="zeroshot"`` go
    through the model interface (:mod:`tasks.lm_api`), with ``num_fewshot``
    shots (None: the task's own setting, 0 for ours) and optionally the
    tokenizer's chat template; ``finetune`` trains a head first.
    ``device``/``dtype`` place and cast the weights. ``shard=(rank, world)``
    predicts only test examples ``rank, rank + world, ...`` (after ``limit``;
    fine-tuning still sees every training example), for data-parallel scoring.
    ``lmeval:`` tasks run through lm-eval's machinery (``num_fewshot``,
    ``chat_template``). Raises :class:`NotApplicable` when the model cannot do
    the task, or does not fit in this machine's memory.
    """
    if mode not in ("finetune", "zeroshot"):
        raise HarnessError(f"unknown mode {mode!r}", hint="use finetune or zeroshot")
    if limit is not None and limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {limit}",
                           hint="leave it out to use every example")
    if task.family == "lmeval":
        if ref.is_baseline:
            raise NotApplicable("lm-eval tasks have no baselines of ours")
        from tasks.models import check_device_dtype, default_device

        device = device or default_device()
        check_device_dtype(device, dtype)
        check_fits(ref, device, dtype, training=False)  # "not applicable", not out of memory
        preds = task.predict(ref, limit=limit, num_fewshot=num_fewshot,  # type: ignore[attr-defined]
                             chat_template=chat_template, seed=seed, batch_size=batch_size,
                             device=device, dtype=dtype)
        preds.rows = preds.rows[shard[0]::shard[1]]  # lm-eval runs its own loop over all of them
        return preds
    if mode == "finetune":
        finetune_settings(task.finetune, overrides)  # bad settings fail before loading a model
    prompts = PromptConfig(num_fewshot=num_fewshot or 0, seed=seed, chat_template=chat_template)
    test = task.examples("test")[:limit] if limit else task.examples("test")
    test = test[shard[0]::shard[1]]
    if ref.is_baseline:
        return _baseline(ref.spec.split(":", 1)[1], task, test)
    from tasks.lm_api import wrap
    from tasks.models import check_device_dtype, default_device, load_backbone

    device = device or default_device()
    check_device_dtype(device, dtype)  # before check_fits asks torch about the device
    scored = task.family in SCORED_FAMILIES or mode == "zeroshot"
    check_fits(ref, device, dtype, training=not scored)
    torch.manual_seed(seed)
    lm = wrap(load_backbone(ref, device=device, dtype=dtype))
    info: dict[str, Any] = {**lm.info(), "mode": mode if not scored else "zeroshot",
                            "model_id": ref.id, "content_hash": ref.content_hash,
                            "batch_size": batch_size}
    t0 = time.time()
    if task.family == "lm":
        window = getattr(task, "window", "overlap")
        preds = lm.loglikelihood_rolling([str(e.input) for e in test], window=window,
                                         stride=task.stride,  # type: ignore[attr-defined]
                                         batch_size=batch_size)
        info["scoring"] = info.get("scoring") or f"rolling windows ({window})"
        info.update(window=window, stride=task.stride)  # type: ignore[attr-defined]
        info["tokenizer"] = _tokenizer_id(lm.bb)  # per-token scores compare only within one
    elif scored:
        from tasks.zeroshot import predict_zeroshot

        preds = predict_zeroshot(lm, task, test, prompts, batch_size=batch_size)
        info.update(num_fewshot=num_fewshot, chat_template=chat_template)
    else:
        from tasks.finetune import finetune

        tm, ft_info = finetune(lm.bb, task, seed=seed, limit=limit, precision=precision,
                               out=workdir, overrides=overrides)
        info.update(ft_info)
        t0 = time.time()
        preds = tm.predict(test, batch_size)
    info["predict_seconds"] = round(time.time() - t0, 2)
    return Predictions(_rows(test, preds), info)


def _tokenizer_id(bb: Any) -> str:
    """16 hex digits naming the backbone's tokenizer (its canonical JSON, else the model's)."""
    if hasattr(bb.tokenizer, "to_str"):
        from pretrain.data.tokenizer import tokenizer_sha

        return tokenizer_sha(bb.tokenizer)
    return f"of-model-{bb.ref.content_hash}"


BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TRAIN_FACTOR = 4  # weights + gradients + two AdamW moments, in float32


def available_memory(device: str) -> int:
    """Bytes free for a model on ``device`` (MemAvailable on CPU, free memory on a GPU)."""
    if device.startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_fits(ref: ModelRef, device: str, dtype: str, *, training: bool) -> None:
    """NotApplicable (with the sizes) when the weights, and for fine-tuning the gradients
    and optimizer state, would not fit in the device's free memory."""
    if not ref.params:
        return
    need = ref.params * (BYTES.get(dtype, 4) if not training else 4 * TRAIN_FACTOR)
    free = available_memory(device)
    if need > 0.9 * free:
        gib = 1024 ** 3
        what = "fine-tuning" if training else f"its weights in {dtype}"
        raise NotApplicable(f"too large for this machine: {ref.params / 1e6:.0f}M parameters "
                            f"need about {need / gib:.1f} GiB for {what}, {free / gib:.1f} GiB "
                            f"free on {device}")
