"""Training objectives: causal LM, masked LM (15%, 80/10/10), next-sentence, distillation.

Registered as ``clm`` (decoders) and ``mlm`` (encoders, with ``model.nsp``) in
:data:`pretrain.engine.plugins.OBJECTIVES`; the protocol an objective follows is
written down there. ``simcse`` and ``electra`` live in their own modules.

Randomness (which tokens are masked, which sentence pairs are swapped) is drawn
outside the modules from an explicit ``torch.Generator`` owned by the trainer,
so that the objective modules are pure functions of their inputs (good for
``torch.compile``) and the generator's state can be checkpointed for an exact
resume.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pretrain.engine.plugins import OBJECTIVES, ObjectiveContext, architecture

IGNORE = -100


def mask_tokens(idx: torch.Tensor, *, vocab_size: int, mask_id: int, special_ids: list[int],
                prob: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: pick ``prob`` of the non-special tokens; of those 80% -> [MASK],
    10% -> a random non-special token, 10% unchanged. Returns (inputs, targets)."""
    special = torch.zeros_like(idx, dtype=torch.bool)
    for s in special_ids:
        special |= idx == s
    u = torch.rand(idx.shape, generator=generator)
    picked = (u < prob) & ~special
    targets = torch.where(picked, idx, torch.full_like(idx, IGNORE))
    action = torch.rand(idx.shape, generator=generator)
    n_special = max(special_ids) + 1 if special_ids else 0
    random_tok = torch.randint(n_special, vocab_size, idx.shape, generator=generator)
    inputs = torch.where(picked & (action < 0.8), torch.full_like(idx, mask_id), idx)
    inputs = torch.where(picked & (action >= 0.8) & (action < 0.9), random_tok, inputs)
    return inputs, targets


def nsp_pairs(windows: torch.Tensor, *, cls_id: int, sep_id: int, generator: torch.Generator
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sentence pairs ``[CLS] A [SEP] B [SEP]`` cut from stream windows (B, T).

    Half the rows keep their own continuation as B (label 0, "is next"); the
    other half take B from another row (label 1). Returns (ids, token_type_ids,
    labels), ids of the same shape as ``windows``.
    """
    b, t = windows.shape
    n_a = (t - 3) // 2
    n_b = t - 3 - n_a
    first = windows[:, :n_a]
    second = windows[:, n_a:n_a + n_b]
    labels = (torch.rand(b, generator=generator) < 0.5).long()
    shift = torch.randint(1, max(b, 2), (1,), generator=generator).item() if b > 1 else 0
    other = second.roll(int(shift), dims=0)
    second = torch.where(labels[:, None].bool(), other, second)
    col = torch.full((b, 1), cls_id, dtype=windows.dtype)
    sep = torch.full((b, 1), sep_id, dtype=windows.dtype)
    ids = torch.cat([col, first, sep, second, sep], dim=1)  # (B, T)
    types = torch.cat([torch.zeros(b, n_a + 2, dtype=torch.long),
                       torch.ones(b, n_b + 1, dtype=torch.long)], dim=1)
    return ids, types, labels


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, hard: torch.Tensor, *,
                 alpha: float, temperature: float) -> torch.Tensor:
    """alpha * hard + (1 - alpha) * T^2 * KL(teacher_T || student_T) (Hinton et al. 2015)."""
    t = temperature
    kl = F.kl_div(F.log_softmax(student.float() / t, dim=-1),
                  F.log_softmax(teacher.float() / t, dim=-1),
                  reduction="batchmean", log_target=True)
    return alpha * hard + (1.0 - alpha) * (t * t) * kl


class Objective(nn.Module):
    """Wraps a model so one ``forward`` returns the training loss (what DDP wraps).

    ``forward(inputs, targets, token_type_ids=None, nsp_labels=None)`` returns
    ``(loss, hard_loss)``: the optimised loss and the plain LM/MLM cross-entropy.
    The teacher, if any, is held outside the module tree so that DDP and the
    optimizer never see its parameters.
    """

    def __init__(self, model: nn.Module, *, teacher: nn.Module | None = None,
                 alpha: float = 0.5, temperature: float = 2.0) -> None:
        super().__init__()
        self.model = model
        self._teacher = [teacher] if teacher is not None else []
        self.alpha = alpha
        self.temperature = temperature

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor,
                token_type_ids: torch.Tensor | None = None,
                nsp_labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits, flat, h = predicted_logits(self.model, inputs, targets, token_type_ids)
        hard = F.cross_entropy(logits.float(), flat, ignore_index=IGNORE)
        loss = hard
        if self._teacher:
            teacher = self._teacher[0]
            with torch.no_grad():
                t_logits, _, _ = predicted_logits(teacher, inputs, targets, token_type_ids)
            if is_causal(self.model):
                keep = flat != IGNORE
                logits, t_logits = logits[keep], t_logits[keep]
            loss = distill_loss(logits, t_logits, hard, alpha=self.alpha,
                                temperature=self.temperature)
        if nsp_labels is not None:
            loss = loss + F.cross_entropy(self.model.nsp_logits(h).float(), nsp_labels)
        return loss, hard.detach()


@OBJECTIVES.register("clm")
class CausalLM(Objective):
    """Next-token prediction for decoders (with --teacher: plus distillation)."""

    name = "clm"
    kinds = ("decoder",)
    per_token = True

    def __init__(self, model: nn.Module, ctx: ObjectiveContext) -> None:
        t = ctx.cfg.train
        super().__init__(model, teacher=ctx.teacher, alpha=t.distill_alpha,
                         temperature=t.distill_temperature)

    def inputs(self, window: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        """Inputs and next-token targets of a (B, T + 1) window."""
        return {"inputs": window[:, :-1], "targets": window[:, 1:]}

    def eval_losses(self, **batch: Any) -> torch.Tensor:
        """Per-token NLL (nats) of every target."""
        return token_nll(self.model, **batch)


@OBJECTIVES.register("mlm")
class MaskedLM(CausalLM):
    """BERT's masked LM (15%, 80/10/10), with next-sentence prediction when ``model.nsp``."""

    name = "mlm"
    kinds = ("encoder",)

    def __init__(self, model: nn.Module, ctx: ObjectiveContext) -> None:
        super().__init__(model, ctx)
        self.special = ctx.special
        self.special_list = sorted(ctx.special.values())
        self.prob = ctx.cfg.train.mlm_prob

    def inputs(self, window: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        """Masked inputs and targets (-100 where not masked) of a window's first T tokens."""
        ids, window, out = self.special, window[:, :-1], {}
        if self.model.config.nsp:
            window, types, labels = nsp_pairs(window, cls_id=ids["cls"], sep_id=ids["sep"],
                                              generator=generator)
            out.update(token_type_ids=types, nsp_labels=labels)
        inputs, targets = mask_tokens(window, vocab_size=self.model.config.vocab_size,
                                      mask_id=ids["mask"], special_ids=self.special_list,
                                      prob=self.prob, generator=generator)
        return {**out, "inputs": inputs, "targets": targets}


def is_causal(model: nn.Module) -> bool:
    """Whether ``model`` (any registered architecture) is a decoder."""
    return architecture(model.config.arch).kind == "decoder"


def predicted_logits(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                     token_type_ids: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Logits (N, V) and targets (N,) at the scored positions, and an encoder's hidden states.

    A decoder scores every position (targets may still hold ``IGNORE``); an encoder
    only the masked ones, so its MLM head runs on ~15% of the tokens. The hidden
    states (None for decoders) feed the next-sentence head.
    """
    flat = targets.flatten()
    if is_causal(model):
        h, _ = model.hidden(inputs)
        return model.logits(h).flatten(0, 1), flat, None
    h = model.hidden(inputs, token_type_ids=token_type_ids)
    keep = flat != IGNORE
    return model.mlm_logits(h.flatten(0, 1)[keep]), flat[keep], h


def token_nll(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
              token_type_ids: torch.Tensor | None = None,
              nsp_labels: torch.Tensor | None = None) -> torch.Tensor:
    """Per-token NLL (nats) of every predicted target: all of them for decoders, the masked
    ones for encoders."""
    logits, flat, _ = predicted_logits(model, inputs, targets, token_type_ids)
    return F.cross_entropy(logits.float(), flat, reduction="none")
