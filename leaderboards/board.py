"""From stored result documents to leaderboard rows: grouped, averaged over seeds, ranked.

A leaderboard row is one (task, model, mode, setting): the metric values averaged
over fine-tuning seeds (mean, standard deviation across seeds, and the mean of
the per-seed 95% bootstrap bounds), the model's parameters, pretraining tokens
and estimated training FLOPs (6 * N * tokens), and every signature and library
version behind the numbers. Baselines are reference rows; models that cannot do
a task keep a row that says why.

What makes numbers comparable is read from the documents, not kept here: each
metric's ``direction`` (higher/lower is better) and ``unit``. Rows are ranked
only against rows scored on the same test examples (the same ``limit``) and,
when the primary metric is per token, with the same tokenizer; each such group
has its own ranks and the board says so (``TaskBoard.notes``). A model whose name
another model on the board shares is labelled with its short content hash.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

SHORT_HASH = 8


def setting_label(setting: dict[str, Any]) -> str:
    """A setting as people read it: ``limit=200 ft.epochs=1`` (empty for the defaults)."""
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                    for k, v in sorted(setting.items()))


@dataclass
class Row:
    """One model on one task (all seeds of one evaluation config)."""

    task: str
    model_id: str
    model_hash: str
    kind: str
    mode: str
    status: str
    reason: str | None = None
    baseline: bool = False
    seeds: list[int] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: int | None = None
    tokens: int | None = None
    flops: float | None = None
    limit: int | None = None
    n_examples: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    setting: str = ""            # readable non-default setting ("limit=200 ft.epochs=1")
    label: str = ""              # the model as shown: its id, with the short hash if ambiguous
    rank: int | None = None      # within its comparable group (same test examples, same unit)
    group: str = ""              # what its rank is relative to ("" when the board has one group)

    def value(self, metric: str) -> float | None:
        """The seed-mean of a metric, or None when absent."""
        m = self.metrics.get(metric)
        return None if m is None else m["mean"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class TaskBoard:
    """The ranked rows of one task."""

    task: str
    family: str
    version: str
    data_hash: str
    metrics: list[str]
    rows: list[Row]
    directions: dict[str, str] = field(default_factory=dict)   # metric -> higher | lower
    notes: list[str] = field(default_factory=list)

    def lower_is_better(self, metric: str | None) -> bool:
        return self.directions.get(metric or "") == "lower"

    @property
    def primary(self) -> str | None:
        """The metric that ranks the rows (the task's first)."""
        return self.metrics[0] if self.metrics else None


def aggregate(results: list[dict[str, Any]],
              models: dict[str, dict[str, Any]] | None = None) -> dict[str, TaskBoard]:
    """Group result documents into ranked task boards, keyed by task name (sorted)."""
    models = models or {}
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for doc in results:
        key = (doc["task"]["name"], doc["model"]["content_hash"], doc.get("mode"),
               doc.get("config_hash"))
        groups[key].append(doc)
    # One row per (task, model, mode, setting): another --limit or --ft is another row.
    by_task: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for key, docs in groups.items():
        by_task[key[0]].append(sorted(docs, key=lambda d: d.get("seed", 0)))
    boards = {}
    for task in sorted(by_task):
        boards[task] = _task_board(task, by_task[task], models)
    return boards


def _task_board(task: str, groups: list[list[dict[str, Any]]],
                models: dict[str, dict[str, Any]]) -> TaskBoard:
    """One task's board: the newest task version's rows, ranked by the primary metric."""
    newest = max((g[-1] for g in groups), key=lambda d: d.get("created", 0))
    tinfo = newest["task"]
    # Rows scored on another version of the task's data are not comparable: keep the newest.
    same = (str(tinfo.get("version")), tinfo.get("data_hash"))
    groups = [g for g in groups
              if (str(g[-1]["task"].get("version")), g[-1]["task"].get("data_hash")) == same]
    metrics: list[str] = []
    directions: dict[str, str] = {}
    for g in groups:
        for name in g[-1].get("metric_order") or sorted(g[-1].get("metrics", {})):
            if name not in metrics:
                metrics.append(name)
        for d in g:
            for name, m in (d.get("metrics") or {}).items():
                if m.get("direction"):
                    directions.setdefault(name, m["direction"])
    # Pseudo-log-likelihood columns (bert) come after the real ones: never the headline.
    metrics.sort(key=lambda n: n.startswith("pseudo_"))
    rows = [_row(g, models) for g in groups]
    _label(rows)
    board = TaskBoard(task=task, family=tinfo.get("family", ""), version=str(tinfo.get("version")),
                      data_hash=tinfo.get("data_hash", ""), metrics=metrics, rows=rows,
                      directions=directions)
    board.rows = rank(board.rows, board.primary, board.lower_is_better(board.primary))
    board.notes = _notes(board)
    return board


def _label(rows: list[Row]) -> None:
    """Each row's model label: its id, plus the short content hash where another model
    on the board has the same id (results from two output folders in one store)."""
    hashes: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        hashes[r.model_id].add(r.model_hash)
    for r in rows:
        r.label = (f"{r.model_id} [{r.model_hash[:SHORT_HASH]}]" if len(hashes[r.model_id]) > 1
                   else r.model_id)


def comparable_group(r: Row, metric: str | None) -> str:
    """What a row's score can be ranked against: its test examples and the metric's unit."""
    parts = [f"limit={r.limit}" if r.limit is not None else "full test set"]
    unit = (r.metrics.get(metric or "") or {}).get("unit")
    if unit:
        parts.append(unit)
    return ", ".join(parts)


def rank(rows: list[Row], metric: str | None, lower: bool = False) -> list[Row]:
    """Scored rows best-first by ``metric`` within each comparable group (same test examples,
    same unit), then rows without it, then not-applicable rows; sets ``rank`` and ``group``."""
    for r in rows:
        r.group = comparable_group(r, metric)

    def sort_key(r: Row) -> tuple:
        v = r.value(metric) if metric else None
        if r.status != "ok":
            return (2, "", 0.0, r.label)
        if v is None or (isinstance(v, float) and math.isnan(v)):  # absent or failed
            return (1, "", 0.0, r.label)
        return (0, r.group, v if lower else -v, r.label)
    ordered = sorted(rows, key=sort_key)
    counters: dict[str, int] = defaultdict(int)
    for r in ordered:
        v = r.value(metric) if metric else None
        if r.status == "ok" and v is not None and not (isinstance(v, float) and math.isnan(v)):
            counters[r.group] += 1
            r.rank = counters[r.group]
    if len(counters) < 2:
        for r in ordered:
            r.group = ""
    return ordered


def _notes(board: TaskBoard) -> list[str]:
    """What a reader must know before comparing two rows of this board."""
    notes = []
    groups = sorted({r.group for r in board.rows if r.rank is not None and r.group})
    if groups:
        notes.append(f"{board.primary} is ranked within each group of rows scored alike "
                     f"({'; '.join(groups)}): ranks in different groups are not comparable")
    per_token = [m for m in board.metrics
                 if len({(r.metrics.get(m) or {}).get("unit") for r in board.rows
                         if r.metrics.get(m)} - {None}) > 1]
    if per_token:
        notes.append(f"{', '.join(per_token)}: per token of each model's own tokenizer, "
                     "not comparable across tokenizers")
    if any(m.startswith("pseudo_") for m in board.metrics):
        notes.append("pseudo_* columns: masked-LM pseudo-log-likelihood (bert), not comparable "
                     "with a causal model's likelihood")
    return notes


def _row(docs: list[dict[str, Any]], models: dict[str, dict[str, Any]]) -> Row:
    """Average the seeds of one (task, model, config) group into a row."""
    last = docs[-1]
    model = last["model"]
    info = {**(model.get("info") or {}), **models.get(model["content_hash"], {})}
    ok = [d for d in docs if d["status"] == "ok"]
    row = Row(task=last["task"]["name"], model_id=model["id"], model_hash=model["content_hash"],
              kind=model.get("kind", ""), mode=last.get("mode", ""),
              status="ok" if ok else last["status"],
              reason=None if ok else last.get("reason"), baseline=model.get("kind") == "baseline",
              seeds=[d.get("seed", 0) for d in (ok or docs)],
              params=info.get("params"), tokens=info.get("tokens"), flops=info.get("flops"),
              limit=(last.get("config") or {}).get("limit"),
              n_examples=(ok[-1] if ok else last).get("n_examples"),
              versions=last.get("versions", {}),
              config=last.get("config", {}), timings=_mean_timings(ok or docs),
              setting=setting_label(last.get("setting") or {}))
    names = {n for d in ok for n in d.get("metrics", {})}
    row.metrics = {n: _metric_summary([d["metrics"][n] for d in ok if n in d["metrics"]])
                   for n in sorted(names)}
    return row


def _metric_summary(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, spread across seeds, mean bootstrap bounds, and the signature of one metric."""
    failed = [v for v in values if v.get("score") is None]
    values = [v for v in values if v.get("score") is not None]
    if not values:
        return {"mean": None, "std": None, "ci": None, "per_seed": [], "n": 0, "signature": "",
                "error": failed[-1].get("error", "failed") if failed else "missing"}
    scores = [float(v["score"]) for v in values]
    cis = [v["ci"] for v in values if v.get("ci")]
    ci = [statistics.fmean(c[0] for c in cis), statistics.fmean(c[1] for c in cis)] if cis else None
    shares = [v["details"]["empty_share"] for v in values
              if isinstance(v.get("details"), dict) and "empty_share" in v["details"]]
    return {"mean": statistics.fmean(scores),
            "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "ci": ci, "per_seed": scores, "n": len(scores),
            "signature": values[-1].get("signature", ""),
            "direction": values[-1].get("direction"), "level": values[-1].get("level"),
            "unit": values[-1].get("unit"),
            "empty_share": statistics.fmean(shares) if shares else None}


def _mean_timings(docs: list[dict[str, Any]]) -> dict[str, float]:
    keys = {k for d in docs for k in (d.get("timings") or {})}
    return {k: statistics.fmean(float(d["timings"][k]) for d in docs if k in d.get("timings", {}))
            for k in sorted(keys)}
