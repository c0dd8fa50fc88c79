"""A parallel-block decoder and a denoising causal-LM objective, as a Harness plugin.

Registered through the entry points of this package's pyproject.toml; nothing
here is imported by the harness unless the package is installed.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.model import Decoder, cached_attention, merge_heads, positions, split_heads
from pretrain.engine.objectives import CausalLM
from pretrain.engine.plugins import Architecture

KV = tuple[torch.Tensor, torch.Tensor]


class ParallelBlock(nn.Module):
    """x + attn(ln(x)) + mlp(ln(x)): one LayerNorm, attention and MLP side by side."""

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        c = cfg.n_embd
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.ln = nn.LayerNorm(c)
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.fc, self.out = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past: KV | None, keys: torch.Tensor | None
                ) -> tuple[torch.Tensor, KV]:
        h = self.ln(x)
        q, k, v = (split_heads(t, self.n_head) for t in self.qkv(h).split(h.size(-1), 2))
        y, present = cached_attention(q, k, v, past, keys, self.dropout if self.training else 0.0)
        mlp = self.out(F.gelu(self.fc(h)))
        return x + self.drop(self.proj(merge_heads(y)) + mlp), present


class ParallelLM(Decoder):
    """The decoder protocol: hidden(idx, past, keys=, pos=), logits(h), forward, num_params."""

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(ParallelBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        for name, p in self.named_parameters():
            if p.ndim == 2:
                std = 0.02 / math.sqrt(2 * cfg.n_layer) if name.endswith(("proj.weight",
                                                                          "out.weight")) else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def hidden(self, idx: torch.Tensor, past: list[KV] | None = None, *,
               keys: torch.Tensor | None = None, pos: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[KV]]:
        pos = positions(idx, past, keys, pos, self.config.block_size)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, past[i] if past else None, keys)
            present.append(kv)
        return self.ln_f(x), present

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.wte.weight)

    def embeddings(self) -> list[nn.Module]:
        return [self.wte, self.wpe]


class NoisyCLM(CausalLM):
    """Next-token prediction from inputs with 10% of the tokens replaced at random."""

    name = "noisy-clm"
    kinds = ("decoder",)
    noise = 0.1

    def inputs(self, window: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        inputs, targets = window[:, :-1], window[:, 1:]
        hit = torch.rand(inputs.shape, generator=generator) < self.noise
        noise = torch.randint(1, self.model.config.vocab_size, inputs.shape, generator=generator)
        return {"inputs": torch.where(hit, noise, inputs), "targets": targets}


PARALLEL = Architecture(name="parallel", kind="decoder", module=ParallelLM,
                        objective="noisy-clm",
                        description="parallel attention + MLP blocks (GPT-J / PaLM)")
