"""Zero- and few-shot predictions of any model through the requests of :mod:`tasks.lm_api`.

Each family turns its examples into requests; no family looks at the model's
kind (a kind that cannot answer a request raises ``NotApplicable``):

- classification: the log-likelihood of each label (`` label`` after the
  prompt), calibrated by its log-likelihood after a content-free prompt (the
  prompt with an empty input and the same shots, Zhao et al. 2021);
- qa: the context's sentences as choices, by mean log-probability per token;
- multiple_choice: each choice's log-likelihood with its length in characters
  and bytes (the metrics pick acc / acc_norm / acc_bytes);
- cloze: the target word's log-likelihood and whether greedy decoding gives it;
- summarization, translation, dialogue: greedy generation up to the end of the line.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.base import Example, Task
from tasks.fewshot import PromptConfig, contexts
from tasks.lm_base import LM

MAX_NEW_TOKENS = 40
MAX_SENTENCE_WORDS = 40  # a QA candidate sentence is cut here (as 64 tokens before)


def _sentences(context: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(context.split()))
    return [" ".join(p.split()[:MAX_SENTENCE_WORDS]) for p in parts if p] or [""]


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=lambda i: (xs[i], -i))


def predict_zeroshot(lm: LM, task: Task, exs: list[Example], cfg: PromptConfig | None = None,
                     *, batch_size: int = 16) -> list[Any]:
    """Predictions of ``lm`` for ``exs`` (zero- or few-shot, as ``cfg`` says)."""
    cfg = cfg or PromptConfig()
    ctx = contexts(task, exs, cfg, lm)
    d = task.target_delimiter
    fam = task.family
    if fam == "classification":
        return _classify(lm, task, exs, ctx, cfg, batch_size)
    if fam == "multiple_choice":
        choices = [task.choices(e) for e in exs]  # type: ignore[attr-defined]
        reqs = [(c, d + ch) for c, chs in zip(ctx, choices) for ch in chs]
        lls = iter(lm.loglikelihood(reqs, batch_size=batch_size))
        return [{"loglikelihoods": [next(lls)[0] for _ in chs],
                 "choice_chars": [len(ch) for ch in chs],
                 "choice_bytes": [len(ch.encode("utf-8")) for ch in chs]} for chs in choices]
    if fam == "cloze":
        out = lm.loglikelihood([(c, d + e.references[0]) for c, e in zip(ctx, exs)],
                               batch_size=batch_size)
        return [{"logprob": lp, "is_greedy": g} for lp, g in out]
    if fam == "qa":
        sents = [_sentences(e.input["context"]) for e in exs]  # type: ignore[index]
        reqs = [(c, d + s) for c, ss in zip(ctx, sents) for s in ss]
        pairs = [lm.encode_pair(c, x) for c, x in reqs]  # tokenised once, for scores and lengths
        lls = iter(lm.loglikelihood_tokens(pairs, batch_size=batch_size))
        lens = iter(max(1, len(cont)) for _, cont in pairs)
        return [ss[_argmax([next(lls)[0] / next(lens) for _ in ss])] for ss in sents]
    gen = lm.generate_until([(c, {"until": ["\n"], "max_gen_toks": MAX_NEW_TOKENS}) for c in ctx],
                            batch_size=batch_size)
    return [g.strip() for g in gen]


def _classify(lm: LM, task: Task, exs: list[Example], ctx: list[str], cfg: PromptConfig,
              batch_size: int) -> list[str]:
    labels = task.labels()  # type: ignore[attr-defined]
    d = task.target_delimiter

    def empty(e: Example) -> Example:
        return Example(id=e.id, input="", references=[])

    prior_ctx = contexts(task, exs, cfg, lm, make=empty)
    reqs = [(c, d + lab) for c in ctx + prior_ctx for lab in labels]
    lls = [lp for lp, _ in lm.loglikelihood(reqs, batch_size=batch_size)]
    k, n = len(labels), len(exs)
    out = []
    for i in range(n):
        cond, prior = lls[i * k:(i + 1) * k], lls[(n + i) * k:(n + i + 1) * k]
        out.append(labels[_argmax([c - p for c, p in zip(cond, prior)])])
    return out
