"""Optimizers (AdamW, RMSprop, Adagrad) and learning-rate schedules.

Weight decay applies only to matrices of linear layers: norms, biases and
embeddings (including the tied LM head) are left undecayed, as in GPT-2 and
BERT practice. A schedule is a pure function of the step, so resuming needs
nothing but the step count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from pretrain.engine.presets import TrainConfig


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


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The configured optimizer over :func:`param_groups` at the peak learning rate."""
    groups = param_groups(model, cfg.weight_decay)
    if cfg.optimizer == "adamw":
        # foreach is deterministic and fast on CPU; fused AdamW is not available everywhere.
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                 eps=1e-8, foreach=True)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=cfg.beta2, eps=1e-8, foreach=True)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(groups, lr=cfg.lr, eps=1e-10, foreach=True)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


@dataclass(frozen=True)
class Schedule:
    """Learning rate as a function of the optimizer step (0-based)."""

    kind: str
    lr: float
    min_lr: float
    warmup: int
    total: int
    period: int

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Schedule:
        """The schedule that ``cfg`` describes."""
        return cls(kind=cfg.schedule, lr=cfg.lr, min_lr=min(cfg.min_lr, cfg.lr),
                   warmup=min(cfg.warmup_steps, max(cfg.max_steps - 1, 0)),
                   total=cfg.max_steps, period=max(cfg.cycle_steps, 1))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        s = step - self.warmup
        span = max(self.total - self.warmup, 1)
        if self.kind == "constant":
            return self.lr
        if self.kind == "linear":
            return self.lr + (self.min_lr - self.lr) * min(s / span, 1.0)
        if self.kind == "cosine":
            return self._cosine(min(s / span, 1.0))
        if self.kind == "cosine_restarts":
            # SGDR with a fixed period: the rate jumps back to the peak every `period` steps.
            return self._cosine((s % self.period) / self.period)
        if self.kind == "cyclic":
            # Triangular cycle (Smith 2017) between min_lr and lr, half a period up, half down.
            phase = (s / self.period + 0.5) % 1.0  # start at the peak, where warmup ends
            return self.min_lr + (self.lr - self.min_lr) * (1 - abs(2 * phase - 1))
        raise ValueError(f"unknown schedule {self.kind!r}")

    def _cosine(self, frac: float) -> float:
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write ``lr`` into every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr
