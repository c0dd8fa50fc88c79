"""Evaluation inside the training loop: a trainer callback that scores the model in memory.

``harness pretrain ... --eval-tasks shakespeare-lm,bbc-news --eval-every N``
adds an :class:`InLoopEval` to the trainer's callbacks (the engine knows
nothing of tasks). Every N steps, and at the last step, it makes sure the step
has a checkpoint (the trainer writes one if its schedule did not), registers
the in-memory model as that checkpoint (:mod:`tasks.live`) and runs the same
``harness.evaluator.evaluate`` call as ``harness eval --mode zeroshot``:
language-modelling tasks are scored, the others prompted zero-shot. So the rows
it records are keyed by the checkpoint's content hash (a later sweep of that
checkpoint reuses them, and evaluating the saved checkpoint afresh gives the
same numbers), and the returned scores are logged to ``metrics.jsonl`` as
``eval/<task>/<metric>`` beside the loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError


@dataclass(kw_only=True)
class InLoopEval:
    """A trainer callback: zero-shot/LM evaluation of the live model every ``every`` steps."""

    tasks: list[str]
    every: int
    out: Path
    db: str | None = None
    limit: int | None = None
    batch_size: int = 16
    n_bootstrap: int = 1000
    baselines: bool = True
    include: tuple[str, ...] = ()
    history: list[dict[str, Any]] = field(default_factory=list)  # (step, results) of this run

    def __post_init__(self) -> None:
        if self.every < 1:
            raise HarnessError(f"--eval-every must be at least 1, got {self.every}")
        from harness.evaluator import resolve_tasks

        resolve_tasks(self.tasks, self.include)  # unknown or unavailable tasks fail before training

    def __call__(self, trainer: Any, event: Any) -> dict[str, Any] | None:
        if event.step % self.every and not event.last:
            return None
        ckpt = event.checkpoint or trainer.save(event.step, None)
        if not trainer.dist.is_main:
            return None
        results = self.evaluate(ckpt, trainer)
        self.history.append({"step": event.step, "checkpoint": ckpt, "results": results})
        return {f"eval/{r.task}/{name}": m.score
                for r in results if r.doc.model.kind != "baseline" and r.status == "ok"
                for name, m in r.metrics.items()}

    def evaluate(self, ckpt: Path, trainer: Any) -> list[Any]:
        """The evaluator on checkpoint ``ckpt``, with the trainer's model standing in for it."""
        from harness.evaluator import evaluate
        from pretrain.engine.checkpoint import unwrap
        from tasks.live import live_model

        with live_model(ckpt, unwrap(trainer.model), trainer.data.tokenizer, trainer.cfg):
            return evaluate([str(ckpt)], self.tasks, mode="zeroshot", seeds=[0], limit=self.limit,
                            out=self.out, db=self.db, baselines=self.baselines,
                            batch_size=self.batch_size, n_bootstrap=self.n_bootstrap,
                            include=self.include)
