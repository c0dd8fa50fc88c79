"""From a model and a task to predictions: ``predict`` (contract E of docs/INTERNAL_API.md).

``ref`` is a model resolved once by :func:`tasks.modelref.resolve_model`: a
checkpoint or run directory of ours, ``hf:PATH`` for a local transformers
encoder, or ``baseline:NAME`` for one of the task's baselines.
Language-modelling tasks are scored directly (per-document token
log-probabilities: a sliding window for ``gpt``, pseudo-log-likelihood with each
token masked in turn for ``bert``, Salazar et al. 2020). Other tasks are
fine-tuned then predicted, or prompted zero-shot (``gpt`` only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harnesskit.errors import HarnessError
from tasks.base import Example, Task, finetune_settings
from tasks.finetune import NotApplicable
from tasks.modelref import ModelRef
from tasks.models import Backbone, is_causal

__all__ = ["NotApplicable", "Predictions", "predict", "score_lm"]


@dataclass
class Predictions:
    """One row per test example ({id, input, prediction, references}) and run info."""

    rows: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)


def _rows(exs: list[Example], preds: list[Any]) -> list[dict[str, Any]]:
    assert len(exs) == len(preds)
    return [{"id": e.id, "input": e.input, "prediction": p, "references": e.references}
            for e, p in zip(exs, preds)]


def _baseline(name: str, task: Task, test: list[Example]) -> Predictions:
    table = task.baselines()
    if name not in table:
        raise HarnessError(f"task {task.name} has no baseline {name!r}",
                           hint=f"choose one of {', '.join(sorted(table)) or 'none'}")
    t0 = time.time()
    preds = table[name](task.examples("train"), test)
    return Predictions(_rows(test, preds), {"model_kind": "baseline", "baseline": name,
                                            "predict_seconds": round(time.time() - t0, 2)})


def predict(ref: ModelRef, task: Task, *, mode: str = "finetune", seed: int = 0,
            limit: int | None = None, batch_size: int = 16, workdir: Path | None = None,
            precision: str = "bf16", overrides: dict[str, Any] | None = None,
            num_fewshot: int | None = None, chat_template: bool = False,
            shard: tuple[int, int] = (0, 1)) -> Predictions:
    """Predictions of the model ``ref`` on ``task``'s test split (``limit`` caps every split).

    ``shard=(rank, world)`` predicts only test examples ``rank, rank + world, ...`` (after
    ``limit``; fine-tuning still sees every training example), for data-parallel scoring.
    Raises :class:`NotApplicable` when the model kind cannot do the task.
    ``lmeval:`` tasks run through lm-eval's machinery (``num_fewshot``, ``chat_template``).
    """
    if mode not in ("finetune", "zeroshot"):
        raise HarnessError(f"unknown mode {mode!r}", hint="use finetune or zeroshot")
    if limit is not None and limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {limit}",
                           hint="leave it out to use every example")
    if task.family == "lmeval":
        if ref.is_baseline:
            raise NotApplicable("lm-eval tasks have no baselines of ours")
        preds = task.predict(ref, limit=limit, num_fewshot=num_fewshot,  # type: ignore[attr-defined]
                             chat_template=chat_template, seed=seed, batch_size=batch_size,
                             precision=precision)
        preds.rows = preds.rows[shard[0]::shard[1]]  # lm-eval runs its own loop over all of them
        return preds
    if mode == "finetune":
        finetune_settings(task.finetune, overrides)  # bad settings fail before loading a model
    test = task.examples("test")[:limit] if limit else task.examples("test")
    test = test[shard[0]::shard[1]]
    if ref.is_baseline:
        return _baseline(ref.spec.split(":", 1)[1], task, test)
    from tasks.models import load_backbone

    kind = ref.kind
    _check_applicable(kind, task, mode)
    torch.manual_seed(seed)
    bb = load_backbone(ref)
    info: dict[str, Any] = {"model_kind": kind, "mode": mode, "model_id": ref.id,
                            "content_hash": ref.content_hash, "batch_size": batch_size}
    t0 = time.time()
    if task.family == "lm":
        preds = [score_lm(bb, str(e.input), stride=task.stride) for e in test]  # type: ignore[attr-defined]
        info["scoring"] = "sliding-window" if bb.causal else "pseudo-log-likelihood"
        info["tokenizer"] = _tokenizer_id(bb)  # per-token scores compare only within one
    elif mode == "zeroshot":
        from tasks.zeroshot import predict_zeroshot

        preds = predict_zeroshot(bb, task, test)
    else:
        from tasks.finetune import finetune

        tm, ft_info = finetune(bb, task, seed=seed, limit=limit, precision=precision,
                               out=workdir, overrides=overrides)
        info.update(ft_info)
        t0 = time.time()
        preds = tm.predict(test, batch_size)
    info["predict_seconds"] = round(time.time() - t0, 2)
    return Predictions(_rows(test, preds), info)


def _tokenizer_id(bb: Backbone) -> str:
    """16 hex digits naming the backbone's tokenizer (its canonical JSON, else the model's)."""
    if hasattr(bb.tokenizer, "to_str"):
        from pretrain.data.tokenizer import tokenizer_sha

        return tokenizer_sha(bb.tokenizer)
    return f"of-model-{bb.ref.content_hash}"


def _check_applicable(kind: str, task: Task, mode: str) -> None:
    if task.family == "lm" and kind == "hf-encoder":
        raise NotApplicable("hf: encoders have no language-modelling head here")
    if task.family == "lm":
        return
    if mode == "zeroshot" and not is_causal(kind):
        raise NotApplicable(f"zero-shot needs a decoder (gpt, llama...), not {kind}")
    if not is_causal(kind) and task.family not in ("classification", "qa"):
        raise NotApplicable(f"a {kind} encoder cannot generate text for {task.family} tasks")


@torch.no_grad()
def score_lm(bb: Backbone, text: str, *, stride: int | None = None) -> dict[str, Any]:
    """Per-document token log-probs (natural log), argmax hits, byte and word counts."""
    bb.module.eval()
    if bb.causal:
        lps, hits = _gpt_logprobs(bb, bb.encode(text), stride or bb.block_size // 2)
    else:
        lps, hits = _pseudo_logprobs(bb, bb.encode(text))
    return {"token_logprobs": lps, "token_correct": hits,
            "n_bytes": len(text.encode("utf-8")), "n_words": len(text.split())}


def _gpt_logprobs(bb: Backbone, ids: list[int], stride: int) -> tuple[list[float], list[bool]]:
    """Every token scored once; the first is conditioned on eos, later windows overlap.

    Windows of ``block_size`` tokens advance by ``stride``; each window scores only
    the tokens not scored before, with up to ``block_size - stride`` tokens of context.
    """
    seq = [bb.special["eos"]] + ids
    n, width = len(seq), bb.block_size
    stride = max(1, min(stride, width - 1))
    lps: list[float] = []
    hits: list[bool] = []
    done, begin = 1, 0  # seq[0] (eos) is context only
    while done < n:
        end = min(begin + width, n)
        window = torch.tensor([seq[begin:end]], device=bb.device)
        logp = torch.log_softmax(bb.module.logits(bb.module.hidden(window)[0]).float(), -1)[0].cpu()
        for pos in range(done, end):  # seq[pos] is predicted at window position pos - 1 - begin
            row = logp[pos - 1 - begin]
            lps.append(float(row[seq[pos]]))
            hits.append(int(row.argmax()) == seq[pos])
        done = end
        begin += stride
    return lps, hits


def _pseudo_logprobs(bb: Backbone, ids: list[int], batch: int = 64) -> tuple[list[float], list[bool]]:
    """Masked-LM pseudo-log-likelihood: each token masked in turn, in windows of the context."""
    cls, sep, mask = bb.special["cls"], bb.special["sep"], bb.special["mask"]
    width = bb.block_size - 2
    lps: list[float] = []
    hits: list[bool] = []
    for a in range(0, len(ids), width):
        chunk = [cls] + ids[a:a + width] + [sep]
        base = torch.tensor(chunk)
        positions = list(range(1, len(chunk) - 1))
        for b in range(0, len(positions), batch):
            pos = torch.tensor(positions[b:b + batch])
            x = base.repeat(len(pos), 1)
            x[torch.arange(len(pos)), pos] = mask
            logits = bb.module(x.to(bb.device))[0][torch.arange(len(pos)), pos].float().cpu()
            logp = torch.log_softmax(logits, -1)
            gold = base[pos]
            lps.extend(logp[torch.arange(len(pos)), gold].tolist())
            hits.extend((logp.argmax(-1) == gold).tolist())
    return lps, hits
