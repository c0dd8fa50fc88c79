"""The leaderboard as data: every stored result as one pandas DataFrame.

``results_frame(db)`` returns one row per model, task, setting and seed (a
"setting" is the evaluation config that changes numbers: mode, limit,
fine-tuning overrides, precision; ``config_hash`` names it). Columns:

- the model: ``model_id``, ``model_hash``, ``kind``, ``baseline``, ``run``,
  ``step``, ``params``, ``tokens``, ``flops`` (6 * params * tokens);
- the task: ``task``, ``task_version``, ``family``, ``data_hash``;
- the setting: ``mode``, ``setting`` (its label as the leaderboard
  shows it, e.g. ``limit=200``), ``config_hash``,
  ``limit``, ``seed``;
- the outcome: ``status``, ``reason``, ``n_examples``, ``created``;
- the numbers: ``primary_metric``, ``direction`` (``higher``/``lower`` is better, as the
  result records it) and ``score`` (the task's first metric), and
  for every metric M present ``M``, ``M_ci_lo`` and ``M_ci_hi`` (NaN where a task
  does not have M).

It is meant for notebooks (``df.groupby(["run", "task"])...``) and backs the
views over training; ``harness leaderboard show --format parquet`` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leaderboards.board import setting_label

BASE_COLUMNS = ["model_id", "model_hash", "kind", "baseline", "run", "step", "params", "tokens",
                "flops", "task", "task_version", "family", "data_hash", "mode", "setting",
                "config_hash", "limit", "seed", "status", "reason", "n_examples", "created",
                "primary_metric", "direction", "score"]


def results_frame(db: str | Path, *, task: str | None = None) -> pd.DataFrame:
    """Every result in the store at ``db`` (optionally one task's) as a DataFrame."""
    from leaderboards.store import open_store

    with open_store(db, create=False) as store:
        return frame_from_docs(store.results(task), store.models())


def frame_from_docs(docs: list[dict[str, Any]],
                    models: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Result documents (and the store's model descriptions) as one DataFrame."""
    models = models or {}
    rows = [_row(doc, models.get(doc["model"]["content_hash"], {})) for doc in docs]
    metric_cols: list[str] = []
    for r in rows:
        metric_cols.extend(c for c in r if c not in BASE_COLUMNS and c not in metric_cols)
    frame = pd.DataFrame(rows, columns=BASE_COLUMNS + metric_cols)
    for col in ("step", "params", "tokens", "limit", "seed", "n_examples"):
        frame[col] = frame[col].astype("Int64")
    for col in ["flops", "created", "score", *metric_cols]:
        frame[col] = frame[col].astype("float64")
    return frame


def newest_setting(frame: pd.DataFrame) -> pd.DataFrame:
    """Scored rows of the newest setting per (model content, task, mode), with ``ci_lo``/``ci_hi`` of
    their primary metric: the rows the tables rank (another ``--limit`` replaces older ones)."""
    ok = frame[(frame["status"] == "ok") & frame["score"].notna()].copy()
    if ok.empty:
        return ok.assign(ci_lo=pd.Series(dtype="float64"), ci_hi=pd.Series(dtype="float64"))
    for end in ("lo", "hi"):
        ok[f"ci_{end}"] = ok.apply(lambda r: r.get(f"{r['primary_metric']}_ci_{end}"),  # noqa: B023
                                   axis=1).astype("float64")
    keys = ["model_hash", "task", "mode"]  # by content: two models may share a name
    stamp = ok.groupby([*keys, "config_hash"], dropna=False)["created"].transform("max")
    return ok[stamp == stamp.groupby([ok[k] for k in keys], dropna=False).transform("max")]


def run_of(model: dict[str, Any]) -> str | None:
    """The run directory a model came from: recorded, or the folder above ``checkpoints/``."""
    info = model.get("info") or {}
    if info.get("run"):
        return str(info["run"])
    path = Path(str(info.get("checkpoint") or model.get("path") or ""))
    if path.parent.name == "checkpoints":
        return str(path.parent.parent)
    return None


def _row(doc: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    model, task = doc["model"], doc["task"]
    info = {**(model.get("info") or {}), **{k: v for k, v in stored.items() if v is not None}}
    order = doc.get("metric_order") or sorted(doc.get("metrics", {}))
    primary = order[0] if order else None
    metrics = doc.get("metrics") or {}
    row: dict[str, Any] = {
        "model_id": model["id"], "model_hash": model["content_hash"], "kind": model.get("kind"),
        "baseline": model.get("kind") == "baseline", "run": run_of(model),
        "step": info.get("step"), "params": info.get("params"), "tokens": info.get("tokens"),
        "flops": info.get("flops"), "task": task["name"], "task_version": str(task.get("version")),
        "family": task.get("family"), "data_hash": task.get("data_hash"), "mode": doc.get("mode"),
        "setting": setting_label(doc.get("setting") or {}),
        "config_hash": doc.get("config_hash"), "limit": (doc.get("config") or {}).get("limit"),
        "seed": doc.get("seed"), "status": doc.get("status"), "reason": doc.get("reason"),
        "n_examples": doc.get("n_examples"), "created": doc.get("created"),
        "primary_metric": primary, "direction": direction(primary, metrics.get(primary)),
        "score": _score(metrics.get(primary))}
    for name in order:
        m = metrics.get(name) or {}
        ci = m.get("ci") or [None, None]
        row[name], row[f"{name}_ci_lo"], row[f"{name}_ci_hi"] = _score(m), ci[0], ci[1]
    return row


def direction(name: str | None, m: dict[str, Any] | None) -> str:
    """``higher`` or ``lower`` (is better), as the result records it (results written before
    schema 2 lack it: ``harness eval`` re-scores them from their saved predictions)."""
    if m and m.get("direction") in ("higher", "lower"):
        return str(m["direction"])
    return "higher"


def _score(m: dict[str, Any] | None) -> float | None:
    return None if not m or m.get("score") is None else float(m["score"])
