"""Summaries of registered tasks for ``harness tasks list`` and ``tasks show``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.registry import get_task, include, list_tasks, origin_of


def task_rows(family: str | None = None, includes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per task: name, family, source, sizes (when available), metrics, availability."""
    from harnesskit.progress import bar

    for folder in includes:
        include(folder)
    names = list_tasks(family)
    rows = []
    for name in bar(names, desc="tasks", leave=False):
        task = get_task(name)
        ok, why = task.available()
        sizes = None
        if ok:
            try:
                sizes = task.sizes()
            except Exception as exc:  # a source that breaks while building is reported, not fatal
                ok, why = False, f"build failed: {' '.join(str(exc).split())[:120]}"
        rows.append({"name": name, "family": task.family, "version": task.version,
                     "source": task.source, "sizes": sizes,
                     "metrics": [m.name for m in task.metrics], "available": ok, "reason": why,
                     "origin": origin_of(name)})
    return rows


def show_task(name: str, n_examples: int = 2) -> dict[str, Any]:
    """Everything about one task, with its data hash and a few test examples when available."""
    task = get_task(name)
    info = task.describe()
    info["origin"] = origin_of(name)
    if info["available"]:
        info["sizes"] = task.sizes()
        info["data_hash"] = task.data_hash()
        info["examples"] = [e.to_dict() for e in task.examples("test")[:n_examples]]
        if task.family == "lm":
            for e in info["examples"]:
                e["input"] = e["input"][:300] + ("..." if len(e["input"]) > 300 else "")
    return info
