"""A run's loss curve as the leaderboard draws it (from the run's ``metrics.jsonl``).

What the evaluator knows of a model before running it (kind, content hash, size)
is :class:`tasks.modelref.ModelRef`, resolved once by the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

CURVE_POINTS = 200  # loss-curve points kept per run (evenly thinned)


def read_curve(path: Path) -> dict[str, list] | None:
    """Training and validation loss by step from a run's ``metrics.jsonl`` (thinned)."""
    steps, loss, val = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a run interrupted mid-line leaves a partial last line
        if "step" not in rec or ("loss" not in rec and "val_loss" not in rec):
            continue
        steps.append(rec["step"])
        loss.append(rec.get("loss"))
        val.append(rec.get("val_loss"))
    if not steps:
        return None
    keep = _thin(len(steps), CURVE_POINTS, [i for i, v in enumerate(val) if v is not None])
    return {"step": [steps[i] for i in keep], "loss": [loss[i] for i in keep],
            "val_loss": [val[i] for i in keep]}


def _thin(n: int, k: int, always: list[int]) -> list[int]:
    """About ``k`` evenly spaced indices of ``range(n)``, plus ``always`` and the last one."""
    stride = max(1, n // k)
    return sorted(set(range(0, n, stride)) | set(always) | {n - 1})
