"""Batch encoding, losses and predictions of the three heads (classify, span, generate).

Batches are right-padded. A causal model's outputs at real tokens do not see
the padding after them, and the encoders get an attention mask, so a
prediction does not depend on which other examples share its batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tasks.base import Example
from tasks.decoding import decode

MAX_ANSWER_TOKENS = 64
NEG = -1e4


def _tok(tm: Any, pair: bool) -> Any:
    """A copy of the tokenizer that truncates to the model's length (cached on the model)."""
    from tokenizers import Tokenizer

    key = "_tok_pair" if pair else "_tok_single"
    if not hasattr(tm, key):
        tok = Tokenizer.from_str(tm.bb.tokenizer.to_str())
        tok.no_padding()
        tok.enable_truncation(tm.max_len, strategy="only_second" if pair else "longest_first")
        setattr(tm, key, tok)
    return getattr(tm, key)


def _pad(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def encode_batch(tm: Any, exs: list[Example]) -> dict[str, Any]:
    """Tensors for a list of examples; ``n`` counts the examples that carry a target."""
    if tm.head_kind == "classify":
        b = _classify_batch(tm, exs)
    elif tm.head_kind == "span":
        b = _span_batch(tm, exs)
    else:
        b = _generate_batch(tm, exs)
    return {k: v.to(tm.bb.device) if isinstance(v, torch.Tensor) else v for k, v in b.items()}


def _classify_batch(tm: Any, exs: list[Example]) -> dict[str, Any]:
    labels = [tm.labels.index(e.label) if e.label in tm.labels else -100 for e in exs]
    pad = tm.bb.special.get("pad", 0)
    if tm.bb.causal:
        eos = tm.bb.special["eos"]
        rows = [tm.bb.encode(str(e.input))[: tm.max_len - 1] + [eos] for e in exs]
        return {"idx": _pad(rows, pad), "last": torch.tensor([len(r) - 1 for r in rows]),
                "y": torch.tensor(labels), "n": sum(y >= 0 for y in labels)}
    encs = [_tok(tm, False).encode(str(e.input)) for e in exs]
    return {**_encoder_tensors(encs, pad), "y": torch.tensor(labels),
            "n": sum(y >= 0 for y in labels)}


def _encoder_tensors(encs: list[Any], pad: int) -> dict[str, torch.Tensor]:
    return {"idx": _pad([list(e.ids) for e in encs], pad),
            "types": _pad([list(e.type_ids) for e in encs], 0),
            "mask": _pad([[1] * len(e.ids) for e in encs], 0)}


def _span_targets(enc: Any, context: str, answer: str) -> tuple[int, int]:
    """Token (start, end) of the answer inside the encoded context, or (-100, -100)."""
    s = context.find(answer)
    if s < 0 or not answer:
        return -100, -100
    e = s + len(answer)
    start = end = -100
    for i, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)):
        if seq != 1:
            continue
        if start < 0 and b > s:
            start = i
        if a < e:
            end = i
    return (start, end) if 0 <= start <= end else (-100, -100)


def _span_batch(tm: Any, exs: list[Example]) -> dict[str, Any]:
    encs, starts, ends = [], [], []
    for e in exs:
        q, ctx = e.input["question"], e.input["context"]  # type: ignore[index]
        enc = _tok(tm, True).encode(q, ctx)
        s, t = _span_targets(enc, ctx, e.references[0] if e.references else "")
        encs.append(enc)
        starts.append(s)
        ends.append(t)
    tens = _encoder_tensors(encs, tm.bb.special.get("pad", 0))
    ctx_mask = _pad([[1 if s == 1 else 0 for s in enc.sequence_ids] for enc in encs], 0)
    return {**tens, "ctx": ctx_mask, "start": torch.tensor(starts), "end": torch.tensor(ends),
            "encs": encs, "n": sum(s >= 0 for s in starts)}


def _generate_batch(tm: Any, exs: list[Example]) -> dict[str, Any]:
    eos, pad = tm.bb.special["eos"], tm.bb.special.get("pad", 0)
    rows, tgts = [], []
    for e in exs:
        target = tm.bb.encode(" " + tm.task.target(e))[: tm.cfg.task.max_new_tokens] + [eos]
        prompt = tm.bb.encode(tm.task.prompt(e))[-max(1, tm.max_len - len(target)):]
        seq = prompt + target
        rows.append(seq[:-1])
        tgts.append([-100] * (len(prompt) - 1) + target)
    return {"idx": _pad(rows, pad), "targets": _pad(tgts, -100), "n": len(exs)}


def _hidden(tm: Any, b: dict[str, Any]) -> torch.Tensor:
    if tm.bb.causal:
        return tm.bb.module.hidden(b["idx"])[0]
    return tm.bb.encode_hidden(b["idx"], b["mask"], b["types"])


def _classify_logits(tm: Any, b: dict[str, Any]) -> torch.Tensor:
    h = _hidden(tm, b)
    pooled = h[torch.arange(h.size(0), device=h.device), b["last"]] if tm.bb.causal else h[:, 0]
    return tm.head(pooled).float()


def _span_logits(tm: Any, b: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    logits = tm.head(_hidden(tm, b)).float()  # (B, T, 2)
    off = (1 - b["ctx"]).float() * NEG  # only context tokens can start or end an answer
    return logits[..., 0] + off, logits[..., 1] + off


def loss(tm: Any, b: dict[str, Any]) -> torch.Tensor:
    """Mean loss of a batch for the model's head."""
    if tm.head_kind == "classify":
        return F.cross_entropy(_classify_logits(tm, b), b["y"], ignore_index=-100)
    if tm.head_kind == "span":
        s, e = _span_logits(tm, b)
        return (F.cross_entropy(s, b["start"], ignore_index=-100)
                + F.cross_entropy(e, b["end"], ignore_index=-100)) / 2
    return tm.bb.module(b["idx"], b["targets"])[1]


@torch.no_grad()
def predict(tm: Any, exs: list[Example], batch_size: int) -> list[str]:
    """Predictions (label, answer span or generated text) for ``exs``, in fp32."""
    tm.train(False)
    if tm.head_kind == "generate":
        return [generate(tm, e) for e in exs]
    out: list[str] = []
    for i in range(0, len(exs), batch_size):
        chunk = exs[i:i + batch_size]
        b = encode_batch(tm, chunk)
        if tm.head_kind == "classify":
            out.extend(tm.labels[int(j)] for j in _classify_logits(tm, b).argmax(-1))
        else:
            s, e = _span_logits(tm, b)
            out.extend(_best_span(s[k], e[k], b["encs"][k], ex.input["context"])  # type: ignore[index]
                       for k, ex in enumerate(chunk))
    return out


def _best_span(start: torch.Tensor, end: torch.Tensor, enc: Any, context: str) -> str:
    start, end = start.cpu(), end.cpu()
    t = start.size(0)
    scores = start[:, None] + end[None, :]
    band = torch.ones(t, t, dtype=torch.bool).triu().tril(MAX_ANSWER_TOKENS - 1)
    scores = scores.masked_fill(~band, float("-inf"))
    flat = int(scores.view(-1).argmax())
    s, e = divmod(flat, t)
    offs = enc.offsets
    return context[offs[s][0]:offs[e][1]] if s < len(offs) and e < len(offs) else ""


def generate(tm: Any, e: Example, *, use_cache: bool = True) -> str:
    """Decode the model's continuation of the task prompt for one example."""
    n_new = tm.cfg.task.max_new_tokens
    prompt = tm.bb.encode(tm.task.prompt(e))[-(tm.bb.block_size - n_new):]
    ids = decode(tm.bb.module, prompt, beams=tm.cfg.task.beams, max_new_tokens=n_new,
                 eos_id=tm.bb.special["eos"], use_cache=use_cache)
    return tm.bb.decode(ids).strip()
