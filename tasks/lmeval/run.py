"""lm-eval's requests answered by our models, and lm-eval's metrics on any subset of examples.

:func:`predict` hands an ``lmeval:`` task to lm-evaluation-harness's own
``simple_evaluate`` with our model behind its ``LM`` interface
(:class:`tasks.lmeval.adapter.HarnessLM`): their task manager builds the task
(``include:`` chains, ``!function`` helpers, local ``data_files``), their
configurable task builds the documents, few-shot contexts and requests, our
model answers them, and their filters and ``process_results`` turn each
document's answers into per-example metric values. Seeds are lm-eval's defaults
(python 0, numpy/torch/few-shot 1234), the few-shot seed offset by our seed.
lm-eval's request cache and response cache are off: our results cache keys the
work. Their bootstrap is off too (``bootstrap_iters=0``): our CIs come from the
per-example values.

Each document becomes one row: ``id`` (``<leaf task>/<doc_id>``), ``task``,
``input`` (the first request's context), ``prediction`` (the filtered answers
per filter), ``references``, ``items`` (lm-eval's per-document metric values,
keyed ``metric`` or ``metric,filter``), and the names of lm-eval's aggregation
functions and directions. :func:`aggregate` recomputes a metric from rows with
lm-eval's aggregation (and a group's with its ``aggregate_subtask_metrics``).

lm-eval (and through it ``datasets`` and torch) is imported inside the functions
that run or score a task, never at module import: it is an optional extra, and
importing it costs about 3 s, which ``harness --help``, ``tasks list`` and a rerun
that reuses every result must not pay.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harnesskit.errors import HarnessError
from tasks.lmeval import index as ix
from tasks.lmeval import metric_key, require_lmeval

if TYPE_CHECKING:
    from tasks.lmeval.task import LmevalTask
    from tasks.modelref import ModelRef

FEWSHOT_SEED = 1234  # lm-eval's default few-shot, numpy and torch seed (lm_eval.defaults)


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Never reach a hub while lm-eval runs (datasets and the hub client read these flags);
    restored afterwards, so hub-backed tasks of ours stay available in the same process."""
    import datasets.config

    names = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    old_env = {n: os.environ.get(n) for n in names}
    old_cfg = {n: getattr(datasets.config, n) for n in names}
    for n in names:
        os.environ[n] = "1"
        setattr(datasets.config, n, True)
    try:
        yield
    finally:
        for n in names:
            setattr(datasets.config, n, old_cfg[n])
            if old_env[n] is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = old_env[n]


@contextlib.contextmanager
def _their_bars_off() -> Iterator[None]:
    """lm-eval and datasets draw a bar per step of every task; ours (one per job) is enough."""
    import datasets

    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old


def task_manager(task: LmevalTask) -> Any:
    """lm-eval's TaskManager over only the folders this task needs (not all 14,000 YAMLs)."""
    from lm_eval.tasks import TaskManager

    folders = ix.folders(task.bare, task.index)
    return TaskManager(include_path=[str(f) for f in folders], include_defaults=False)


def load_objects(task: LmevalTask, tm: Any) -> tuple[list[Any], dict[str, Any]]:
    """lm-eval's objects for the task: the top item(s) to evaluate, and the leaf tasks by name."""
    try:
        loaded = tm.load([task.bare])
    except Exception as exc:  # their config errors, unreadable data: one line, with the cause
        raise HarnessError(f"lm-eval could not build {task.name}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]}",
                           hint="check the YAML and its data files (harness tasks show)") from None
    top = loaded.get("groups", {}).get(task.bare) or loaded["tasks"].get(task.bare)
    return ([top] if top is not None else list(loaded["tasks"].values())), loaded["tasks"]


def predict(task: LmevalTask, model: ModelRef, *, limit: int | None = None,
            num_fewshot: int | None = None, chat_template: bool = False, seed: int = 0,
            batch_size: int = 16, device: str | None = None, dtype: str = "float32") -> Any:
    """Rows and run info for ``task`` on ``model`` (a checkpoint of ours or an ``hf:`` decoder)."""
    from tasks.runner import Predictions

    version = require_lmeval()
    import time

    from lm_eval import simple_evaluate

    from tasks.lmeval.adapter import load_lm

    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)
    lm = load_lm(model, batch_size=batch_size, device=device, dtype=dtype)
    if chat_template and not lm.has_chat_template():
        raise HarnessError(f"{model.spec} has no chat template", hint="drop --chat-template")
    t0 = time.time()
    with _offline(), _their_bars_off():
        tm = task_manager(task)
        items, leaves = load_objects(task, tm)
        res = simple_evaluate(model=lm, tasks=items, task_manager=tm, num_fewshot=num_fewshot,
                              limit=limit, bootstrap_iters=0, log_samples=True,
                              apply_chat_template=chat_template, random_seed=0,
                              numpy_random_seed=FEWSHOT_SEED, torch_random_seed=FEWSHOT_SEED,
                              fewshot_random_seed=FEWSHOT_SEED + seed)
    rows = [row for leaf, samples in res["samples"].items()
            for row in _rows(leaf, samples, leaves[leaf], res["higher_is_better"].get(leaf, {}))]
    info = {**lm.info(), "lmeval_version": version, "task_versions": res["versions"],
            "n_shot": res.get("n-shot"), "config_hash": _hash(res["configs"]),
            "lmeval_results": _plain(res["results"]), "chat_template": chat_template,
            "seeds": {"random": 0, "numpy": FEWSHOT_SEED, "torch": FEWSHOT_SEED,
                      "fewshot": FEWSHOT_SEED + seed},
            "predict_seconds": round(time.time() - t0, 2)}  # lm.info() has device and dtype
    return Predictions(rows, info)


def examples(task: LmevalTask, n: int = 2) -> list[dict[str, Any]]:
    """The first ``n`` evaluation documents of each leaf task as lm-eval formats them."""
    require_lmeval()
    out = []
    with _offline(), _their_bars_off():
        _, leaves = load_objects(task, task_manager(task))
        for leaf, obj in leaves.items():
            for doc in list(obj.eval_docs)[:n]:
                ex = {"task": leaf, "text": obj.doc_to_text(doc), "target": obj.doc_to_target(doc)}
                if obj.config.doc_to_choice is not None:
                    ex["choices"] = obj.doc_to_choice(doc)
                out.append(_plain(ex))
    return out


def _hash(obj: Any) -> str:
    """sha256 (16 hex) of lm-eval's dumped task configs: the config hash a result records."""
    import hashlib
    import json

    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _rows(leaf: str, samples: list[dict[str, Any]], obj: Any,
          hib: dict[str, bool]) -> list[dict[str, Any]]:
    """One row per document from lm-eval's logged samples (one sample per filter)."""
    agg = _aggregation_names(obj)
    by_doc: dict[Any, dict[str, Any]] = {}
    for s in samples:
        row = by_doc.get(s["doc_id"])
        if row is None:
            row = by_doc[s["doc_id"]] = {
                "id": f"{leaf}/{s['doc_id']}", "task": leaf, "input": _input(s["arguments"]),
                "references": _refs(s["target"]), "prediction": {}, "items": {},
                "aggregation": {}, "higher_is_better": {}}
        f = s["filter"]
        row["prediction"][f] = _plain(s["filtered_resps"])
        for m in s["metrics"]:
            key = metric_key(m, f)
            row["items"][key] = _plain(s[m])
            row["aggregation"][key] = agg.get(m, "mean")
            row["higher_is_better"][key] = hib.get(m)
    return [by_doc[k] for k in sorted(by_doc)]


def _input(arguments: list[Any]) -> str:
    first = arguments[0] if arguments else ""
    return str(first[0] if isinstance(first, (list, tuple)) and first else first)


def _refs(target: Any) -> list[str]:
    return [str(t) for t in target] if isinstance(target, list) else [str(target)]


def _plain(obj: Any) -> Any:
    """JSON-able copy (tuples to lists, numpy scalars to Python)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return obj.item()
    return obj


def _aggregation_names(obj: Any) -> dict[str, str]:
    """metric -> the name lm-eval registers its aggregation under (``!custom`` if none)."""
    from lm_eval.api.registry import AGGREGATION_REGISTRY

    names = {fn: name for name, fn in AGGREGATION_REGISTRY.items()}
    return {m: names.get(fn, "!custom") for m, fn in obj.aggregation().items()}


# ----- scoring from rows ------------------------------------------------------------------
_CUSTOM: dict[tuple[str, str], Any] = {}


def _aggregation_fn(task: LmevalTask, leaf: str, metric: str, name: str) -> Any:
    """lm-eval's aggregation function by registered name; a custom one from the task itself."""
    if name != "!custom":
        from lm_eval.api.registry import get_aggregation

        fn = get_aggregation(name)
        if fn is not None:
            return fn
    if (leaf, metric) not in _CUSTOM:
        with _offline():
            _, leaves = load_objects(task, task_manager(task))
        for m, fn in leaves[leaf].aggregation().items():
            _CUSTOM[(leaf, m)] = fn
    return _CUSTOM[(leaf, metric)]


def leaf_value(task: LmevalTask, leaf: str, key: str, rows: list[dict[str, Any]]) -> float | None:
    """A leaf task's metric on its rows, with lm-eval's aggregation (None if no row has it)."""
    items = [r["items"][key] for r in rows if r.get("task") == leaf and key in r["items"]]
    if not items:
        return None
    name = next(r["aggregation"][key] for r in rows if r.get("task") == leaf and key in r["items"])
    metric = key.split(",", 1)[0]
    return float(_aggregation_fn(task, leaf, metric, name)(items))


def aggregate(task: LmevalTask, key: str, rows: list[dict[str, Any]]) -> float:
    """lm-eval's value of ``key`` on ``rows``: a leaf's aggregation, or a group's over its leaves.

    Keys of the form ``leaf/metric`` (tags, groups without aggregation) are that leaf's
    metric. A group's value is ``aggregate_subtask_metrics`` over the leaf values, weighted
    by the number of documents each leaf has in ``rows`` when the group says
    ``weight_by_size`` (lm-eval's default), as lm-eval's ``Group.aggregate`` does.
    """
    if "/" in key:
        leaf, sub = key.rsplit("/", 1)
        value = leaf_value(task, leaf, sub, rows)
        return float("nan") if value is None else value
    if task.entry.kind == "task":
        value = leaf_value(task, task.bare, key, rows)
        return float("nan") if value is None else value
    from lm_eval.api.metrics import aggregate_subtask_metrics

    weight = True
    for agg in task.agg_configs():
        if key in task.agg_keys(agg):
            weight = bool(agg.get("weight_by_size", True))
    values, sizes = [], []
    for leaf in task.leaf_names:
        mine = [r for r in rows if r.get("task") == leaf]
        value = leaf_value(task, leaf, key, mine)
        if value is not None:
            values.append(value)
            sizes.append(len(mine))
    return float(aggregate_subtask_metrics(values, sizes, weight)) if values else float("nan")
