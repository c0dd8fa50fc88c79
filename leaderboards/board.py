"""From stored result documents to leaderboard rows: grouped, averaged over seeds, ranked.

A leaderboard row is one (task, model, mode), from its newest evaluation config: the metric
values averaged over fine-tuning seeds (mean, standard deviation across seeds,
and the mean of the per-seed 95% bootstrap bounds), the model's parameters,
pretraining tokens and estimated training FLOPs (6 * N * tokens), and every
signature and library version behind the numbers. Baselines are reference rows;
models that cannot do a task keep a row that says why.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# Metrics where a smaller number is better; everything else ranks high-first.
LOWER_IS_BETTER = frozenset({"perplexity", "bits_per_byte", "cross_entropy", "ter",
                             "pseudo_perplexity", "word_perplexity", "byte_perplexity"})


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
    # One row per (task, model, mode): the newest evaluation config (another --limit, say)
    # replaces older ones on the board; the store and the results files keep them all.
    newest: dict[tuple, tuple[float, tuple]] = {}
    for key, docs in groups.items():
        stamp = max(d.get("created", 0) for d in docs)
        if key[:3] not in newest or stamp > newest[key[:3]][0]:
            newest[key[:3]] = (stamp, key)
    by_task: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for _, key in newest.values():
        by_task[key[0]].append(sorted(groups[key], key=lambda d: d.get("seed", 0)))
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
    for g in groups:
        for name in g[-1].get("metric_order") or sorted(g[-1].get("metrics", {})):
            if name not in metrics:
                metrics.append(name)
    rows = [_row(g, models) for g in groups]
    board = TaskBoard(task=task, family=tinfo.get("family", ""), version=str(tinfo.get("version")),
                      data_hash=tinfo.get("data_hash", ""), metrics=metrics, rows=rows)
    board.rows = rank(board.rows, board.primary)
    return board


def rank(rows: list[Row], metric: str | None) -> list[Row]:
    """Scored rows best-first by ``metric``, then rows without it, then not-applicable rows."""
    def sort_key(r: Row) -> tuple:
        v = r.value(metric) if metric else None
        if r.status != "ok":
            return (2, 0.0, r.model_id)
        if v is None or (isinstance(v, float) and math.isnan(v)):  # absent or failed
            return (1, 0.0, r.model_id)
        return (0, v if metric in LOWER_IS_BETTER else -v, r.model_id)
    return sorted(rows, key=sort_key)


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
              config=last.get("config", {}), timings=_mean_timings(ok or docs))
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
    return {"mean": statistics.fmean(scores),
            "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "ci": ci, "per_seed": scores, "n": len(scores),
            "signature": values[-1].get("signature", "")}


def _mean_timings(docs: list[dict[str, Any]]) -> dict[str, float]:
    keys = {k for d in docs for k in (d.get("timings") or {})}
    return {k: statistics.fmean(float(d["timings"][k]) for d in docs if k in d.get("timings", {}))
            for k in sorted(keys)}
