"""A transformers causal LM behind the interface of our ``GPT`` (``hidden``, ``logits``, ``forward``).

:class:`HFCausal` wraps anything ``AutoModelForCausalLM`` loads (GPT-2, Llama,
Qwen2, Mistral, Phi, OPT, GPT-NeoX layouts) so that decoding, the fine-tuning
heads and :mod:`tasks.lm_api` run it with the same code as our own ``gpt``:
``hidden`` runs the base model (without the LM head, so scoring computes logits
only where it needs them), ``logits`` applies the head, and the KV cache is the
transformers ``Cache`` object (reordered by :func:`select_cache`). Scoring asks
``hidden(..., cache=False)`` so that transformers builds no cache it would throw
away. GPT-2's tanh GELU (``gelu_new``, six element-wise passes in Python) runs as
torch's fused ``gelu(approximate="tanh")``: the same formula, which transformers
itself offers as ``gelu_pytorch_tanh``; outputs differ by float rounding only
(~1e-7 relative), and scoring a GPT-2 layout gets ~20% faster on CPU.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from pretrain.engine.model import lm_loss


class HFCausal(nn.Module):
    """``AutoModelForCausalLM`` with ``hidden(idx, past, keys=, pos=)``, ``logits(h)`` and ``forward``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.m = model
        self.config = model.config
        self._softcap = getattr(model.config, "final_logit_softcapping", None)
        # transformers 5.x renames the cache argument (past_key_values -> cache)
        params = inspect.signature(model.base_model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._scale = getattr(model.config, "logit_scale", None)
        fuse_gelu(model)

    def hidden(self, idx: torch.Tensor, past: Any = None, *, keys: torch.Tensor | None = None,
               pos: torch.Tensor | None = None, cache: bool = True) -> tuple[torch.Tensor, Any]:
        """Hidden states (B, T, C) after the final norm, and the cache (see ``GPT.hidden``);
        ``cache=False`` builds none (returns None) where no later call continues from it."""
        kw: dict[str, Any] = {}
        if keys is not None:
            kw["attention_mask"] = keys.long()
        if pos is None and past is not None:
            t_past = past.get_seq_length()
            pos = torch.arange(t_past, t_past + idx.size(1), device=idx.device)[None]
            pos = pos.expand(idx.size(0), -1)
        if pos is not None:
            kw["position_ids"] = pos
        kw[self._cache_arg] = past
        out = self.m.base_model(input_ids=idx, use_cache=cache, **kw)
        if not cache:
            return out.last_hidden_state, None
        made = getattr(out, "cache", None)
        return out.last_hidden_state, made if made is not None else out.past_key_values

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """The model's LM head: (..., C) -> (..., V), with its logit scaling if it has one."""
        z = self.m.get_output_embeddings()(h)
        if self._scale:
            z = z * self._scale
        if self._softcap:
            z = torch.tanh(z / self._softcap) * self._softcap
        return z

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, V) and, given targets (B, T; -100 = ignored), the mean NLL."""
        logits = self.logits(self.hidden(idx)[0])
        return logits, lm_loss(logits, targets)


def fuse_gelu(model: nn.Module) -> None:
    """Swap every ``NewGELUActivation`` (``gelu_new``) of ``model`` for the fused ``GELUTanh``."""
    # lazy: transformers is loaded with the model anyway
    from transformers.activations import GELUTanh, NewGELUActivation

    for mod in list(model.modules()):
        for name, child in mod.named_children():
            if type(child) is NewGELUActivation:
                setattr(mod, name, GELUTanh())


def select_cache(past: Any, rows: torch.Tensor) -> Any:
    """The cache rows ``rows`` (1-D long): our list of (k, v) or a transformers ``Cache``."""
    if hasattr(past, "batch_select_indices"):
        past.batch_select_indices(rows)
        return past
    return [(k[rows], v[rows]) for k, v in past]
