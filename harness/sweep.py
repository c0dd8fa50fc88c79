"""Sweeps over a run's checkpoints: which ones exist, and which a ``--checkpoints`` spec selects.

A run directory holds ``checkpoints/step-XXXXXXX/``, each written into a
temporary sibling and renamed into place with its ``MANIFEST.json``, so a
folder of that exact name with a manifest is a complete checkpoint; anything
else (a ``.tmp-*`` folder of a writer still at work) is never listed.

``--checkpoints`` takes ``all``, ``last:K`` (the newest K), ``every:N`` (the
checkpoints whose step is a multiple of N), or a comma-separated list of
``step-0000400`` names or plain step numbers. Each selected checkpoint is then
an ordinary model for the evaluator (id ``run@step-XXXXXXX``), so results already
computed for it are found by its content hash and reused: a sweep is incremental.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harnesskit.errors import HarnessError

STEP_DIR = re.compile(r"^step-(\d+)$")
SPEC_HELP = "all, last:K, every:N, or step-0000400,step-0000800 (or 400,800)"


@dataclass(frozen=True, order=True)
class Checkpoint:
    """One complete checkpoint of a run."""

    step: int
    path: Path


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a run directory (it has, or will have, ``checkpoints/``)."""
    p = Path(path)
    return (p / "checkpoints").is_dir() or (p / "latest").is_file()


def list_checkpoints(run: str | Path) -> list[Checkpoint]:
    """The run's complete checkpoints, oldest first (an absent run has none)."""
    root = Path(run) / "checkpoints"
    out = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for p in entries:
        m = STEP_DIR.match(p.name)
        if m and (p / "MANIFEST.json").is_file():
            out.append(Checkpoint(int(m.group(1)), p))
    return sorted(out)


def select(ckpts: list[Checkpoint], spec: str, *, run: str | Path = "") -> list[Checkpoint]:
    """The checkpoints a ``--checkpoints`` spec names; a name that is not there is an error."""
    text = spec.strip()
    if text == "all":
        return list(ckpts)
    kind, _, arg = text.partition(":")
    if kind in ("last", "every"):
        n = _positive(arg, text)
        if kind == "last":
            return list(ckpts[-n:])
        return [c for c in ckpts if c.step % n == 0]
    by_step = {c.step: c for c in ckpts}
    wanted, missing = [], []
    for part in (s.strip() for s in text.split(",")):
        if not part:
            continue
        m = STEP_DIR.match(part)
        if not (m or part.isdigit()):
            raise HarnessError(f"--checkpoints {spec!r}: cannot read {part!r}",
                               hint=f"use {SPEC_HELP}")
        step = int(m.group(1) if m else part)
        (wanted if step in by_step else missing).append(step)
    if missing:
        have = ", ".join(c.path.name for c in ckpts) or "none"
        raise HarnessError(f"run {run} has no checkpoint at step "
                           f"{', '.join(map(str, missing))}", hint=f"its checkpoints: {have}")
    if not wanted:
        raise HarnessError(f"--checkpoints {spec!r} names no checkpoint", hint=f"use {SPEC_HELP}")
    return [by_step[s] for s in sorted(set(wanted))]


def _positive(arg: str, spec: str) -> int:
    try:
        n = int(arg)
    except ValueError:
        n = 0
    if n < 1:
        raise HarnessError(f"--checkpoints {spec!r}: expected a positive number after ':'",
                           hint=f"use {SPEC_HELP}")
    return n


def expand_models(models: list[str], spec: str | None) -> list[str]:
    """``--model`` values with every run directory replaced by its selected checkpoints.

    Without a spec the models are returned as given (a run directory means its
    latest checkpoint). With one, every model must be a run directory.
    """
    if spec is None:
        return list(models)
    out: list[str] = []
    for model in models:
        if model.startswith("hf:") or not is_run_dir(model):
            raise HarnessError(f"--checkpoints needs run directories; {model} is not one",
                               hint="pass --model RUN (the folder holding checkpoints/)")
        ckpts = list_checkpoints(model)
        if not ckpts:
            raise HarnessError(f"run {model} has no complete checkpoint yet",
                               hint="wait for its first checkpoint, or use `harness watch`")
        out.extend(str(c.path) for c in select(ckpts, spec, run=model))
    return out
