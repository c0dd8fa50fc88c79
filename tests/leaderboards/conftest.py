"""Result fixtures written in the tests: real result documents and predictions files."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from harness.results import (
    ResultDoc,
    predictions_path,
    result_path,
    setting_tag,
    stable_hash,
    write_predictions,
    write_result,
)


def make_result(out: Path, model: str, task: str, *, seed: int = 0, family: str = "classification",
                scores: dict[str, list[float]] | None = None, status: str = "ok",
                reason: str | None = None, kind: str = "gpt", params: int = 1_000_000,
                tokens: int = 2_000_000, curve: dict | None = None,
                model_hash: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Write seed-<k>.json and its predictions (per-example scores and stats) and return the
    document. ``accuracy`` given as 0/100 outcomes becomes real labels (three imbalanced
    classes, a wrong prediction is the majority class), scored by the real accuracy and macro F1
    with their stats and recipes; other metrics keep the given per-example values."""
    from harness.metrics import load_metric

    scores = dict(scores or {})
    model_hash = model_hash or stable_hash(["model", model])
    n = max((len(v) for v in scores.values()), default=0)
    metrics: dict[str, dict] = {}
    stats: dict[str, list] = {}
    if "accuracy" in scores:
        # imbalanced classes, mistakes towards the majority class: macro F1 != accuracy
        gold = [("c0", "c1", "c2", "c0", "c1", "c0", "c2", "c0", "c1", "c0")[(i * 7) % 10]
                for i in range(n)]
        pred = [g if ok else ("c0" if g != "c0" else "c1")
                for g, ok in zip(gold, [v > 0 for v in scores["accuracy"]])]
        for name in [m for m in scores if m in ("accuracy", "macro_f1")]:
            metric = load_metric(name)
            sc, per, st = metric.compute_with_examples(pred, [[g] for g in gold], n_bootstrap=50)
            scores[name], stats[name] = per, st.tolist()
            metrics[name] = {"score": sc.score, "ci": [sc.score - 5, sc.score + 5],
                             "signature": f"{name}|fixture",
                             "details": {}, "direction": metric.direction,
                             "level": metric.level, "recipe": metric.recipe()}
    for m, v in scores.items():
        if m in metrics:
            continue
        mean = sum(v) / len(v)
        metric = load_metric(m)
        metrics[m] = {"score": mean, "ci": [mean - 5, mean + 5], "signature": f"{m}|fixture",
                      "details": {}, "direction": metric.direction, "level": metric.level}
    rows = [{"id": f"ex{i}", "input": f"input {i}", "prediction": "p", "references": ["r"],
             "scores": {m: v[i] for m, v in scores.items()},
             "stats": {m: v[i] for m, v in stats.items()}} for i in range(n)]
    tag = setting_tag({"limit": limit} if limit else {})
    ppath = predictions_path(out, model, task, seed, "finetune", tag)
    if status == "ok":
        write_predictions(ppath, rows)
    config = {"mode": "finetune", "limit": limit}
    setting = {"limit": limit} if limit else {}
    doc = {"key": stable_hash([model_hash, task, seed, limit]), "config_hash": stable_hash(config),
           "setting": setting,
           "status": status, "reason": reason,
           "model": {"id": model, "content_hash": model_hash, "kind": kind, "path": f"/runs/{model}",
                     "info": {"id": model, "params": params, "tokens": tokens,
                              "flops": 6.0 * params * tokens if tokens else None,
                              "curve": curve}},
           "task": {"name": task, "version": "1", "family": family, "data_hash": "abc123"},
           "mode": "finetune", "seed": seed, "metrics": metrics, "metric_order": list(scores),
           "predictions": ppath.name if status == "ok" else None, "n_examples": n,
           "config": config, "timings": {"infer_s": 1.0, "score_s": 0.5},
           "versions": {"python": "3.11", "sacrebleu": "2.4"}, "created": time.time()}
    res = write_result(result_path(out, model, task, seed, "finetune", tag), ResultDoc.from_dict(doc))
    return {**res.data, "_path": str(res.path)}


def noisy(mean: float, n: int, seed: int, spread: float = 10.0) -> list[float]:
    """n per-example scores around ``mean``."""
    rng = random.Random(seed)
    return [min(100.0, max(0.0, rng.gauss(mean, spread))) for _ in range(n)]


@pytest.fixture
def filled_store(tmp_path: Path):
    """A store with three models and a baseline on two tasks, and one not-applicable row."""
    from leaderboards.store import open_store

    out = tmp_path / "results"
    db = out / "harness.sqlite"
    curve = {"step": [0, 10, 20, 30], "loss": [7.5, 5.0, 4.2, 3.9], "val_loss": [None, 5.2, None, 4.1]}
    docs = []
    for seed in (0, 1):
        docs.append(make_result(out, "gpt-tiny", "news", seed=seed, curve=curve,
                                scores={"accuracy": [100.0 * (i % 10 < 8) for i in range(50)],
                                        "macro_f1": noisy(70, 50, seed)}))
    docs.append(make_result(out, "bert-tiny", "news", kind="bert", curve=curve,
                            scores={"accuracy": [100.0 * (i % 10 < 5) for i in range(50)],
                                    "macro_f1": noisy(50, 50, 7)}))
    docs.append(make_result(out, "majority", "news", kind="baseline", params=None, tokens=None,
                            scores={"accuracy": [100.0 * (i % 10 < 2) for i in range(50)],
                                    "macro_f1": [10.0] * 50}))
    docs.append(make_result(out, "gpt-tiny", "dialogue", family="dialogue", curve=curve,
                            scores={"bleu": noisy(20, 30, 1), "distinct_1": noisy(40, 30, 2)}))
    docs.append(make_result(out, "bert-tiny", "dialogue", family="dialogue", kind="bert",
                            status="not_applicable",
                            reason="bert cannot generate text"))
    with open_store(db) as store:
        for d in docs:
            store.put({k: v for k, v in d.items() if k != "_path"}, path=d["_path"])
    return db
