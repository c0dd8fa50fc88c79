"""The causal adapter of :mod:`tasks.lm_api`: our ``gpt`` and ``hf:`` causal LMs.

Both expose ``hidden(idx, past, keys=, pos=)`` and ``logits(h)`` (our
``GPT`` natively, transformers models through :class:`tasks.hf_causal.HFCausal`),
so one implementation serves every causal model.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Sequence
from typing import Any

import torch

from tasks.lm_base import DEFAULT_MAX_GEN_TOKS, LM, rolling_windows
from tasks.models import Backbone

# Rows per LM-head call: about HEAD_ELEMS logits (256 MiB of float32: 4,096 rows of a 16k
# vocabulary; measured on this CPU, larger calls are faster than cache-sized ones), but at least
# HEAD_MIN_ROWS rows, so that reading the head's weights is amortised over enough rows.
HEAD_ELEMS = 1 << 26
HEAD_MIN_ROWS = 256
# Continuations (tokens 2..) scored per forward on top of a prompt batch's cache, per unit of
# batch size: a question's choices (typically 2 to 5) then go in one call and reorder the
# cache in place instead of copying it.
CONT_ROWS = 4


def count_words(text: str) -> int:
    """Words as lm-evaluation-harness's wikitext counts them: ``len(re.split(r"\\s+", text))``."""
    return len(re.split(r"\s+", text))


def _take(h: torch.Tensor, spans: list[tuple[int, int, int]]) -> torch.Tensor:
    """The rows ``h[r, a:b]`` for each span ``(r, a, b)``, in order, as one (N, C) tensor."""
    t = h.size(1)
    idx = torch.tensor([r * t + k for r, a, b in spans for k in range(a, b)], device=h.device)
    return h.reshape(-1, h.size(-1)).index_select(0, idx)


def _chunks(xs: list[Any], n: int) -> list[list[Any]]:
    return [xs[i:i + n] for i in range(0, len(xs), max(1, n))]


class CausalLM(LM):
    """Scoring and generation for decoder-only models (see :mod:`tasks.lm_api`)."""

    def __init__(self, bb: Backbone) -> None:
        super().__init__(bb)
        self.model = bb.module
        self.pad_id = bb.special.get("pad", self.eot_id)
        # transformers models build a KV cache unless told not to (ours return theirs for free)
        self._can_skip_cache = "cache" in inspect.signature(self.model.hidden).parameters
        self._vocab: int | None = None

    def _hidden(self, ids: torch.Tensor, *, cache: bool) -> tuple[torch.Tensor, Any]:
        """``model.hidden(ids)``, building no KV cache where none is needed and the model can skip it."""
        if cache or not self._can_skip_cache:
            return self.model.hidden(ids)
        return self.model.hidden(ids, cache=False)

    def _tensor(self, rows: list[list[int]], left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ids (B, T) and the bool mask of real tokens."""
        width = max(len(r) for r in rows)
        pads = [[self.pad_id] * (width - len(r)) for r in rows]
        ids = torch.tensor([p + r if left else r + p for r, p in zip(rows, pads)], dtype=torch.long)
        lens, cols = torch.tensor([len(r) for r in rows]), torch.arange(width)[None]
        keys = cols >= (width - lens)[:, None] if left else cols < lens[:, None]
        return ids.to(self.device), keys.to(self.device)

    def _score(self, h: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probs (float32 log-softmax) of ``targets`` (N,) and whether each is the argmax.

        Target n is predicted by hidden row ``rows[n]`` of ``h`` (M, C) (default: row n),
        so a row shared by several targets (a prompt's last token, for every choice) runs
        through the LM head once. Per chunk of rows: one max pass (value and argmax), then
        ``log_softmax(z)[t] = z[t] - m - log(sum(exp(z - m)))`` in place, as torch's
        log_softmax computes it, without a second (rows, V) tensor.
        """
        dev = h.device
        targets = targets.to(dev)
        rows = torch.arange(len(targets), device=dev) if rows is None else rows.to(dev)
        lp = torch.empty(len(targets), dtype=torch.float32, device=dev)
        hit = torch.empty(len(targets), dtype=torch.bool, device=dev)
        if self._vocab is None and len(h):  # one row tells the vocabulary size
            self._vocab = self.model.logits(h[:1]).size(-1)
        step = max(HEAD_MIN_ROWS, HEAD_ELEMS // (self._vocab or 1))
        for a in range(0, h.size(0), step):
            z = self.model.logits(h[a:a + step]).float()
            sel = ((rows >= a) & (rows < a + step)).nonzero()[:, 0]
            r, t = rows[sel] - a, targets[sel]
            zt = z[r, t]
            m, best = z.max(-1)
            lse = m + z.sub_(m[:, None]).exp_().sum(-1).log()
            lp[sel] = zt - lse[r]
            hit[sel] = best[r] == t
        return lp.cpu(), hit.cpu()

    # -- loglikelihood ---------------------------------------------------------
    @torch.no_grad()
    def loglikelihood_tokens(self, requests: Sequence[tuple[list[int], list[int]]], *,
                             batch_size: int = 16) -> list[tuple[float, bool]]:
        """Contexts shared by several continuations run once; see :meth:`LM.loglikelihood`.

        A context longer than the model allows keeps its last ``max_length + 1 -
        len(longest continuation of that context)`` tokens.
        """
        self.model.eval()
        uniq: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        index = [uniq.setdefault((tuple(c), tuple(x)), len(uniq)) for c, x in requests]
        if len(uniq) < len(requests):  # a repeated request (a content-free prior) runs once
            got = self.loglikelihood_tokens([(list(c), list(x)) for c, x in uniq],
                                            batch_size=batch_size)
            return [got[j] for j in index]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, cont) in enumerate(requests):
            if not cont:
                raise ValueError(f"request {i} has an empty continuation")
            groups.setdefault(tuple(ctx), []).append(i)
        longest = {c: max(len(requests[i][1]) for i in idx) for c, idx in groups.items()}
        order = sorted(groups, key=lambda c: (-(len(c) + longest[c]), c))
        out: list[Any] = [None] * len(requests)
        for chunk in _chunks(order, batch_size):
            self._group_batch(chunk, groups, requests, out, batch_size)
        return out

    def _group_batch(self, ctxs: list[tuple[int, ...]], groups: dict, requests: Sequence,
                     out: list[Any], batch_size: int) -> None:
        n_max = self.max_length
        rows = [(g, i) for g, c in enumerate(ctxs) for i in groups[c]]
        conts = {i: list(requests[i][1])[-n_max:] for _, i in rows}
        prompts = []
        for c in ctxs:
            room = max(1, n_max + 1 - max(len(conts[i]) for i in groups[c]))
            prompts.append(list(c)[-room:] or [self.eot_id])
        ids, keys = self._tensor(prompts)
        lens = keys.sum(1)
        more = [(g, i) for g, i in rows if len(conts[i]) > 1]
        # right padding: real positions never see it; the cache only serves tokens 2..
        h, past = self._hidden(ids, cache=bool(more))
        last = h[torch.arange(len(prompts), device=h.device), lens - 1]
        first = torch.tensor([conts[i][0] for _, i in rows])
        lp0, hit0 = self._score(last, first, torch.tensor([g for g, _ in rows]))
        for k, (_, i) in enumerate(rows):
            out[i] = (float(lp0[k]), bool(hit0[k]))
        chunks = _chunks(more, CONT_ROWS * batch_size)
        for chunk in chunks:
            self._continue(chunk, conts, past, keys, lens, out, reuse=len(chunks) > 1)

    def _continue(self, chunk: list[tuple[int, int]], conts: dict, past: Any, keys: torch.Tensor,
                  lens: torch.Tensor, out: list[Any], reuse: bool) -> None:
        """Score continuation tokens 2.. of ``chunk`` on top of their prompts' cached keys
        (``reuse``: ``past`` serves another chunk after this one, so it is copied, not reordered)."""
        from tasks.hf_causal import select_cache

        sel = torch.tensor([g for g, _ in chunk], device=keys.device)
        cache = select_cache(copy.deepcopy(past) if reuse and not isinstance(past, list) else past,
                             sel)
        ids, ckeys = self._tensor([conts[i][:-1] for _, i in chunk])
        pkeys = keys[sel]
        if bool(pkeys.all()):  # prompts of one length: the plain causal path
            hc, _ = self.model.hidden(ids, cache)
        else:
            pos = lens[sel][:, None] + torch.arange(ids.size(1), device=ids.device)[None]
            pos = pos.clamp(max=self.max_length - 1)  # only padding reaches past the context
            hc, _ = self.model.hidden(ids, cache, keys=torch.cat([pkeys, ckeys], 1), pos=pos)
        take = _take(hc, [(r, 0, len(conts[i]) - 1) for r, (_, i) in enumerate(chunk)])
        tgt = torch.tensor([t for _, i in chunk for t in conts[i][1:]])
        lp, hit = self._score(take, tgt)
        a = 0
        for _, i in chunk:
            n = len(conts[i]) - 1
            s, g = out[i]
            out[i] = (s + float(lp[a:a + n].double().sum()), g and bool(hit[a:a + n].all()))
            a += n

    # -- rolling ---------------------------------------------------------------
    @torch.no_grad()
    def loglikelihood_rolling(self, texts: Sequence[str], *, window: str = "overlap",
                              stride: int | None = None, batch_size: int = 16
                              ) -> list[dict[str, Any]]:
        """Whole-document token log-probs; windows from every document are batched together."""
        self.model.eval()
        wins = []  # (doc, input ids, target ids)
        for d, text in enumerate(texts):
            for inp, tgt in rolling_windows(self.tok_encode(text), self.eot_id, self.max_length,
                                            window=window, stride=stride):
                wins.append((d, inp, tgt))
        order = sorted(range(len(wins)), key=lambda j: (-len(wins[j][1]), j))
        got: dict[int, tuple[list[float], list[bool]]] = {}
        for chunk in _chunks(order, batch_size):
            ids, _ = self._tensor([wins[j][1] for j in chunk])
            h, _ = self._hidden(ids, cache=False)
            take = _take(h, [(r, len(wins[j][1]) - len(wins[j][2]), len(wins[j][1]))
                             for r, j in enumerate(chunk)])
            lp, hit = self._score(take, torch.tensor([t for j in chunk for t in wins[j][2]]))
            a = 0
            for j in chunk:
                n = len(wins[j][2])
                got[j] = (lp[a:a + n].tolist(), hit[a:a + n].tolist())
                a += n
        docs: list[dict[str, Any]] = [{"token_logprobs": [], "token_correct": [],
                                       "n_bytes": len(t.encode("utf-8")), "n_words": count_words(t)}
                                      for t in texts]
        for j, (d, _, _) in enumerate(wins):
            docs[d]["token_logprobs"].extend(got[j][0])
            docs[d]["token_correct"].extend(got[j][1])
        return docs

    # -- generation ------------------------------------------------------------
    @torch.no_grad()
    def generate_until(self, requests: Sequence[tuple[str, dict[str, Any]]], *,
                       batch_size: int = 16) -> list[str]:
        """Greedy requests batched with left padding; beam requests one at a time."""
        self.model.eval()
        prompts = [self.tok_encode(c) or [self.eot_id] for c, _ in requests]
        opts = [_options(o) for _, o in requests]
        out: list[Any] = [None] * len(requests)
        greedy = [i for i, o in enumerate(opts) if o["num_beams"] == 1]
        for i in (i for i, o in enumerate(opts) if o["num_beams"] > 1):
            out[i] = self._beam(prompts[i], opts[i])
        greedy.sort(key=lambda i: (opts[i]["max_gen_toks"], -len(prompts[i]), i))
        for n_new in sorted({opts[i]["max_gen_toks"] for i in greedy}):
            same = [i for i in greedy if opts[i]["max_gen_toks"] == n_new]
            room, n_gen = self._room(n_new)
            for chunk in _chunks(same, batch_size):
                texts = self._greedy([prompts[i][-room:] for i in chunk],
                                     [opts[i]["until"] for i in chunk], n_gen)
                for i, t in zip(chunk, texts):
                    out[i] = t
        return out

    def _room(self, n_new: int) -> tuple[int, int]:
        """(prompt tokens kept, tokens generated): prompt and generation fit in the context
        together; a model whose context is shorter than ``n_new`` generates what fits."""
        n_gen = max(1, min(n_new, self.max_length - 1))
        return self.max_length - n_gen, n_gen

    def _greedy(self, prompts: list[list[int]], untils: list[list[str]], n_new: int) -> list[str]:
        ids, keys = self._tensor(prompts, left=True)
        padded = not bool(keys.all())
        pos = (keys.long().cumsum(1) - 1).clamp(min=0)
        h, past = (self.model.hidden(ids, keys=keys, pos=pos) if padded
                   else self.model.hidden(ids))
        nxt_pos = pos[:, -1:] + 1
        gen: list[list[int]] = [[] for _ in prompts]
        alive = [True] * len(prompts)
        for step in range(n_new):
            tok = torch.log_softmax(self.model.logits(h[:, -1]).float(), -1).argmax(-1)
            for r, t in enumerate(tok.tolist()):
                if not alive[r]:
                    continue
                if t == self.eot_id:
                    alive[r] = False
                    continue
                gen[r].append(t)
                if untils[r] and any(u in self.tok_decode(gen[r]) for u in untils[r]):
                    alive[r] = False
            if not any(alive) or step == n_new - 1:
                break
            feed = tok.view(-1, 1)
            if padded:
                keys = torch.cat([keys, torch.ones_like(feed, dtype=torch.bool)], 1)
                h, past = self.model.hidden(feed, past, keys=keys, pos=nxt_pos)
                nxt_pos = nxt_pos + 1
            else:
                h, past = self.model.hidden(feed, past)
        return [_cut(self.tok_decode(g), u) for g, u in zip(gen, untils)]

    def _beam(self, prompt: list[int], opt: dict[str, Any]) -> str:
        from tasks.decoding import beam_search

        room, n_new = self._room(opt["max_gen_toks"])
        ids = beam_search(self.model, prompt[-room:],
                          beams=opt["num_beams"], max_new_tokens=n_new, eos_id=self.eot_id,
                          length_penalty=opt["length_penalty"])
        return _cut(self.tok_decode(ids), opt["until"])


def _options(o: dict[str, Any]) -> dict[str, Any]:
    """Generation options with defaults; an unknown key is an error."""
    known = {"until", "max_gen_toks", "num_beams", "length_penalty", "do_sample", "temperature"}
    bad = sorted(set(o) - known)
    if bad:
        raise ValueError(f"unknown generation option(s) {bad}; known: {sorted(known)}")
    if o.get("do_sample") or float(o.get("temperature", 0.0) or 0.0) > 0:
        raise ValueError("only greedy and beam search are supported (do_sample=False)")
    until = o.get("until") or []
    until = [until] if isinstance(until, str) else list(until)
    return {"until": until, "max_gen_toks": int(o.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS)),
            "num_beams": int(o.get("num_beams", 1)),
            "length_penalty": float(o.get("length_penalty", 1.0))}


def _cut(text: str, until: list[str]) -> str:
    """``text`` up to the first occurrence of any stop string."""
    ends = [text.find(u) for u in until if u and u in text]
    return text[:min(ends)] if ends else text
