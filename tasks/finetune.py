"""Fine-tuning a backbone on a task: heads, batching, the training loop, early stopping.

``gpt``: a classification head on the last token; prefix-LM training (loss
masked on the prompt) for QA and the generative families, decoded greedily or
with beam search. ``bert`` and ``hf:`` encoders: a classification head on the
first token and a span-extraction head for QA; generative tasks are not
applicable. Training uses AdamW with warmup and linear decay, bf16 autocast,
the validation loss for early stopping (the best epoch's weights are kept), and
a seed for weights of the head, data order and dropout.
"""

from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from tasks.base import SCORED_FAMILIES, Example, FinetuneDefaults, Task, finetune_settings
from tasks.lm_base import NotApplicable
from tasks.modelref import ModelRef
from tasks.models import Backbone, load_backbone

__all__ = ["NotApplicable", "FinetuneConfig", "TaskModel", "finetune", "head_kind"]


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig:
    """A task's defaults plus the run's own choices."""

    task: FinetuneDefaults
    seed: int = 0
    limit: int | None = None
    precision: str = "bf16"

    def __post_init__(self) -> None:
        if self.precision not in ("bf16", "fp32"):
            raise HarnessError(f"unknown precision {self.precision!r}", hint="use bf16 or fp32")
        if self.limit is not None and self.limit < 1:
            raise HarnessError(f"--limit must be at least 1, got {self.limit}",
                               hint="leave it out to use every example")


def head_kind(task: Task, bb: Backbone) -> str:
    """Which head a backbone uses for a task: classify, span or generate.

    Decided by what the model can do (``bb.causal``: generate), never by its name.
    """
    if task.family == "classification":
        return "classify"
    if task.family == "qa":
        return "generate" if bb.causal else "span"
    if task.family in SCORED_FAMILIES:
        raise NotApplicable(f"{task.family} tasks are scored, not fine-tuned")
    if not bb.causal:
        raise NotApplicable(f"a {bb.kind} encoder cannot generate text for {task.family} tasks")
    return "generate"


def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _limited(xs: list[Example], n: int | None) -> list[Example]:
    return xs if n is None else xs[:n]


class TaskModel:
    """A backbone plus its task head, with batch encoding and loss/predict per head kind."""

    def __init__(self, backbone: Backbone, task: Task, head: str, cfg: FinetuneConfig) -> None:
        import torch

        self.bb, self.task, self.head_kind, self.cfg = backbone, task, head, cfg
        self.labels = task.labels() if head == "classify" else []  # type: ignore[attr-defined]
        out = {"classify": len(self.labels), "span": 2, "generate": 0}[head]
        self.head = torch.nn.Linear(backbone.hidden_size, out).to(backbone.device) if out else None
        self.max_len = min(cfg.task.max_len, backbone.block_size)

    def parameters(self) -> list[Any]:
        ps = list(self.bb.module.parameters())
        return ps + (list(self.head.parameters()) if self.head is not None else [])

    def train(self, on: bool) -> None:
        self.bb.module.train(on)
        if self.head is not None:
            self.head.train(on)

    # -- batches ---------------------------------------------------------
    def batch(self, exs: list[Example]) -> dict[str, Any]:
        from tasks import heads

        return heads.encode_batch(self, exs)

    def loss(self, batch: dict[str, Any]) -> Any:
        from tasks import heads

        return heads.loss(self, batch)

    def predict(self, exs: list[Example], batch_size: int) -> list[Any]:
        from tasks import heads

        return heads.predict(self, exs, batch_size)


def _eval_loss(tm: TaskModel, exs: list[Example], batch_size: int) -> float:
    import torch

    tm.train(False)
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(exs), batch_size):
            b = tm.batch(exs[i:i + batch_size])
            if b["n"]:
                total += float(tm.loss(b)) * b["n"]
                n += b["n"]
    return total / max(n, 1)


def train(tm: TaskModel, train_exs: list[Example], val_exs: list[Example]) -> dict[str, Any]:
    """Fine-tune in place; restores the weights of the epoch with the lowest validation loss."""
    import torch

    from harnesskit.progress import bar as progress

    ft = tm.cfg.task
    rng = random.Random(tm.cfg.seed)
    steps_per_epoch = max(1, -(-len(train_exs) // ft.batch_size))
    total = steps_per_epoch * ft.epochs
    opt = torch.optim.AdamW(tm.parameters(), lr=ft.lr, weight_decay=ft.weight_decay)
    warm = max(1, int(ft.warmup_frac * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    amp = tm.cfg.precision == "bf16"
    history, best, best_state, bad = [], float("inf"), None, 0
    bar = progress(total=total, desc=f"finetune {tm.task.name}", leave=False)
    for epoch in range(ft.epochs):
        order = list(train_exs)
        rng.shuffle(order)
        tm.train(True)
        run = 0.0
        for i in range(0, len(order), ft.batch_size):
            b = tm.batch(order[i:i + ft.batch_size])
            if not b["n"]:
                continue
            with torch.autocast(tm.bb.device.split(":")[0], dtype=torch.bfloat16, enabled=amp):
                loss = tm.loss(b)
            opt.zero_grad(set_to_none=True)
            loss.float().backward()
            torch.nn.utils.clip_grad_norm_(tm.parameters(), 1.0)
            opt.step()
            sched.step()
            value = float(loss.detach())
            run = 0.9 * run + 0.1 * value if run else value
            bar.set_postfix(loss=f"{run:.3f}")
            bar.update(1)
        val = _eval_loss(tm, val_exs, ft.batch_size) if val_exs else run
        history.append({"epoch": epoch + 1, "train_loss": run, "val_loss": val})
        if val < best - 1e-4:
            best, bad = val, 0
            best_state = (copy.deepcopy(tm.bb.module.state_dict()),
                          copy.deepcopy(tm.head.state_dict()) if tm.head is not None else None)
        else:
            bad += 1
            if bad > ft.patience:
                break
    bar.close()
    if best_state is not None:
        tm.bb.module.load_state_dict(best_state[0])
        if tm.head is not None and best_state[1] is not None:
            tm.head.load_state_dict(best_state[1])
    tm.train(False)
    return {"history": history, "best_val_loss": best, "steps_per_epoch": steps_per_epoch}


def finetune(model: ModelRef | Backbone, task: Task, *, seed: int = 0, limit: int | None = None,
             precision: str = "bf16", out: Path | None = None,
             overrides: dict[str, Any] | None = None) -> tuple[TaskModel, dict[str, Any]]:
    """Fine-tune ``model`` on ``task``'s train split; returns the model and an info dict.

    ``limit`` caps every split (quick runs); ``overrides`` replace fine-tuning
    defaults (``epochs``, ``lr``, ...); with ``out`` the fine-tuned weights,
    head and ``finetune.json`` are written there.
    """
    t0 = time.time()
    ft = finetune_settings(task.finetune, overrides)
    cfg = FinetuneConfig(task=ft, seed=seed, limit=limit, precision=precision)
    if out is not None:
        _check_out(Path(out))
    bb = model if isinstance(model, Backbone) else load_backbone(model)
    head = head_kind(task, bb)
    _seed_all(seed)
    tm = TaskModel(bb, task, head, cfg)
    train_exs = _limited(task.examples("train"), limit)
    if ft.max_train is not None:
        train_exs = train_exs[: ft.max_train]
    val_exs = _limited(task.examples("validation"), limit)
    augmentation = None
    if ft.eda:
        train_exs, augmentation = augmented(train_exs, ft.eda, seed)
    result = train(tm, train_exs, val_exs)
    info = {"model_kind": bb.kind, "head": head, "seed": seed, "limit": limit,
            **({"augmentation": augmentation} if augmentation else {}),
            "precision": precision, "finetune": asdict(ft), "n_train": len(train_exs),
            "n_validation": len(val_exs), "train_seconds": round(time.time() - t0, 2), **result}
    if out is not None:
        save_finetuned(tm, Path(out), info)
    return tm, info


def _check_out(out: Path) -> None:
    """Refuse to replace a folder that holds something other than a fine-tuned model."""
    from harnesskit.errors import HarnessError

    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "finetune.json").is_file())):
        raise HarnessError(f"--out {out} exists and is not a fine-tuned model folder",
                           hint="choose a new or empty folder")


def augmented(exs: list[Example], copies: int, seed: int) -> tuple[list[Example], dict]:
    """``exs`` plus ``copies`` EDA variants of each text input (labels and references kept),
    and the augmentation's counts. Structured inputs (QA) are left as they are."""
    from pretrain.data.augment import augment_texts

    texts = [i for i, e in enumerate(exs) if isinstance(e.input, str)]
    rows, report = augment_texts([str(exs[i].input) for i in texts], copies, seed=seed)
    extra = [replace(exs[texts[k]], id=f"{exs[texts[k]].id}#eda{n}", input=text)
             for n, (k, text) in enumerate(rows)]
    return exs + extra, report


def save_finetuned(tm: TaskModel, out: Path, info: dict[str, Any]) -> None:
    """Write backbone, head and ``finetune.json`` under ``out``, atomically as a whole."""
    import json
    import shutil

    from safetensors.torch import save_file

    from harnesskit.fsutil import replace_dir
    from tasks.models import save_backbone

    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        save_backbone(tm.bb, tmp)
        if tm.head is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in tm.head.state_dict().items()},
                      str(tmp / "head.safetensors"))
        meta = {"task": tm.task.name, "task_version": tm.task.version, "labels": tm.labels,
                "base_model": tm.bb.ref.spec, "base_content_hash": tm.bb.ref.content_hash, **info}
        (tmp / "finetune.json").write_text(json.dumps(meta, indent=2))
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
