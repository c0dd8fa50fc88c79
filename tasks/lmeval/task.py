"""An lm-evaluation-harness task or group as one of our tasks: ``lmeval:NAME``.

The object knows, from the YAML files alone (no lm-eval import), what keys an
evaluation: the task's version, its metric names as lm-eval reports them
(``acc``, ``acc_norm``, ``exact_match,strict-match``: ``metric,filter`` with the
``none`` filter left out), whether its data is here, and a fingerprint of the
data and of the configuration (the merged YAML chain and every Python file a
``!function`` names), so that a changed YAML, helper or data file is a new
result and an unchanged one is reused without importing lm-eval.

Running it (:meth:`LmevalTask.predict`) goes through :mod:`tasks.lmeval.run`;
scoring from saved rows is :meth:`LmevalTask.aggregate`, which applies
lm-eval's own aggregation functions (and for a group, lm-eval's group
aggregation over its leaf tasks) to any subset of examples, which is what
our bootstrap resamples.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from tasks.base import MetricSpec, Task
from tasks.lmeval import PREFIX, lmeval_version, metric_key, require_lmeval, run
from tasks.lmeval import index as ix

DEFAULT_METRICS = {  # lm_eval.api.registry.DEFAULT_METRIC_REGISTRY (0.4.13)
    "loglikelihood": ["perplexity", "acc"],
    "loglikelihood_rolling": ["word_perplexity", "byte_perplexity", "bits_per_byte"],
    "multiple_choice": ["acc", "acc_norm"],
    "generate_until": ["exact_match"],
}


def _metric_name(value: Any) -> str:
    text = str(value)
    return text.rsplit(".", 1)[-1] if text.startswith("!function") else text


def leaf_metrics(cfg: dict[str, Any]) -> list[str]:
    """A leaf task's metric keys in the order lm-eval reports them (filter, then metric)."""
    out_type = cfg.get("output_type") or "generate_until"
    mlist = cfg.get("metric_list")
    names = ([_metric_name(m["metric"]) for m in mlist if isinstance(m, dict) and "metric" in m]
             if mlist else DEFAULT_METRICS.get(out_type, []))
    filters = [f.get("name", "none") for f in cfg.get("filter_list") or [] if isinstance(f, dict)]
    return [metric_key(m, f) for f in filters or ["none"] for m in names]


class LmevalTask(Task):
    """``lmeval:NAME``: one lm-eval task, group or tag, run through lm-eval's own machinery."""

    family = "lmeval"

    def __init__(self, bare: str, index: dict[str, ix.Entry]) -> None:
        self.bare = bare
        self.name = PREFIX + bare  # type: ignore[misc]  (an instance name per lm-eval task)
        self.entry = ix.entry(bare, index)
        self.leaf_names = ix.leaves(bare, index)
        self.index = index
        memo: dict[Path, dict[str, Any]] = {}
        self.configs = {leaf: ix.merged_config(Path(index[leaf].path), memo, True)  # type: ignore[arg-type]
                        for leaf in self.leaf_names if leaf in index and index[leaf].path}
        self.group_config = (ix.merged_config(Path(self.entry.path), memo, True)
                             if self.entry.kind == "group" and self.entry.path else {})
        meta = (self.group_config if self.entry.kind == "group"
                else self.configs.get(bare, {})).get("metadata") or {}
        default = "N/A" if self.entry.kind != "task" else "Yaml"
        self.version = str(meta.get("version", default)) if isinstance(meta, dict) else default  # type: ignore[misc]
        self.source = f"lm-eval {lmeval_version() or '(not installed)'}: {self.entry.path or 'tag'}"  # type: ignore[misc]
        self.description = f"lm-evaluation-harness {self.entry.kind} {bare}"  # type: ignore[misc]
        self.metrics = [MetricSpec(m) for m in self.metric_keys()]  # type: ignore[misc]

    # -- what keys a result ------------------------------------------------
    def leaf_metric_keys(self, leaf: str) -> list[str]:
        return leaf_metrics(self.configs.get(leaf, {}))

    def metric_keys(self) -> list[str]:
        """This task's (or group's aggregate) metric keys, as lm-eval names its results."""
        if self.entry.kind == "task":
            return self.leaf_metric_keys(self.bare)
        if self.entry.kind == "group" and self.group_config.get("aggregate_metric_list"):
            return [k for agg in self.agg_configs() for k in self.agg_keys(agg)]
        keys: list[str] = []   # a tag, or a group without aggregation: every leaf's own keys
        for leaf in self.leaf_names:
            keys += [f"{leaf}/{k}" for k in self.leaf_metric_keys(leaf)]
        return keys

    def agg_configs(self) -> list[dict[str, Any]]:
        aggs = self.group_config.get("aggregate_metric_list") or []
        return [a for a in (aggs if isinstance(aggs, list) else [aggs]) if isinstance(a, dict)]

    def agg_keys(self, agg: dict[str, Any]) -> list[str]:
        metric = str(agg["metric"])
        filters = agg.get("filter_list")
        if filters is None:  # lm-eval discovers them from the leaf tasks' results
            found = {k.split(",", 1)[1] if "," in k else "none" for leaf in self.leaf_names
                     for k in self.leaf_metric_keys(leaf) if k.split(",", 1)[0] == metric}
            filters = sorted(found)
        filters = filters if isinstance(filters, list) else [filters]
        return [metric_key(metric, f) for f in filters]

    def example_mean(self, key: str) -> bool:
        """Whether a mean-aggregated ``key`` is the mean over all documents (a group weighted
        by size), rather than a mean of its members' means."""
        if self.entry.kind != "group" or "/" in key:
            return True
        return all(bool(agg.get("weight_by_size", True)) for agg in self.agg_configs()
                   if key in self.agg_keys(agg))

    def available(self) -> tuple[bool, str]:
        if lmeval_version() is None:
            from tasks.lmeval import INSTALL_HINT

            return False, f"lm-eval is not installed: {INSTALL_HINT}"
        ok, why = ix.availability(self.bare, self.index)
        return ok is not False, why  # None (not checkable offline): let lm-eval try

    def data_hash(self) -> str:
        """sha256 (16 hex) of the data, the merged YAML configs and their Python helpers."""
        if not hasattr(self, "_hash"):
            h = hashlib.sha256()
            h.update(json.dumps([self.group_config, self.configs], sort_keys=True,
                                default=str).encode())
            for leaf in self.leaf_names:
                for part in _fingerprint(self.index.get(leaf), self.configs.get(leaf, {})):
                    h.update(part.encode())
            self._hash = h.hexdigest()[:16]
        return self._hash

    def sizes(self) -> dict[str, int]:
        return {}

    def examples(self, split: str) -> list:  # type: ignore[override]
        raise HarnessError(f"{self.name} has no examples of ours: lm-eval builds its documents",
                           hint=f"harness tasks show {self.name}")

    def describe(self) -> dict[str, Any]:
        ok, why = self.available()
        return {"name": self.name, "kind": self.entry.kind, "version": self.version,
                "family": self.family, "source": self.source, "output_type": self.entry.output_type,
                "metrics": self.metric_keys(), "leaf_tasks": self.leaf_names,
                "available": ok, "reason": why, "lmeval_version": lmeval_version(),
                "config": self.group_config or self.configs.get(self.bare, {})}

    # -- running and scoring ------------------------------------------------------
    def predict(self, model: Any, **options: Any) -> Any:
        """Run lm-eval's requests for this task on ``model``; see :func:`tasks.lmeval.run.predict`."""
        return run.predict(self, model, **options)

    def aggregate(self, key: str, rows: list[dict[str, Any]]) -> float:
        """lm-eval's value of metric ``key`` on these rows (any subset or resample)."""
        return run.aggregate(self, key, rows)

    def higher_is_better(self, key: str, rows: list[dict[str, Any]]) -> bool | None:
        """lm-eval's direction of metric ``key`` (recorded in the rows by the run)."""
        for row in rows:
            hib = (row.get("higher_is_better") or {}).get(key.rsplit("/", 1)[-1])
            if hib is not None:
                return bool(hib)
        return None


def _fingerprint(entry: ix.Entry | None, cfg: dict[str, Any]) -> list[str]:
    """What identifies a leaf task's data and helpers: file hashes, or the cache listing."""
    from harnesskit.fsutil import sha256_file

    parts: list[str] = []
    if entry is None:
        return parts
    base = Path(entry.path).parent if entry.path else Path(".")
    for value in _walk(cfg):
        if isinstance(value, str) and value.startswith("!function "):
            mod = value.split(" ", 1)[1].rsplit(".", 1)[0].replace(".", "/") + ".py"
            if (base / mod).is_file():
                parts.append(f"{mod}:{sha256_file(base / mod)}")
    for f in entry.data_files:
        if Path(f).is_file():
            parts.append(f"{f}:{sha256_file(Path(f))}")
    if entry.dataset_path and entry.dataset_path not in ix.LOCAL_BUILDERS:
        ds, hub = ix._hf_cache_dirs()
        for d in (ds / entry.dataset_path.replace("/", "___"),
                  hub / f"datasets--{entry.dataset_path.replace('/', '--')}"):
            if d.is_dir():
                parts += sorted(f"{p.relative_to(d)}:{p.stat().st_size}"
                                for p in d.rglob("*") if p.is_file())
    return parts


def _walk(obj: Any) -> Any:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


_TASKS: dict[tuple[str, tuple[Path, ...]], LmevalTask] = {}


def get_lmeval_task(name: str) -> LmevalTask:
    """The task for ``lmeval:NAME`` (cached per name and set of ``--include`` folders)."""
    require_lmeval()  # without the extra: one line saying how to install it
    bare = name[len(PREFIX):] if name.startswith(PREFIX) else name
    key = (bare, tuple(ix.includes()))
    if key not in _TASKS:
        _TASKS[key] = LmevalTask(bare, ix.index_for(bare))
    return _TASKS[key]


def reset() -> None:
    """Forget the built task objects (tests; the registry's reset calls this)."""
    _TASKS.clear()
