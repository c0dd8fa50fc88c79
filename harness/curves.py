"""A run's loss curve as the leaderboard draws it (from the run's ``metrics.jsonl``).

What the evaluator knows of a model before running it (kind, content hash, size)
is :class:`tasks.modelref.ModelRef`, resolved once by the CLI.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pretrain.engine.logging import read_metrics

CURVE_POINTS = 200  # loss-curve points kept per run (evenly thinned)


def read_curve(path: Path) -> dict[str, list] | None:
    """Training and validation loss by step from a run's ``metrics.jsonl`` (thinned).

    Memoised on the file's size and modification time: every job of a sweep or watcher
    describes the same run, and the log is read once until the run writes to it again."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return _curve(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _curve(path: str, size: int, mtime_ns: int) -> dict[str, list] | None:
    try:
        rows = read_metrics(Path(path))
    except OSError:
        return None
    rows = [r for r in rows if "step" in r and ("loss" in r or "val_loss" in r)]
    if not rows:
        return None
    val = [r.get("val_loss") for r in rows]
    keep = _thin(len(rows), CURVE_POINTS, [i for i, v in enumerate(val) if v is not None])
    return {"step": [rows[i]["step"] for i in keep], "loss": [rows[i].get("loss") for i in keep],
            "val_loss": [val[i] for i in keep]}


def _thin(n: int, k: int, always: list[int]) -> list[int]:
    """About ``k`` evenly spaced indices of ``range(n)``, plus ``always`` and the last one."""
    stride = max(1, n // k)
    return sorted(set(range(0, n, stride)) | set(always) | {n - 1})
