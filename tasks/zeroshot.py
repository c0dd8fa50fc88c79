"""Zero-shot prediction with a ``gpt`` model: choice log-likelihoods, or prompting.

Classification compares the log-likelihood of each label (as `` label`` after
the task prompt), calibrated by its log-likelihood after a content-free prompt; QA compares the context's sentences as answers (mean
log-probability per token, so long sentences are not penalised for length);
the generative families decode greedily from the task prompt and stop at the
end of the line. The prompt is run once and each choice continues from its
KV cache.
"""

from __future__ import annotations

import re

import torch

from tasks.base import Example, Task
from tasks.decoding import greedy
from tasks.models import Backbone

MAX_NEW_TOKENS = 40


def _choice_logprobs(bb: Backbone, prompt: list[int], choices: list[list[int]]) -> list[float]:
    """Sum of log-probs of each choice's tokens after ``prompt`` (one cached prompt pass)."""
    room = bb.block_size - max(len(c) for c in choices)
    prompt = prompt[-max(1, room):]
    h, past = bb.module.hidden(torch.tensor([prompt], device=bb.device))
    first = torch.log_softmax(bb.module.logits(h[:, -1]).float(), -1)[0]
    out = []
    for c in choices:
        total = float(first[c[0]])
        if len(c) > 1:
            hc, _ = bb.module.hidden(torch.tensor([c[:-1]], device=bb.device), past)
            lp = torch.log_softmax(bb.module.logits(hc).float(), -1)[0].cpu()
            total += float(lp[torch.arange(len(c) - 1), torch.tensor(c[1:])].sum())
        out.append(total)
    return out


def _sentences(context: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(context.split()))
    return [p for p in parts if p]


@torch.no_grad()
def predict_zeroshot(bb: Backbone, task: Task, exs: list[Example]) -> list[str]:
    """Zero-shot predictions of a gpt backbone for ``exs``."""
    bb.module.eval()
    if task.family == "classification":
        labels = task.labels()  # type: ignore[attr-defined]
        choices = [bb.encode(" " + lab) for lab in labels]
        # Calibrate by the label's log-likelihood after a content-free prompt (the prompt
        # with an empty input, Zhao et al. 2021): a small LM's preference for one label
        # word otherwise swamps what the text says.
        empty = Example(id="", input="", references=[])
        prior = _choice_logprobs(bb, bb.encode(task.prompt(empty)), choices)
        out = []
        for e in exs:
            cond = _choice_logprobs(bb, bb.encode(task.prompt(e)), choices)
            out.append(labels[_argmax([c - p for c, p in zip(cond, prior)])])
        return out
    if task.family == "qa":
        out = []
        for e in exs:
            sents = _sentences(e.input["context"]) or [""]  # type: ignore[index]
            choices = [bb.encode(" " + s)[:64] or [bb.special["eos"]] for s in sents]
            scores = _choice_logprobs(bb, bb.encode(task.prompt(e)), choices)
            out.append(sents[_argmax([s / len(c) for s, c in zip(scores, choices)])])
        return out
    newline = tuple(i for i in (bb.tokenizer.token_to_id("Ċ"),) if i is not None)
    out = []
    for e in exs:
        prompt = bb.encode(task.prompt(e))[-(bb.block_size - MAX_NEW_TOKENS):]
        ids = greedy(bb.module, prompt, max_new_tokens=MAX_NEW_TOKENS, eos_id=bb.special["eos"],
                     stop_ids=newline)
        out.append(bb.decode(ids).split("\n")[0].strip())
    return out


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=lambda i: (xs[i], -i))
