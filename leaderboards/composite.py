"""One composite score per model: each task rescaled between its best trivial baseline and perfect.

For every task a model has, the task's main (first) metric is rescaled so that
the best *trivial* baseline measured on that task in this store (majority or
random choice, copy of the source, lead sentence, byte unigram: the chance
levels, not the learned TF-IDF or retrieval baselines) is 0 and a perfect score
is 100 (100 for 0-100 metrics; 0 bits per byte or cross-entropy; perplexity 1).
The composite is the mean over the model's tasks, the idea of nanochat's CORE
metric and llm-foundry's gauntlet with the floor measured rather than assumed.
Its 95% CI combines the tasks' bootstrap CIs (rescaled) as independent normal
errors: ``1.96 * sqrt(sum se_i^2) / k``. A task without a trivial baseline row
is left out and listed as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from leaderboards.frame import newest_setting

TRIVIAL = ("majority", "random", "copy", "lead", "first-sentence", "unigram")
PERFECT_LOWER = {"perplexity": 1.0, "pseudo_perplexity": 1.0, "word_perplexity": 1.0,
                 "byte_perplexity": 1.0}


@dataclass
class Composite:
    """A model's composite score over the tasks it has."""

    model_id: str
    mode: str
    score: float | None
    ci: tuple[float, float] | None
    tasks: list[str]
    per_task: dict[str, float] = field(default_factory=dict)
    floors: dict[str, str] = field(default_factory=dict)     # task -> baseline that set 0
    no_baseline: list[str] = field(default_factory=list)      # tasks left out
    run: str | None = None
    step: int | None = None
    flops: float | None = None


def is_trivial(model_id: str) -> bool:
    """Whether a baseline row is a chance-level one (majority, copy, lead, unigram ...)."""
    return any(word in model_id for word in TRIVIAL)


def perfect(metric: str, direction: str) -> float:
    """The best possible value of a metric (0-100 scores: 100; losses: 0; perplexities: 1)."""
    if direction == "lower":
        return PERFECT_LOWER.get(metric.removeprefix("pseudo_"), 0.0)
    return 100.0


def rescale(value: float, floor: float, metric: str, direction: str = "higher") -> float | None:
    """``value`` on the scale floor = 0, perfect = 100 (None when floor is already perfect)."""
    top = perfect(metric, direction)
    if math.isclose(top, floor):
        return None
    return 100.0 * (value - floor) / (top - floor)


def composites(frame: pd.DataFrame) -> list[Composite]:
    """The composite of every non-baseline (model, mode) in a results frame, best first."""
    newest = newest_setting(frame)
    if newest.empty:
        return []
    cells = newest.groupby(["model_hash", "model_id", "mode", "task"], dropna=False).agg(
        score=("score", "mean"), lo=("ci_lo", "mean"), hi=("ci_hi", "mean"),
        metric=("primary_metric", "last"), direction=("direction", "last"),
        baseline=("baseline", "last"), run=("run", "last"),
        step=("step", "last"), flops=("flops", "last")).reset_index()
    floors = _floors(cells[cells["baseline"]])
    models = cells[~cells["baseline"]]
    hashes_of = models.groupby("model_id")["model_hash"].nunique()
    out = []
    for (digest, model), g in models.groupby(["model_hash", "model_id"]):
        # two models of one name (a shared store) stay apart, labelled with their short hash
        label = f"{model} [{str(digest)[:8]}]" if hashes_of[model] > 1 else str(model)
        # Language-modelling rows (mode "lm") belong with the model's every other mode.
        modes = sorted(set(g["mode"]) - {"lm"}) or ["lm"]
        out += [_composite(label, m, g[g["mode"].isin([m, "lm"])], floors) for m in modes]
    # ranked only against models over the same tasks: a mean over other tasks is another number
    return sorted(out, key=lambda c: (c.score is None, tuple(c.tasks), -(c.score or 0.0),
                                      c.model_id))


def _floors(base: pd.DataFrame) -> dict[str, tuple[str, float, str, str]]:
    """task -> (baseline id, value, metric, direction): each task's best trivial baseline."""
    floors: dict[str, tuple[str, float, str, str]] = {}
    for _, r in base.iterrows():
        if not is_trivial(str(r["model_id"])):
            continue
        metric, value, way = str(r["metric"]), float(r["score"]), str(r["direction"])
        old = floors.get(r["task"])
        if old is None or (value < old[1] if way == "lower" else value > old[1]):
            floors[r["task"]] = (str(r["model_id"]), value, metric, way)
    return floors


def _composite(model: str, mode: str, cells: pd.DataFrame,
               floors: dict[str, tuple[str, float, str, str]]) -> Composite:
    comp = Composite(model_id=model, mode=mode, score=None, ci=None, tasks=[])
    ses: list[float] = []
    for _, c in cells.sort_values("task").iterrows():
        floor = floors.get(c["task"])
        value = rescale(float(c["score"]), *floor[1:]) if floor else None
        if floor is None or value is None or floor[2] != c["metric"]:
            comp.no_baseline.append(c["task"])
            continue
        comp.tasks.append(c["task"])
        comp.per_task[c["task"]] = value
        comp.floors[c["task"]] = floor[0]
        lo, hi = _num(c["lo"]), _num(c["hi"])
        if lo is not None and hi is not None:
            a, b = rescale(lo, *floor[1:]), rescale(hi, *floor[1:])
            ses.append(abs(b - a) / (2 * 1.959963984540054))  # type: ignore[operator]
        comp.run, comp.step, comp.flops = _opt(c["run"]), _int(c["step"]), _num(c["flops"])
    if comp.tasks:
        k = len(comp.tasks)
        comp.score = sum(comp.per_task.values()) / k
        if len(ses) == k:
            half = 1.959963984540054 * math.sqrt(sum(s * s for s in ses)) / k
            comp.ci = (comp.score - half, comp.score + half)
    return comp


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _int(x: Any) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _opt(x: Any) -> str | None:
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def render(comps: list[Composite]) -> str:
    """A plain-text table: composite [95% CI], number of tasks and their names."""
    if not comps:
        return "(no composite: no scored model rows)\n"
    lines = ["composite (0 = best trivial baseline, 100 = perfect; mean over tasks; ranked "
             "only among models over the same tasks)"]
    for c in comps:
        score = "-" if c.score is None else f"{c.score:6.1f}"
        ci = f" [{c.ci[0]:.1f}, {c.ci[1]:.1f}]" if c.ci else ""
        left = f"; no baseline: {', '.join(c.no_baseline)}" if c.no_baseline else ""
        lines.append(f"  {c.model_id} ({c.mode}): {score}{ci} over {len(c.tasks)} task(s): "
                     f"{', '.join(c.tasks) or '-'}{left}")
    return "\n".join(lines) + "\n"


def html_table(comps: list[Composite]) -> str:
    """The composite as a sortable HTML table for the page ('' when there is none)."""
    from html import escape as e

    scored = [c for c in comps if c.score is not None]
    if not scored:
        return ""
    rows, i, group = [], 0, None
    for c in scored:
        i = 1 if tuple(c.tasks) != group else i + 1  # ranks restart for each set of tasks
        group = tuple(c.tasks)
        ci = f" [{c.ci[0]:.1f}, {c.ci[1]:.1f}]" if c.ci else ""
        tasks = ", ".join(f"{t} ({c.per_task[t]:.1f} vs {c.floors[t]})" for t in c.tasks)
        rows.append(f"<tr><td data-v='{i}'>{i}</td><td class=l data-model='{e(c.model_id)}'>"
                    f"{e(c.model_id)}</td><td class=l>{e(c.mode)}</td>"
                    f"<td data-v='{c.score!r}'>{c.score:.1f}{ci}</td><td>{len(c.tasks)}</td>"
                    f"<td class=l>{e(tasks)}</td></tr>")
    return ("<h2 id=composite>Composite score</h2><p class=meta>Each task's main metric "
            "rescaled so that its best trivial baseline measured here (majority, copy, lead, "
            "unigram) is 0 and a perfect score 100, averaged over the tasks the model has; "
            "95% CI from the tasks' bootstrap CIs. Ranks compare only models over the same tasks.</p><div class=scroll><table class=sortable "
            "id=composite-table><thead><tr><th>#</th><th class=l>model</th><th class=l>mode</th>"
            "<th>composite</th><th>tasks</th><th class=l>per task (rescaled vs floor)</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
