"""A Llama-style decoder as pure ``nn.Module`` code: RMSNorm, rotary positions, SwiGLU, no biases.

Laid out so that :func:`pretrain.engine.export.llama_hf` maps it one-to-one onto
transformers' ``LlamaForCausalLM`` (tied embeddings, rotary in the "rotate half"
convention, RMSNorm computed in fp32, SwiGLU width 8/3·C rounded up to a
multiple of 32). Q, K, V and the gate/up projections are fused into one matmul
each (faster on CPU at these sizes); the export splits them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.model import (
    KV,
    Decoder,
    _init_normal,
    cached_attention,
    merge_heads,
    positions,
    split_heads,
)
from pretrain.engine.presets import ModelConfig

RMS_EPS = 1e-5
ROPE_THETA = 10000.0


def ffn_width(n_embd: int) -> int:
    """SwiGLU hidden width: 2/3 of 4·C (same parameters as a GELU MLP), rounded up to 32."""
    return 32 * math.ceil(8 * n_embd / 3 / 32)


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in fp32 as transformers' LlamaRMSNorm does."""

    def __init__(self, dim: int, eps: float = RMS_EPS) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_tables(head_dim: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (length, head_dim) of the rotary angles, frequencies repeated twice."""
    inv = 1.0 / ROPE_THETA ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim)
    freqs = torch.outer(torch.arange(length).float(), inv)  # (T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hd)
    return emb.cos(), emb.sin()


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.size(-1) // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + rot * sin).to(x.dtype)


class LlamaAttention(nn.Module):
    """Causal multi-head attention with rotary positions and a (k, v) cache."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qkv_proj = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.o_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                past: KV | None = None, keys: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, KV]:
        q, k, v = (split_heads(t, self.n_head) for t in self.qkv_proj(x).split(x.size(-1), 2))
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)  # (B, nh, T, hd), at their positions
        y, present = cached_attention(q, k, v, past, keys,
                                      self.dropout if self.training else 0.0)
        return self.resid_drop(self.o_proj(merge_heads(y))), present


class LlamaBlock(nn.Module):
    """x + attn(rmsnorm(x)), then x + down(silu(gate(h)) * up(h)) with h = rmsnorm(x)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd)
        self.gate_up_proj = nn.Linear(cfg.n_embd, 2 * ffn_width(cfg.n_embd), bias=False)
        self.down_proj = nn.Linear(ffn_width(cfg.n_embd), cfg.n_embd, bias=False)
        self.mlp_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                past: KV | None = None, keys: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, KV]:
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, past, keys)
        x = x + a
        gate, up = self.gate_up_proj(self.post_attention_layernorm(x)).chunk(2, dim=-1)
        return x + self.mlp_drop(self.down_proj(F.silu(gate) * up)), present


class Llama(Decoder):
    """Decoder-only LM, Llama layout; the decoder protocol of :mod:`pretrain.engine.plugins`."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd)
        cos, sin = rope_tables(cfg.n_embd // cfg.n_head, cfg.block_size)
        self.register_buffer("rope_cos", cos, persistent=False)  # not in checkpoints
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(_init_normal)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual outputs
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def hidden(self, idx: torch.Tensor, past: list[KV] | None = None, *,
               keys: torch.Tensor | None = None, pos: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[KV]]:
        """Final-norm hidden states (B, T, C) and the per-layer (k, v) cache.

        As :meth:`pretrain.engine.model.GPT.hidden`: new tokens continue at ``T_past``;
        for padded batches ``keys`` (B, T_past + T) marks real tokens and ``pos`` (B, T)
        gives each token's (rotary) position.
        """
        pos = positions(idx, past, keys, pos, self.config.block_size)
        cos, sin = self.rope_cos[pos], self.rope_sin[pos]  # (T, hd) or (B, T, hd)
        if pos.dim() == 2:
            cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, hd): broadcast over heads
        x = self.drop(self.embed_tokens(idx))  # (B, T, C)
        present: list[KV] = []
        for i, block in enumerate(self.layers):
            x, kv = block(x, cos, sin, past[i] if past else None, keys)
            present.append(kv)
        return self.norm(x), present

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """The tied LM head: (..., C) -> (..., V)."""
        return F.linear(h, self.embed_tokens.weight)

    def embeddings(self) -> list[nn.Module]:
        return [self.embed_tokens]
