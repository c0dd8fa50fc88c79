"""One entry point for every leaderboard view: ``show(db, task=..., fmt=...)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError

FORMATS = ("terminal", "markdown", "csv", "json", "html")


def render(db: str | Path, *, task: str | None = None, fmt: str = "terminal",
           signatures: bool = False, run: str | Path | None = None) -> str:
    """The leaderboard in a store (optionally one task) in one of :data:`FORMATS`.

    ``run``: instead, that run's checkpoints over training (terminal or markdown).
    """
    from leaderboards import board, html, tables, training
    from leaderboards.composite import composites, html_table
    from leaderboards.frame import frame_from_docs
    from leaderboards.store import open_store

    if fmt not in FORMATS:
        raise HarnessError(f"unknown format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    with open_store(db, create=False) as store:
        _check_task(store, task)
        results, models = store.results(task), store.models()
    if run is not None:
        if fmt not in ("terminal", "markdown"):
            raise HarnessError(f"--run shows terminal or markdown tables, not {fmt}",
                               hint="drop --format, or use --format markdown")
        return training.text_table(frame_from_docs(results, models), run, models, fmt=fmt)
    boards = board.aggregate(results, models)
    if fmt == "html":
        frame = frame_from_docs(results, models)
        return html.render_html(boards, models, extra=[html_table(composites(frame)),
                                                       training.html_section(frame, models)])
    if fmt == "markdown":
        return tables.markdown(boards, signatures=signatures)
    if fmt == "csv":
        return tables.to_csv(boards)
    if fmt == "json":
        return tables.to_json(boards)
    return tables.terminal(boards, signatures=signatures)


def write_parquet(db: str | Path, out: str | Path, *, task: str | None = None) -> Path:
    """The store as a parquet file (one row per model, task, setting and seed), atomically;
    a task with no results is refused as :func:`render` refuses it."""
    from harnesskit.fsutil import atomic_file
    from leaderboards.frame import results_frame
    from leaderboards.store import open_store

    if task is not None:
        with open_store(db, create=False) as store:
            _check_task(store, task)
    frame = results_frame(db, task=task)
    with atomic_file(out) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(out)


def _check_task(store: Any, task: str | None) -> None:
    if task is not None and task not in store.tasks():
        raise HarnessError(f"no results for task {task!r} in {store.where}",
                           hint=f"tasks with results: {', '.join(store.tasks()) or 'none'}")


def write_view(text: str, out: str | Path) -> Path:
    """Write a rendered view atomically."""
    from harnesskit.fsutil import write_text_atomic

    path = Path(out)
    write_text_atomic(path, text)
    return path


def compare(db: str | Path, a: str, b: str, *, task: str | None = None,
            setting: str | None = None, n_boot: int = 10000, seed: int = 0) -> list:
    """Paired bootstrap comparisons of two models in a store (see :mod:`leaderboards.compare`)."""
    from leaderboards.compare import compare as _compare
    from leaderboards.store import open_store

    with open_store(db, create=False) as store:
        results = store.results(task)
    return _compare(results, a, b, task=task, setting=setting, n_boot=n_boot, seed=seed)
