"""``harness watch RUN``: evaluate each new checkpoint of a run as training writes it.

Every ``interval`` seconds the watcher lists the run's complete checkpoints
(:func:`harness.sweep.list_checkpoints`: a folder appears only once it is whole,
because checkpoints are written to a temporary sibling and renamed) and runs
the evaluator on each one it has not handled yet, one checkpoint at a time. It
keeps no state of its own: results are found by the checkpoint's content hash,
so a watcher stopped and started again (or several at once) re-evaluates
nothing. A checkpoint that the run rotates away before it was read is skipped
with a note. With ``until_done`` it stops once the run's final checkpoint
(``train.max_steps`` of its config) has been evaluated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sweep import Checkpoint, is_run_dir, list_checkpoints
from harnesskit.errors import HarnessError


@dataclass(frozen=True, kw_only=True)
class WatchConfig:
    """What to evaluate and how often to look."""

    run: Path
    tasks: str | Sequence[str]
    interval: float = 30.0
    until_done: bool = False
    mode: str = "zeroshot"
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    out: Path = Path("results")
    db: str | None = None
    baselines: bool = True
    batch_size: int = 16
    n_bootstrap: int = 1000
    include: tuple[str, ...] = ()
    executor: Any = None              # where each checkpoint's jobs run (harness.executors)

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise HarnessError(f"--interval must be positive, got {self.interval}")
        run = Path(self.run)
        if run.is_file() or (run / "MANIFEST.json").is_file():
            raise HarnessError(f"{run} is not a run folder (a file or a single checkpoint)",
                               hint="watch the run's folder, the --out of harness pretrain")
        if run.is_dir() and any(run.iterdir()) and not (
                is_run_dir(run) or (run / "metrics.jsonl").is_file()):
            raise HarnessError(f"{run} is not a run folder (no checkpoints/, latest or "
                               "metrics.jsonl)", hint="watch the --out of harness pretrain")


def run_finished(ckpts: list[Checkpoint]) -> bool:
    """Whether the newest checkpoint is the run's last (its step reached train.max_steps)."""
    if not ckpts:
        return False
    try:
        config = json.loads((ckpts[-1].path / "config.json").read_text())
        return ckpts[-1].step >= int(config["run"]["train"]["max_steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # rotated away meanwhile: look again next time


def watch(cfg: WatchConfig, say: Callable[[str], None] = print) -> list[Any]:
    """Evaluate every checkpoint of the run, new ones as they appear; returns the results."""
    from harness.evaluator import evaluate, resolve_tasks

    resolve_tasks(cfg.tasks, cfg.include)  # a wrong task name fails now, not at the first checkpoint
    handled: set[str] = set()
    results: list[Any] = []
    if not Path(cfg.run).exists():  # a run about to start is fine, but say what we wait for
        say(f"no run at {cfg.run} yet: waiting for its first checkpoint")
    while True:
        ckpts = list_checkpoints(cfg.run)
        for ckpt in (c for c in ckpts if c.path.name not in handled):
            try:
                done = evaluate([str(ckpt.path)], cfg.tasks, mode=cfg.mode, seeds=cfg.seeds,
                                limit=cfg.limit, out=cfg.out, db=cfg.db, baselines=cfg.baselines,
                                batch_size=cfg.batch_size, n_bootstrap=cfg.n_bootstrap,
                                include=cfg.include, executor=cfg.executor)
            except (HarnessError, OSError) as exc:
                if ckpt.path.exists():
                    raise
                why = exc.one_line() if isinstance(exc, HarnessError) else str(exc)
                say(f"skipped {ckpt.path.name}: the run removed it before it was read ({why})")
            else:
                results.extend(done)
                say(f"evaluated {ckpt.path.name}: " + ", ".join(_summary(r) for r in done
                                                               if not _is_baseline(r)))
            handled.add(ckpt.path.name)
        if cfg.until_done and run_finished(ckpts) and all(c.path.name in handled for c in ckpts):
            return results
        time.sleep(cfg.interval)


def _is_baseline(result: Any) -> bool:
    return result.doc.model.kind == "baseline"


def _summary(result: Any) -> str:
    """``task metric=value`` of a result's first metric."""
    if result.status != "ok" or not result.metrics:
        return f"{result.task} {result.status}"
    name = (result.doc.metric_order or list(result.metrics))[0]
    score = result.metrics[name].score
    return f"{result.task} {name}=" + ("error" if score is None else f"{score:.4g}")
