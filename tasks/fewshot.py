"""Few-shot contexts: a seeded sampler of solved examples, and how they are joined.

Every zero-shot task can be run k-shot. The shots of an example are drawn from
the task's ``fewshot_split`` (train unless the task says otherwise) by a
generator seeded with (seed, task, example id), so they do not depend on the
batch, on ``--limit`` or on the other examples, and the example being scored
is never among its own shots. Each shot is ``prompt + target_delimiter +
target``; shots and the question are joined by ``fewshot_delimiter`` (as in
lm-evaluation-harness). With ``chat_template`` the model's tokenizer template
renders the shots as user/assistant turns and the question as the last user
turn (generation prompt added).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harnesskit.errors import HarnessError
from tasks.base import Example, Task
from tasks.lm_base import LM, NotApplicable


@dataclass(frozen=True, kw_only=True)
class PromptConfig:
    """How examples become contexts; part of a result's identity (0-shot != 5-shot)."""

    num_fewshot: int = 0       # solved examples before each question
    seed: int = 0              # the sampler's seed (the evaluation seed)
    chat_template: bool = False  # render through the tokenizer's chat template

    def __post_init__(self) -> None:
        if self.num_fewshot < 0:
            raise HarnessError(f"--num-fewshot must be >= 0, got {self.num_fewshot}")


def sample_shots(task: Task, ex: Example, k: int, seed: int) -> list[Example]:
    """``k`` examples of the task's few-shot split, never ``ex`` itself (seeded per example)."""
    if k == 0:
        return []
    pool = task.examples(task.fewshot_split)
    candidates = [i for i in range(len(pool)) if pool[i].id != ex.id]
    if len(candidates) < k:
        raise HarnessError(f"task {task.name}: {k}-shot needs {k} examples in its "
                           f"{task.fewshot_split} split, which has {len(candidates)}",
                           hint="lower --num-fewshot")
    rng = random.Random(f"{seed}:{task.name}:{ex.id}")
    return [pool[i] for i in rng.sample(candidates, k)]


def build_context(task: Task, ex: Example, shots: list[Example], lm: LM | None = None,
                  chat: bool = False) -> str:
    """The context for ``ex`` after ``shots`` (plain text, or the model's chat template)."""
    if not chat:
        parts = [task.prompt(s) + task.target_delimiter + task.target(s) for s in shots]
        return task.fewshot_delimiter.join([*parts, task.prompt(ex)])
    tok = lm.bb.extra.get("hf_tokenizer") if lm is not None else None
    if tok is None or not getattr(tok, "chat_template", None):
        raise NotApplicable("the model's tokenizer has no chat template (--chat-template)")
    messages: list[dict[str, Any]] = []
    for s in shots:
        messages += [{"role": "user", "content": task.prompt(s)},
                     {"role": "assistant", "content": task.target(s)}]
    messages.append({"role": "user", "content": task.prompt(ex)})
    return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def contexts(task: Task, exs: list[Example], cfg: PromptConfig, lm: LM | None = None,
             make: Any = None) -> list[str]:
    """The context of every example; ``make(ex) -> Example`` rewrites the scored example
    (the calibration prompt of classification) while keeping its shots."""
    out = []
    for ex in exs:
        shots = sample_shots(task, ex, cfg.num_fewshot, cfg.seed)
        out.append(build_context(task, make(ex) if make else ex, shots, lm, cfg.chat_template))
    return out
