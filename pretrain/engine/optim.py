"""Optimizers (AdamW, RMSprop, Adagrad) and learning-rate schedules, registered by name.

Plugins add optimizers (entry-point group ``harness.optimizers``: a factory
``(param_groups, train_cfg) -> torch.optim.Optimizer``) and schedules
(``harness.schedules``: ``decay(schedule, steps_after_warmup) -> lr``, where
``schedule`` carries lr, min_lr, warmup, total and period); ``--set optim.name=``
and ``--set schedule.name=`` select them.

Weight decay applies only to matrices of linear layers: norms, biases and
embeddings (including the tied LM head) are left undecayed, as in GPT-2 and
BERT practice. A schedule is a pure function of the step, so resuming needs
nothing but the step count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from pretrain.engine.plugins import OPTIMIZERS, SCHEDULES
from pretrain.engine.presets import RunConfig, TrainConfig


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: decayed linear weights, and everything else undecayed."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay, no_decay = [], []
    for p in model.parameters():  # yields a tied parameter once
        if not p.requires_grad:
            continue
        # ndim < 2 covers biases and LayerNorm gains; embeddings are matrices but shared
        # with the output head, where decay fights the logit scale.
        (no_decay if p.ndim < 2 or id(p) in embeddings else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: RunConfig) -> torch.optim.Optimizer:
    """The optimizer ``optim.name`` names, over :func:`param_groups` at the peak rate."""
    return OPTIMIZERS.get(cfg.optim.name)(param_groups(model, cfg.train.weight_decay), cfg.train)


@OPTIMIZERS.register("adamw")
def adamw(groups: list[dict], t: TrainConfig) -> torch.optim.Optimizer:
    # foreach is deterministic and fast on CPU; fused AdamW is not available everywhere.
    return torch.optim.AdamW(groups, lr=t.lr, betas=(t.beta1, t.beta2), eps=1e-8, foreach=True)


@OPTIMIZERS.register("rmsprop")
def rmsprop(groups: list[dict], t: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(groups, lr=t.lr, alpha=t.beta2, eps=1e-8, foreach=True)


@OPTIMIZERS.register("adagrad")
def adagrad(groups: list[dict], t: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.Adagrad(groups, lr=t.lr, eps=1e-10, foreach=True)


@dataclass(frozen=True)
class Schedule:
    """Learning rate as a function of the optimizer step (0-based): warmup, then ``kind``.

    ``kind`` is a name in the schedule registry, which maps it to
    ``decay(schedule, steps_after_warmup) -> lr``; it is looked up once, here.
    """

    kind: str
    lr: float
    min_lr: float
    warmup: int
    total: int
    period: int
    decay: Callable[[Schedule, int], float] = field(repr=False, compare=False)

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Schedule:
        """The schedule that ``cfg`` describes (``schedule.name`` and ``train``'s rates)."""
        t = cfg.train
        return cls(kind=cfg.schedule.name, lr=t.lr, min_lr=min(t.min_lr, t.lr),
                   warmup=min(t.warmup_steps, max(t.max_steps - 1, 0)),
                   total=t.max_steps, period=max(t.cycle_steps, 1),
                   decay=SCHEDULES.get(cfg.schedule.name))  # unknown: one line, close matches

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        return self.decay(self, step - self.warmup)


def _cosine(s: Schedule, frac: float) -> float:
    return s.min_lr + 0.5 * (s.lr - s.min_lr) * (1 + math.cos(math.pi * frac))


def _span(s: Schedule) -> int:
    return max(s.total - s.warmup, 1)


@SCHEDULES.register("constant")
def constant(s: Schedule, step: int) -> float:
    return s.lr


@SCHEDULES.register("linear")
def linear(s: Schedule, step: int) -> float:
    return s.lr + (s.min_lr - s.lr) * min(step / _span(s), 1.0)


@SCHEDULES.register("cosine")
def cosine(s: Schedule, step: int) -> float:
    return _cosine(s, min(step / _span(s), 1.0))


@SCHEDULES.register("cosine_restarts")
def cosine_restarts(s: Schedule, step: int) -> float:
    # SGDR with a fixed period: the rate jumps back to the peak every `period` steps.
    return _cosine(s, (step % s.period) / s.period)


@SCHEDULES.register("cyclic")
def cyclic(s: Schedule, step: int) -> float:
    # Triangular cycle (Smith 2017) between min_lr and lr, half a period up, half down.
    phase = (step / s.period + 0.5) % 1.0  # start at the peak, where warmup ends
    return s.min_lr + (s.lr - s.min_lr) * (1 - abs(2 * phase - 1))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write ``lr`` into every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr
