"""ELECTRA-style replaced-token detection (Clark et al. 2020) for encoders.

A small generator (the same architecture, ``objective.generator_ratio`` times
narrower) is trained as a masked LM; its samples replace the masked tokens, and
the model being pretrained (the discriminator) predicts for every token whether
it was replaced. Loss = generator MLM + ``objective.disc_weight`` x discriminator
binary cross-entropy. The generator and the detection head belong to the
objective: they are trained and checkpointed (``objective.safetensors``) but
``model.safetensors`` holds the discriminator alone, which is what the tasks
fine-tune. Sampling uses torch's global generator, which the trainer re-seeds
every step, so a resumed run samples the same tokens.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.objectives import IGNORE, mask_tokens
from pretrain.engine.plugins import OBJECTIVES, ObjectiveContext, architecture


def generator_config(cfg: Any, ratio: int) -> Any:
    """The generator's ModelConfig: width and heads divided by ``ratio``, no NSP head."""
    heads = max(1, cfg.n_head // ratio)
    width = max(heads, cfg.n_embd // ratio // heads * heads)
    return replace(cfg, n_embd=width, n_head=heads, nsp=False)


@OBJECTIVES.register("electra")
class Electra(nn.Module):
    """Generator MLM plus replaced-token detection by the model."""

    name = "electra"
    kinds = ("encoder",)
    per_token = False
    unused_parameters = True  # the discriminator's MLM head gets no gradient

    def __init__(self, model: nn.Module, ctx: ObjectiveContext) -> None:
        super().__init__()
        o, c = ctx.cfg.objective, model.config
        self.model = model
        self.generator = architecture(c.arch).module(generator_config(c, o.generator_ratio))
        self.detect = nn.Linear(c.n_embd, 1)
        self.disc_weight = o.disc_weight
        self.special = sorted(ctx.special.values())
        self.mask_id, self.prob = ctx.special["mask"], ctx.cfg.train.mlm_prob

    def inputs(self, window: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        """BERT masking (15%, 80/10/10) of each window's first T tokens."""
        inputs, targets = mask_tokens(window[:, :-1], vocab_size=self.model.config.vocab_size,
                                      mask_id=self.mask_id, special_ids=self.special,
                                      prob=self.prob, generator=generator)
        return {"inputs": inputs, "targets": targets}

    def corrupt(self, inputs: torch.Tensor, targets: torch.Tensor,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(generator MLM loss, the corrupted tokens (B, T), replaced (B, T): 1.0 where the
        generator's sample differs from the original token).

        Samples with ``generator`` (default: torch's global one, which the trainer seeds
        every step)."""
        keep = (targets != IGNORE).flatten()
        h = self.generator.hidden(inputs).flatten(0, 1)[keep]  # (N, C_gen) at masked tokens
        logits = self.generator.mlm_logits(h).float()  # (N, V)
        gen_loss = F.cross_entropy(logits, targets.flatten()[keep]) if keep.any() \
            else logits.sum() * 0.0
        with torch.no_grad():
            picks = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
        original = torch.where(targets != IGNORE, targets, inputs)
        corrupted = original.flatten().clone()
        corrupted[keep] = picks
        corrupted = corrupted.view_as(inputs)
        return gen_loss, corrupted, (corrupted != original).float()

    def detection_logits(self, corrupted: torch.Tensor) -> torch.Tensor:
        """(B, T) logits that each token was replaced, from the model being pretrained."""
        return self.detect(self.model.hidden(corrupted)).squeeze(-1).float()

    def _losses(self, inputs: torch.Tensor, targets: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(generator MLM loss, per-token detection losses (B, T))."""
        gen_loss, corrupted, replaced = self.corrupt(inputs, targets, generator)
        d = self.detection_logits(corrupted)
        return gen_loss, F.binary_cross_entropy_with_logits(d, replaced, reduction="none")

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        gen_loss, disc = self._losses(inputs, targets)
        disc_loss = disc.mean()
        return gen_loss + self.disc_weight * disc_loss, disc_loss.detach()

    def eval_losses(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-token detection losses on samples drawn as in training, from a generator
        seeded the same for every batch (so validation is repeatable and leaves torch's
        global generator alone). Not the generator's argmax: a briefly trained generator's
        argmax is the same few frequent tokens everywhere, replacements unlike those the
        discriminator learned on (held-out detection AUC 0.15 with argmax, 0.74 sampled)."""
        generator = torch.Generator(device=inputs.device).manual_seed(0)
        return self._losses(inputs, targets, generator)[1].flatten()
