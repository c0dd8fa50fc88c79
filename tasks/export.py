"""Write a task's dataset to a folder: ``harness data build task:NAME --out DIR``.

The folder gets the three splits as JSONL (one :class:`tasks.base.Example` a
line, in the task's deterministic order) and ``report.json`` with the task's
name, version, family, source and data hash, and per split: examples, mean and
95th-percentile input and reference lengths in words, references per example
and, for classification, the label distribution. Written atomically.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir, temp_sibling
from tasks.base import SPLITS, Example, Task
from tasks.data import ensure_built


def _words(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_words(v) for v in value.values())
    return len(str(value).split())


def split_stats(examples: list[Example], family: str) -> dict[str, Any]:
    """Size and length statistics of one split."""
    if not examples:
        return {"examples": 0}
    inputs = np.array([_words(ex.input) for ex in examples])
    refs = [r for ex in examples for r in ex.references]
    ref_len = np.array([_words(r) for r in refs]) if refs else np.zeros(1)
    stats: dict[str, Any] = {
        "examples": len(examples),
        "input_words_mean": round(float(inputs.mean()), 2),
        "input_words_p95": float(np.percentile(inputs, 95)),
        "reference_words_mean": round(float(ref_len.mean()), 2),
        "references_per_example": round(len(refs) / len(examples), 3),
    }
    if family == "classification":
        stats["labels"] = dict(Counter(ex.label for ex in examples).most_common())
    return stats


def export_task(task: Task, out: Path) -> dict[str, Any]:
    """Write the task's splits and ``report.json`` into ``out``; returns the report."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "report.json").exists():
        raise HarnessError(f"{out} exists and is not a task dataset folder",
                           hint="choose a new --out folder")
    splits = {s: task.examples(s) for s in SPLITS}
    report = {"task": task.name, "version": task.version, "family": task.family,
              "source": task.source, "data_hash": task.data_hash(),
              "metrics": [m.name for m in task.metrics],
              "splits": {s: split_stats(splits[s], task.family) for s in SPLITS}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(out)
    try:
        cache = ensure_built(task)  # the splits are already serialised there, in task order
        for split in SPLITS:
            shutil.copyfile(cache / f"{split}.jsonl", tmp / f"{split}.jsonl")
        (tmp / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def format_task_report(report: dict[str, Any]) -> str:
    """A readable table of :func:`export_task`'s report."""
    lines = [f"task {report['task']} v{report['version']} ({report['family']}), "
             f"data hash {report['data_hash']}",
             f"{'split':<11}{'examples':>9}{'input words':>13}{'ref words':>11}"]
    for split, st in report["splits"].items():
        lines.append(f"{split:<11}{st['examples']:>9}{st.get('input_words_mean', 0):>13.1f}"
                     f"{st.get('reference_words_mean', 0):>11.1f}")
    labels = report["splits"]["train"].get("labels")
    if labels:
        lines.append("train labels: " + ", ".join(f"{k} {v}" for k, v in labels.items()))
    return "\n".join(lines)


def task_test_texts(name: str) -> list[str] | None:
    """A registered task's test texts (input and references), for decontamination;
    ``None`` when no task has that name. A known task's own errors surface with their hint."""
    from tasks import get_task, list_tasks

    if name not in list_tasks():
        return None
    return [_example_text(ex) for ex in get_task(name).examples("test")]


def _example_text(ex: Any) -> str:
    """An example's input and references as plain lines (a choice list is one line per
    choice, not the list's repr with its brackets and quotes)."""
    def lines(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [x for v in value.values() for x in lines(v)]
        if isinstance(value, (list, tuple)):
            return [x for v in value for x in lines(v)]
        return [str(value)]

    return "\n".join(lines(ex.input) + list(ex.references or []))
