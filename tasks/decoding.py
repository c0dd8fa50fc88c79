"""Greedy and beam-search decoding for causal models, with or without a KV cache.

Causal models: our ``gpt`` and ``hf:`` decoders (through ``tasks.hf_causal.HFCausal``).

Both decode one prompt at a time, so results never depend on a batch size.
They share :func:`_top` for choosing tokens, so a beam of width 1 makes exactly
the choices greedy decoding makes. With ``use_cache`` each step feeds only the
new token and the per-layer ``(k, v)`` returned by ``GPT.hidden``; without it
the whole sequence is re-run (the reference the cache is tested against).
"""

from __future__ import annotations

from typing import Any

import torch

from tasks.hf_causal import select_cache


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _top(logprobs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best (value, index) of the last dimension, ties broken by the lower index."""
    values, index = torch.sort(logprobs, dim=-1, descending=True, stable=True)
    return values[..., :k], index[..., :k]


def _step(model: Any, ids: torch.Tensor, past: Any, use_cache: bool) -> tuple[torch.Tensor, Any]:
    """Log-probs of the next token after ``ids`` (B, T) and the updated cache."""
    if use_cache:
        h, present = model.hidden(ids[:, -1:] if past is not None else ids, past)
    else:
        h, present = model.hidden(ids)
    return torch.log_softmax(model.logits(h[:, -1]).float(), dim=-1), (present if use_cache else None)


@torch.no_grad()
def greedy(model: Any, prompt: list[int], *, max_new_tokens: int, eos_id: int,
           stop_ids: tuple[int, ...] = (), use_cache: bool = True) -> list[int]:
    """Greedy continuation of ``prompt`` (token ids), without the eos/stop token."""
    ids = torch.tensor([prompt], dtype=torch.long, device=_device(model))
    past, out = None, []
    for _ in range(max_new_tokens):
        logprobs, past = _step(model, ids, past, use_cache)
        _, index = _top(logprobs[0], 1)
        token = int(index[0])
        if token == eos_id or token in stop_ids:
            break
        out.append(token)
        ids = torch.cat([ids, index.view(1, 1)], dim=1)
    return out


@torch.no_grad()
def beam_search(model: Any, prompt: list[int], *, beams: int, max_new_tokens: int, eos_id: int,
                length_penalty: float = 1.0, stop_ids: tuple[int, ...] = (),
                use_cache: bool = True) -> list[int]:
    """Beam search; hypotheses end at eos and are ranked by logprob / length**length_penalty."""
    if beams < 1:
        raise ValueError("beams must be at least 1")
    dev = _device(model)
    ids = torch.tensor([prompt], dtype=torch.long, device=dev)  # live beams (B, T)
    scores = torch.zeros(1, device=dev)
    past = None
    finished: list[tuple[float, list[int]]] = []
    n0 = len(prompt)
    for _ in range(max_new_tokens):
        logprobs, past = _step(model, ids, past, use_cache)  # (B, V)
        total = (scores[:, None] + logprobs).view(-1)
        vals, flat = _top(total, 2 * beams)
        keep_rows, keep_tok, keep_scores = [], [], []
        for v, f in zip(vals.tolist(), flat.tolist()):
            row, tok = divmod(f, logprobs.size(-1))
            if tok == eos_id or tok in stop_ids:
                gen = ids[row, n0:].tolist()
                finished.append((v / max(len(gen) + 1, 1) ** length_penalty, gen))
            else:
                keep_rows.append(row)
                keep_tok.append(tok)
                keep_scores.append(v)
            if len(keep_rows) == beams or len(finished) >= beams:
                break
        if len(finished) >= beams or not keep_rows:
            break
        rows = torch.tensor(keep_rows, device=dev)
        ids = torch.cat([ids[rows], torch.tensor(keep_tok, device=dev).view(-1, 1)], dim=1)
        scores = torch.tensor(keep_scores, device=dev)
        if past is not None:
            past = select_cache(past, rows)
    else:
        for r in range(ids.size(0)):
            gen = ids[r, n0:].tolist()
            finished.append((float(scores[r]) / max(len(gen), 1) ** length_penalty, gen))
    if not finished:
        return []
    return max(finished, key=lambda sg: sg[0])[1]


def decode(model: Any, prompt: list[int], *, beams: int, max_new_tokens: int, eos_id: int,
           stop_ids: tuple[int, ...] = (), use_cache: bool = True) -> list[int]:
    """Greedy when ``beams == 1``, else beam search."""
    if beams == 1:
        return greedy(model, prompt, max_new_tokens=max_new_tokens, eos_id=eos_id,
                      stop_ids=stop_ids, use_cache=use_cache)
    return beam_search(model, prompt, beams=beams, max_new_tokens=max_new_tokens, eos_id=eos_id,
                       stop_ids=stop_ids, use_cache=use_cache)
