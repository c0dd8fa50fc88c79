"""SimCSE-style contrastive sentence learning for encoders (Gao et al. 2021, unsupervised).

Each training row is a sentence-length piece of the corpus, ``[CLS] tokens [SEP]``.
The batch is encoded twice in one forward pass; dropout makes the two views
differ (the only augmentation). Row ``i``'s first view must pick its own second
view among all second views of the batch (the in-batch negatives): cross-entropy
over cosine similarities divided by a temperature. The model's MLM head is not
used, so DDP runs with ``find_unused_parameters``.

The sentence vector is the mean over tokens by default (``objective.pooling``),
not the paper's [CLS]: a small encoder after a short MLM run has a [CLS] state
that barely depends on the text (cosine 0.9996 between any two WordNet glosses,
2 layers x 64 after 150 steps). Measured on 600 held-out WordNet (word,
definition) pairs, 100 SimCSE steps on [CLS] took nearest-neighbour accuracy
from 0.004 to 0.001-0.002 (lr 3e-4 and 2e-3, the loss still near ln(batch));
on the mean it goes from about 0.02 to 0.065
(tests/pretrain/test_objectives_real.py, 1,000 pairs, three seeds).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.plugins import OBJECTIVES, ObjectiveContext


def sentence_vectors(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor | None = None,
                     pooling: str = "mean") -> torch.Tensor:
    """(B, C) sentence vectors of an encoder: the [CLS] state, or the mean over real tokens."""
    h = model.hidden(ids, attention_mask=mask)  # (B, T, C)
    if pooling == "cls":
        return h[:, 0]
    m = (torch.ones_like(ids) if mask is None else mask).unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1)


@OBJECTIVES.register("simcse")
class SimCSE(nn.Module):
    """Unsupervised SimCSE: two dropout views per sentence, in-batch negatives."""

    name = "simcse"
    kinds = ("encoder",)
    per_token = False
    unused_parameters = True  # the MLM head gets no gradient

    @staticmethod
    def check(cfg: Any) -> str | None:
        """Its two views differ only by dropout: without it there is nothing to learn."""
        if cfg.model.dropout <= 0:
            return "it needs dropout noise, but model.dropout is 0 (add --set model.dropout=0.1)"
        return None

    def __init__(self, model: nn.Module, ctx: ObjectiveContext) -> None:
        super().__init__()
        o = ctx.cfg.objective
        self.model = model
        self.temperature, self.pooling = o.temperature, o.pooling
        self.length = min(o.sentence_tokens, model.config.block_size)
        self.cls, self.sep = ctx.special["cls"], ctx.special["sep"]

    def inputs(self, window: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        """``[CLS] piece [SEP]`` rows from the first tokens of each window (no randomness)."""
        b = window.size(0)
        body = window[:, : self.length - 2]
        ids = torch.cat([torch.full((b, 1), self.cls, dtype=window.dtype), body,
                         torch.full((b, 1), self.sep, dtype=window.dtype)], dim=1)
        return {"ids": ids}

    def _losses(self, ids: torch.Tensor) -> torch.Tensor:
        z = sentence_vectors(self.model, torch.cat([ids, ids]), pooling=self.pooling).float()
        z1, z2 = z.chunk(2)  # (B, C) each: the two dropout views
        sim = F.cosine_similarity(z1[:, None], z2[None, :], dim=-1) / self.temperature  # (B, B)
        return F.cross_entropy(sim, torch.arange(ids.size(0), device=ids.device),
                               reduction="none")

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss = self._losses(ids).mean()
        return loss, loss.detach()

    def eval_losses(self, ids: torch.Tensor) -> torch.Tensor:
        """Per-sentence contrastive losses (without dropout the views agree: uniformity only)."""
        return self._losses(ids)
