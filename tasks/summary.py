"""Summaries of registered tasks for ``harness tasks list`` and ``tasks show``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.data import built_meta
from tasks.lmeval import PREFIX, is_lmeval_name, require_lmeval
from tasks.lmeval import index as lmeval_index
from tasks.lmeval import run as lmeval_run
from tasks.registry import get_task, include, list_tasks, origin_of


def task_rows(family: str | None = None, includes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per task: name, family, source, sizes, metrics, availability.

    Answered from metadata: nothing is built (building every task took 55 s on a
    fresh data home). ``sizes`` are the real counts of tasks already built here
    (``built`` True), else None: `harness tasks show NAME` or any use builds them."""
    for folder in includes:
        include(folder)
    rows = []
    for name in list_tasks(family):
        task = get_task(name)
        ok, why = task.available()
        meta = built_meta(task)
        rows.append({"name": name, "family": task.family, "version": task.version,
                     "source": task.source, "sizes": dict(meta["sizes"]) if meta else None,
                     "built": meta is not None,
                     "metrics": [m.name for m in task.metrics], "available": ok, "reason": why,
                     "origin": origin_of(name)})
    return rows


def lmeval_rows(includes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per lm-eval task, group and tag (from their YAMLs; nothing is built or imported).

    Availability: a task's data must be local (``data_files``) or in the datasets or hub
    cache; a group or tag needs all its tasks.
    """
    require_lmeval()
    for folder in includes:
        include(folder)
    index = lmeval_index.load_index()
    memo: dict[str, tuple[bool | None, str]] = {}
    cached = lmeval_index.cached_names()
    rows = []
    for name in sorted(index):
        e = index[name]
        ok, why = lmeval_index.availability(name, index, memo, cached)
        rows.append({"name": PREFIX + name, "kind": e.kind, "output_type": e.output_type,
                     "dataset": e.dataset_path, "available": ok, "reason": why,
                     "origin": e.path})
    return rows


def show_task(name: str, n_examples: int = 2) -> dict[str, Any]:
    """Everything about one task, with its data hash and a few test examples when available."""
    task = get_task(name)
    info = task.describe()
    if is_lmeval_name(name):
        if info["available"]:
            info["data_hash"] = task.data_hash()
            info["examples"] = lmeval_run.examples(task, n_examples)  # type: ignore[arg-type]
        return info
    info["origin"] = origin_of(name)
    if info["available"]:
        info["sizes"] = task.sizes()
        info["data_hash"] = task.data_hash()
        info["examples"] = [e.to_dict() for e in task.examples("test")[:n_examples]]
        if task.family == "lm":
            for e in info["examples"]:
                e["input"] = e["input"][:300] + ("..." if len(e["input"]) > 300 else "")
    return info
