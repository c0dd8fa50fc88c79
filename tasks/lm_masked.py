"""The encoder adapters of :mod:`tasks.lm_api`: our ``bert`` (pseudo-log-likelihood) and ``hf:`` encoders.

A masked LM scores a token by masking it and reading its probability
(pseudo-log-likelihood, Salazar et al. 2020): rolling scores mask each token of
a document in turn (windows of the context); a (context, continuation) request
masks each continuation token in turn with the context before it. Encoders
cannot generate, and ``hf:`` encoders (no MLM head loaded) only give hidden
states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tasks.lm_base import LM, NotApplicable
from tasks.lm_causal import count_words


class MaskedLM(LM):
    """Our ``bert``: pseudo-log-likelihood scoring; no generation."""

    def _pll(self, seqs: list[list[int]], positions: list[list[int]], batch_size: int
             ) -> list[tuple[list[float], list[bool]]]:
        """Log-prob and argmax hit of each listed position of each sequence, masked in turn."""
        mask_id, pad = self.bb.special["mask"], self.bb.special.get("pad", 0)
        jobs = sorted(((len(s), k, p) for k, (s, ps) in enumerate(zip(seqs, positions))
                       for p in ps), key=lambda j: (-j[0], j[1], j[2]))
        got: dict[tuple[int, int], tuple[float, bool]] = {}
        rows = max(1, batch_size * 4)  # masked copies are short; batch more of them
        for a in range(0, len(jobs), rows):
            chunk = jobs[a:a + rows]
            width = chunk[0][0]
            x = torch.full((len(chunk), width), pad, dtype=torch.long)
            att = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, (n, k, p) in enumerate(chunk):
                x[r, :n] = torch.tensor(seqs[k])
                att[r, :n] = 1
                x[r, p] = mask_id
            idx = torch.arange(len(chunk))
            pos = torch.tensor([p for _, _, p in chunk])
            gold = torch.tensor([seqs[k][p] for _, k, p in chunk])
            h = self.bb.module.hidden(x.to(self.device), attention_mask=att.to(self.device))
            logp = torch.log_softmax(self.bb.module.mlm_logits(h[idx, pos]).float(), -1).cpu()
            lp = logp[idx, gold]
            hit = logp.argmax(-1) == gold
            for r, (_, k, p) in enumerate(chunk):
                got[(k, p)] = (float(lp[r]), bool(hit[r]))
        return [([got[(k, p)][0] for p in ps], [got[(k, p)][1] for p in ps])
                for k, ps in enumerate(positions)]

    @torch.no_grad()
    def loglikelihood_tokens(self, requests: Sequence[tuple[list[int], list[int]]], *,
                             batch_size: int = 16) -> list[tuple[float, bool]]:
        """Sum of the continuation tokens' pseudo-log-likelihoods (each masked in turn)."""
        self.bb.module.eval()
        cls, sep = self.bb.special["cls"], self.bb.special["sep"]
        seqs, positions = [], []
        for ctx, cont in requests:
            cont = list(cont)[-(self.max_length - 2):]
            room = self.max_length - 2 - len(cont)
            ctx = list(ctx)[-room:] if room > 0 else []
            seqs.append([cls] + ctx + cont + [sep])
            positions.append(list(range(1 + len(ctx), 1 + len(ctx) + len(cont))))
        return [(sum(lp), all(hit)) for lp, hit in self._pll(seqs, positions, batch_size)]

    @torch.no_grad()
    def loglikelihood_rolling(self, texts: Sequence[str], *, window: str = "overlap",
                              stride: int | None = None, batch_size: int = 16
                              ) -> list[dict[str, Any]]:
        """Pseudo-log-likelihood of every token, in disjoint windows of the context.

        ``window``/``stride`` do not apply: every token sees its whole window on both sides.
        """
        self.bb.module.eval()
        cls, sep = self.bb.special["cls"], self.bb.special["sep"]
        width = self.max_length - 2
        seqs, positions, owner = [], [], []
        for d, text in enumerate(texts):
            ids = self.tok_encode(text)
            for a in range(0, len(ids), width):
                chunk = ids[a:a + width]
                seqs.append([cls] + chunk + [sep])
                positions.append(list(range(1, len(chunk) + 1)))
                owner.append(d)
        scored = self._pll(seqs, positions, batch_size)
        docs: list[dict[str, Any]] = [{"token_logprobs": [], "token_correct": [],
                                       "n_bytes": len(t.encode("utf-8")), "n_words": count_words(t)}
                                      for t in texts]
        for d, (lp, hit) in zip(owner, scored):
            docs[d]["token_logprobs"].extend(lp)
            docs[d]["token_correct"].extend(hit)
        return docs

    def info(self) -> dict[str, Any]:
        return {**super().info(), "scoring": "pseudo-log-likelihood"}


class EncoderLM(LM):
    """An ``hf:`` encoder: hidden states for the task heads only."""

    def loglikelihood_tokens(self, requests: Sequence[tuple[list[int], list[int]]], *,
                             batch_size: int = 16) -> list[tuple[float, bool]]:
        raise NotApplicable("an hf: encoder has no language-modelling head")

    def loglikelihood_rolling(self, texts: Sequence[str], *, window: str = "overlap",
                              stride: int | None = None, batch_size: int = 16
                              ) -> list[dict[str, Any]]:
        raise NotApplicable("an hf: encoder has no language-modelling head")
