"""The two architectures, as pure ``nn.Module`` code: no I/O, no optimizer.

``GPT`` is a pre-norm decoder laid out like GPT-2 (learned positions, tied
embeddings, fused QKV projection with biases, GELU-tanh, LayerNorm with bias) so
that :mod:`pretrain.engine.export` maps it one-to-one onto ``GPT2LMHeadModel``.
``BERT`` follows the original post-norm encoder (word + position + token-type
embeddings, embedding LayerNorm, MLM transform dense+GELU+LayerNorm, tied
decoder with its own bias) so that it maps onto ``BertForMaskedLM``; an optional
pooler and next-sentence head sit on the ``[CLS]`` vector.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.plugins import ARCHS
from pretrain.engine.presets import ModelConfig

GPT_LN_EPS = 1e-5  # GPT-2's layer_norm_epsilon
BERT_LN_EPS = 1e-12  # BERT's layer_norm_eps

KV = tuple[torch.Tensor, torch.Tensor]


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """(B, T, C) -> (B, n_head, T, C // n_head); public for plugin architectures."""
    b, t, c = x.shape
    return x.view(b, t, n_head, c // n_head).transpose(1, 2)  # (B, nh, T, hd)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool,
              mask: torch.Tensor | None, dropout_p: float) -> torch.Tensor:
    """Scaled dot-product attention over (B, nh, T, hd); ``mask`` True = may attend.

    Inference, fp32 and GPUs use ``F.scaled_dot_product_attention``. CPU training
    in bf16 takes explicit matmuls instead: PyTorch's CPU flash kernel is slow in
    its bf16 backward pass for small head sizes (3x slower than this at T=128,
    hd=32, measured here), while in fp32 it is the faster of the two.
    Both compute the same function; the softmax runs in fp32 in either case.
    """
    if q.device.type != "cpu" or not torch.is_grad_enabled() or q.dtype == torch.float32:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                              dropout_p=dropout_p)
    att = (q @ k.transpose(-2, -1)) * (q.size(-1) ** -0.5)  # (B, nh, Tq, Tk)
    if causal:
        tq, tk = att.shape[-2:]
        keep = torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril(tk - tq)
        att = att.masked_fill(~keep, float("-inf"))
    if mask is not None:
        att = att.masked_fill(~mask, float("-inf"))
    att = att.softmax(dim=-1, dtype=torch.float32).to(v.dtype)
    if dropout_p > 0:
        att = F.dropout(att, dropout_p)
    return att @ v  # (B, nh, Tq, hd)


def merge_heads(y: torch.Tensor) -> torch.Tensor:
    """(B, n_head, T, hd) -> (B, T, n_head * hd), the inverse of :func:`split_heads`."""
    b, nh, t, hd = y.shape
    return y.transpose(1, 2).reshape(b, t, nh * hd)  # (B, T, C)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean NLL (float32) of ``targets`` (B, T; -100 = ignored) under ``logits`` (B, T, V);
    None without targets. Every language model's ``forward`` returns this as its loss."""
    if targets is None:
        return None
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100)


class CausalSelfAttention(nn.Module):
    """Multi-head causal attention through ``scaled_dot_product_attention``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past: KV | None = None,
                keys: torch.Tensor | None = None) -> tuple[torch.Tensor, KV]:
        """``keys`` (B, T_past + T) bool marks real (not padding) keys; None = all real."""
        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        y, present = cached_attention(q, k, v, past, keys,
                                      self.dropout if self.training else 0.0)
        return self.resid_drop(self.c_proj(merge_heads(y))), present


def cached_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, past: KV | None,
                     keys: torch.Tensor | None, dropout_p: float
                     ) -> tuple[torch.Tensor, KV]:
    """Causal attention of new queries over ``past`` plus new keys: (y, the new (k, v) cache).

    ``keys`` (B, T_past + T) bool marks real (not padding) keys; None = all real.
    Shared by every decoder here (gpt, llama).
    """
    t_new = q.size(2)
    mask = None
    if past is not None:
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
    t_past = k.size(2) - t_new
    if keys is not None or (past is not None and t_new > 1):
        # Query i (absolute position t_past + i) sees keys 0 .. t_past + i.
        rows = torch.arange(t_new, device=q.device)[:, None] + t_past
        mask = torch.arange(k.size(2), device=q.device)[None, :] <= rows  # (T, Tk)
        if keys is not None:
            # A padding query sees itself so that no row is fully masked (no NaN).
            own = torch.arange(k.size(2), device=q.device)[None, :] == rows
            mask = (mask & keys[:, None, :]) | own  # (B, T, Tk)
            mask = mask[:, None]  # (B, 1, T, Tk)
    causal = mask is None and t_new > 1
    return attention(q, k, v, causal=causal, mask=mask, dropout_p=dropout_p), (k, v)


class GPTBlock(nn.Module):
    """Pre-norm block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=GPT_LN_EPS)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=GPT_LN_EPS)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
                                      c_proj=nn.Linear(4 * cfg.n_embd, cfg.n_embd)))
        self.mlp_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past: KV | None = None,
                keys: torch.Tensor | None = None) -> tuple[torch.Tensor, KV]:
        a, present = self.attn(self.ln_1(x), past, keys)
        x = x + a
        m = self.mlp["c_proj"](F.gelu(self.mlp["c_fc"](self.ln_2(x)), approximate="tanh"))
        return x + self.mlp_drop(m), present


def positions(idx: torch.Tensor, past: list[KV] | None, keys: torch.Tensor | None,
              pos: torch.Tensor | None, block_size: int) -> torch.Tensor:
    """The new tokens' positions: given (padded batches), or continuing after ``past``;
    a ValueError when they reach past ``block_size`` (padding takes no position)."""
    t_past = 0 if not past else past[0][0].size(2)
    t = idx.size(1)
    if pos is None:
        pos = torch.arange(t_past, t_past + t, device=idx.device)
    last = t_past + t if keys is None else int(pos.max()) + 1
    if last > block_size:
        raise ValueError(f"sequence of {last} tokens exceeds block_size {block_size}")
    return pos


class Decoder(nn.Module):
    """What every decoder shares on top of its ``hidden`` and ``logits``: ``forward`` and
    ``num_params``. A subclass names its embedding tables in ``embeddings()``."""

    def embeddings(self) -> list[nn.Module]:
        raise NotImplementedError

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, V) and, given targets (B, T; -100 = ignored), the mean NLL."""
        logits = self.logits(self.hidden(idx)[0])  # type: ignore[attr-defined]
        return logits, lm_loss(logits, targets)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); optionally without the embeddings."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= sum(m.weight.numel() for m in self.embeddings())
        return n


class GPT(Decoder):
    """Decoder-only language model; ``forward(idx, targets) -> (logits, loss)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.arch != "gpt":
            raise ValueError(f"GPT needs model.arch='gpt', got {cfg.arch!r}")
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(GPTBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=GPT_LN_EPS)
        self.apply(_init_normal)
        # GPT-2's scaled init of the residual projections keeps the stream's variance flat.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def hidden(self, idx: torch.Tensor, past: list[KV] | None = None, *,
               keys: torch.Tensor | None = None, pos: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[KV]]:
        """Final-norm hidden states (B, T, C) and the per-layer (k, v) cache.

        With ``past`` (as returned by an earlier call) the new tokens continue at
        position ``T_past``; keys and values are (B, n_head, T, head_dim). For
        padded batches, ``keys`` (B, T_past + T) bool marks the real tokens (padding
        is never attended to) and ``pos`` (B, T) gives each token's position.
        """
        pos = positions(idx, past, keys, pos, self.config.block_size)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        present: list[KV] = []
        for i, block in enumerate(self.h):
            x, kv = block(x, past[i] if past else None, keys)
            present.append(kv)
        return self.ln_f(x), present

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """The tied LM head: (..., C) -> (..., V)."""
        return F.linear(h, self.wte.weight)

    def embeddings(self) -> list[nn.Module]:
        return [self.wte, self.wpe]


class BertSelfAttention(nn.Module):
    """Bidirectional attention with an optional key-padding mask."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.out = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q, k, v = (split_heads(t, self.n_head) for t in self.qkv(x).split(x.size(-1), dim=2))
        y = attention(q, k, v, causal=False, mask=mask,
                      dropout_p=self.dropout if self.training else 0.0)
        return self.out(merge_heads(y))


class BertLayer(nn.Module):
    """Post-norm layer: ln(x + attn(x)), then ln(x + ffn(x))."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attn = BertSelfAttention(cfg)
        self.ln_attn = nn.LayerNorm(cfg.n_embd, eps=BERT_LN_EPS)
        self.fc_in = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.fc_out = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.ln_ffn = nn.LayerNorm(cfg.n_embd, eps=BERT_LN_EPS)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.ln_attn(x + self.drop(self.attn(x, mask)))
        return self.ln_ffn(x + self.drop(self.fc_out(F.gelu(self.fc_in(x)))))


class BERT(nn.Module):
    """Encoder with a tied MLM head and an optional next-sentence head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.arch != "bert":
            raise ValueError(f"BERT needs model.arch='bert', got {cfg.arch!r}")
        self.config = cfg
        c = cfg.n_embd
        self.word = nn.Embedding(cfg.vocab_size, c)
        self.pos = nn.Embedding(cfg.block_size, c)
        self.tok_type = nn.Embedding(2, c)
        self.ln_emb = nn.LayerNorm(c, eps=BERT_LN_EPS)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(BertLayer(cfg) for _ in range(cfg.n_layer))
        self.head_dense = nn.Linear(c, c)
        self.head_ln = nn.LayerNorm(c, eps=BERT_LN_EPS)
        self.head_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        if cfg.nsp:
            self.pooler = nn.Linear(c, c)
            self.nsp_head = nn.Linear(c, 2)
        self.apply(_init_normal)

    def hidden(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states (B, T, C) of the last layer; attention_mask (B, T) 1 = real token."""
        t = idx.size(1)
        if t > self.config.block_size:
            raise ValueError(f"sequence of {t} tokens exceeds block_size {self.config.block_size}")
        types = token_type_ids if token_type_ids is not None else torch.zeros_like(idx)
        pos = torch.arange(t, device=idx.device)
        x = self.drop(self.ln_emb(self.word(idx) + self.pos(pos) + self.tok_type(types)))
        mask = None
        if attention_mask is not None:
            mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T): keys a query may see
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def mlm_logits(self, h: torch.Tensor) -> torch.Tensor:
        """The MLM head (dense, GELU, LayerNorm, tied decoder + bias): (..., C) -> (..., V)."""
        z = self.head_ln(F.gelu(self.head_dense(h)))
        return F.linear(z, self.word.weight, self.head_bias)

    def nsp_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Next-sentence logits (B, 2) from the pooled ``[CLS]`` vector."""
        if not self.config.nsp:
            raise ValueError("this BERT has no next-sentence head (model.nsp=false)")
        return self.nsp_head(torch.tanh(self.pooler(h[:, 0])))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """MLM logits (B, T, V) and, given targets (-100 = not predicted), their mean NLL."""
        logits = self.mlm_logits(self.hidden(idx, attention_mask, token_type_ids))
        return logits, lm_loss(logits, targets)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); optionally without the embeddings."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= sum(e.weight.numel() for e in (self.word, self.pos, self.tok_type))
        return n


def _init_normal(module: nn.Module) -> None:
    """BERT/GPT-2 initialisation: N(0, 0.02) weights, zero biases, unit norms."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def build_model(cfg: ModelConfig) -> nn.Module:
    """The architecture named by ``cfg.arch`` (built-in or plugin), freshly initialised."""
    return ARCHS.get(cfg.arch).module(cfg)


def flops_per_token(cfg: ModelConfig, n_params_non_embedding: int) -> float:
    """Training FLOPs per token (forward + backward), PaLM's 6N + 12·L·C·T estimate.

    The LM head matmul (V x C) is added separately because the embedding is tied
    and therefore excluded from ``n_params_non_embedding``.
    """
    head = cfg.vocab_size * cfg.n_embd
    attn = 12 * cfg.n_layer * cfg.n_embd * cfg.block_size
    return 6.0 * (n_params_non_embedding + head) + attn
