"""The evaluator: models x tasks x seeds, in three stages that are kept apart.

``infer``  runs the model through the tasks runner (fine-tuning or zero-shot) and
           saves every prediction (``predictions.jsonl``, plus an ``infer-seed-<k>.json``
           sidecar holding the key and the runner's info);
``score``  computes each metric with its 95% bootstrap CI and per-example scores
           from the saved predictions only;
``record`` writes ``seed-<k>.json`` (SPEC §5) and upserts the row in the store.

Work is keyed by the model's content hash, the task's version and data hash,
the seed and the evaluation config, so a rerun reuses finished results, an
interrupted run resumes at the first unfinished (model, task, seed), and a
change of metrics re-scores without re-running a model. A model that cannot do
a task gets a ``not_applicable`` row with the reason.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.curves import read_curve
from harness.metrics import metric_problems
from harness.results import (
    SCHEMA_VERSION,
    MetricResult,
    ModelInfo,
    Result,
    ResultDoc,
    TaskInfo,
    claim_model_dir,
    library_versions,
    predictions_path,
    read_json,
    read_predictions,
    result_from_dict,
    result_path,
    setting_tag,
    stable_hash,
    write_json,
    write_predictions,
    write_result,
)
from harnesskit.errors import HarnessError
from harnesskit.fsutil import check_writable_dir
from harnesskit.progress import bar
from pretrain.engine.precision import resolve_precision
from tasks.base import SCORED_FAMILIES, FinetuneDefaults, finetune_settings
from tasks.baselines import BaselineSkipped
from tasks.modelref import ModelRef, resolve_model, resolve_models

MODES = ("finetune", "zeroshot")


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """Everything about an evaluation that changes its numbers (batch size does not)."""

    mode: str = "finetune"
    limit: int | None = None
    n_bootstrap: int = 1000
    precision: str = "bf16"
    overrides: tuple[tuple[str, Any], ...] = ()   # fine-tuning defaults replaced, e.g. epochs
    num_fewshot: int | None = None   # few-shot examples; None = the task's own (ours: 0)
    chat_template: bool = False      # prompts through the tokenizer's chat template
    dtype: str = "float32"           # the weights' dtype (float32, bfloat16, float16)
    device: str | None = None        # cpu, cuda, cuda:N (None: cuda when visible); recorded

    def prompt_settings(self, mode: str) -> dict[str, Any]:
        """Settings of our tasks that key a result, only where they differ from the default
        (so results made before these settings existed keep their keys)."""
        out: dict[str, Any] = {}
        if mode != "finetune" and self.num_fewshot:
            out["num_fewshot"] = self.num_fewshot
        if mode != "finetune" and self.chat_template:
            out["chat_template"] = True
        if self.dtype != "float32":
            out["dtype"] = self.dtype
        return out

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise HarnessError(f"unknown mode {self.mode!r}", hint="choose finetune or zeroshot")
        if self.limit is not None and self.limit < 1:
            raise HarnessError(f"--limit must be at least 1, got {self.limit}")
        if self.n_bootstrap < 0:
            raise HarnessError("n_bootstrap must be >= 0")
        if self.num_fewshot is not None and self.num_fewshot < 0:
            raise HarnessError(f"--num-fewshot must be >= 0, got {self.num_fewshot}")
        if self.precision not in ("fp32", "bf16"):
            raise HarnessError(f"unknown precision {self.precision!r}", hint="use fp32 or bf16")
        finetune_settings(FinetuneDefaults(), dict(self.overrides))
        from tasks.models import DTYPES

        if self.dtype not in DTYPES:
            raise HarnessError(f"unknown dtype {self.dtype!r}", hint=f"use {', '.join(DTYPES)}")


@dataclass(frozen=True)
class Job:
    """One unit of work: a model (or baseline) on a task with a seed."""

    model: ModelRef
    task: Any
    seed: int
    mode: str                 # the mode recorded ("-" for baselines, "lm" for LM tasks)
    baseline: Any = None      # the baseline callable for baseline jobs

    def config(self, cfg: EvalConfig) -> dict[str, Any]:
        """The config that keys this job's results (no seed: that is keyed on its own)."""
        ft = None
        if self.mode == "finetune":
            ft = dataclasses.asdict(dataclasses.replace(self.task.finetune, **dict(cfg.overrides)))
        conf = {"mode": self.mode, "limit": cfg.limit, "finetune": ft,
                "precision": cfg.precision if self.baseline is None else None}
        if self.task.family == "lmeval":
            conf.update(num_fewshot=cfg.num_fewshot, chat_template=cfg.chat_template)
        elif self.baseline is None:
            conf.update(cfg.prompt_settings(self.mode))
        return conf

    def setting(self, cfg: EvalConfig) -> dict[str, Any]:
        """The settings of this job that differ from the defaults (they change numbers): the
        test-set limit, fine-tuning values other than the task's, a precision other than
        this machine's default,
        lm-eval's few-shot count and chat template."""
        out: dict[str, Any] = {}
        if cfg.limit is not None:
            out["limit"] = cfg.limit
        if self.mode == "finetune":
            ft = dataclasses.replace(self.task.finetune, **dict(cfg.overrides))
            out.update({f"ft.{k}": v for k, v in sorted(dataclasses.asdict(ft).items())
                        if getattr(self.task.finetune, k) != v})
        if self.baseline is None and cfg.precision != resolve_precision("auto"):
            out["precision"] = cfg.precision  # not what this machine runs by default
        if self.task.family == "lmeval":
            if cfg.num_fewshot is not None:
                out["num_fewshot"] = cfg.num_fewshot
            if cfg.chat_template:
                out["chat_template"] = True
        elif self.baseline is None:
            out.update(cfg.prompt_settings(self.mode))  # few-shot, chat template, dtype
        return out

    def keys(self, cfg: EvalConfig) -> tuple[str, str, str]:
        """(config hash, infer key, score key)."""
        conf = self.config(cfg)
        chash = stable_hash(conf)
        ident = [self.model.content_hash, self.task.name, str(self.task.version),
                 self.task.data_hash(), self.seed, chash]
        infer = stable_hash(["infer", *ident])
        metrics = [[m.name, m.options] for m in self.task.metrics]
        return chash, infer, stable_hash(["score", infer, metrics, cfg.n_bootstrap,
                                          SCHEMA_VERSION])


def evaluate(models: Sequence[str | Path | ModelRef], tasks: str | Sequence[str] = "all", *,
             mode: str = "finetune", seeds: Sequence[int] = (0,), limit: int | None = None,
             out: str | Path = "results", db: str | None = None, baselines: bool = True,
             batch_size: int = 16, n_bootstrap: int = 1000, rescore: bool = False,
             include: Sequence[str | Path] = (), precision: str = "auto",
             overrides: dict[str, Any] | None = None, num_fewshot: int | None = None,
             chat_template: bool = False, executor: Any = None, device: str | None = None,
             dtype: str = "float32") -> list[Result]:
    """Evaluate every model on every task with every seed; return one Result per job.

    ``models``: resolved :class:`ModelRef` s (the CLI resolves each ``--model`` once), or
    checkpoint/run directories and ``hf:PATH`` specs to resolve; ``tasks``: names or
    ``"all"`` (every task available here); ``db``: store URL (default
    ``OUT/harness.sqlite``). ``rescore`` recomputes metrics from the saved
    predictions without running any model. ``batch_size`` only changes speed.
    ``overrides`` replace the tasks' fine-tuning defaults (``{"epochs": 1}``).
    ``num_fewshot`` and ``chat_template`` shape prompted tasks (ours and ``lmeval:``),
    ``dtype`` the weights (these key the results); ``device`` is recorded in each result.
    ``executor`` runs the planned jobs (:mod:`harness.executors`: local processes, Ray,
    Slurm, torchrun data-parallel); None runs them one by one in this process.
    """
    from leaderboards.store import open_store

    precision = resolve_precision(precision)  # `auto` once, so results record what was used
    cfg = EvalConfig(mode=mode, limit=limit, n_bootstrap=n_bootstrap, precision=precision,
                     overrides=tuple(sorted((overrides or {}).items())),
                     num_fewshot=num_fewshot, chat_template=chat_template, dtype=dtype,
                     device=device)
    if device is not None:
        from tasks.models import check_device_dtype

        check_device_dtype(device, dtype)  # a missing GPU fails before any work
    task_objs = resolve_tasks(tasks, include)
    out = Path(out)
    refs = [r.with_id(claim_model_dir(out, r)) for r in resolve_models(models)]
    seeds = sorted(set(int(s) for s in seeds)) or [0]
    jobs = plan(refs, task_objs, cfg, seeds, baselines)
    db = db or out / "harness.sqlite"
    # Every input is checked above, and the places we write are checked here: a read-only
    # results folder or store fails now, not after hours of model work.
    check_writable_dir(out, "results folder")
    with open_store(db) as store:
        store.check_writable()
    if executor is None:
        return run_here(jobs, cfg, out, db, batch_size=batch_size, rescore=rescore)
    return executor.run(jobs, cfg, out=out, db=db, batch_size=batch_size, rescore=rescore)


def run_here(jobs: Sequence[Job], cfg: EvalConfig, out: Path, db: str | Path, *,
             batch_size: int = 16, rescore: bool = False) -> list[Result]:
    """Every job in turn in this process, through one store connection."""
    from leaderboards.store import open_store

    results = []
    with open_store(db) as store:
        progress = bar(jobs, desc="eval", unit="job")
        for job in progress:
            progress.set_postfix_str(f"{job.model.id} on {job.task.name} seed {job.seed}")
            results.append(run_job(job, cfg, out, store, batch_size=batch_size, rescore=rescore))
    return results


def resolve_tasks(tasks: str | Sequence[str], include: Sequence[str | Path] = ()) -> list[Any]:
    """Task objects for names or ``all``; every problem is reported at once."""
    from tasks import get_task, list_tasks

    for folder in include:
        include_once(Path(folder))
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    names = [n.strip() for part in names for n in str(part).split(",") if n.strip()]
    if names == ["all"]:
        objs = [get_task(n) for n in list_tasks()]
        return [t for t in objs if t.available()[0]]
    if not names:
        raise HarnessError("no tasks given", hint="pass --tasks NAME[,NAME...] or --tasks all")
    objs, problems = [], []
    for name in names:
        try:
            task = get_task(name)
        except HarnessError as exc:
            problems.append(exc.one_line())
            continue
        ok, why = task.available()
        if not ok:
            problems.append(f"task {name!r} is not available here: {why}")
        if task.family != "lmeval":  # lm-eval tasks keep lm-eval's own metrics
            problems.extend(f"task {name!r}: {p}" for p in metric_problems(task.metrics))
        objs.append(task)
    if problems:
        text = "; ".join(problems)
        hint = "see `harness tasks list`"  # once: an unknown name's own hint may carry it
        raise HarnessError(text, hint=None if hint in text else hint)
    return objs


def include_once(folder: Path) -> None:
    """Register a folder's YAML tasks unless this very folder already registered them."""
    from tasks import include, list_tasks
    from tasks.lmeval import index as lmeval_index
    from tasks.registry import origin_of
    from tasks.yaml_task import read_yaml_name

    if lmeval_index.is_lmeval_folder(folder):
        include(folder)  # lm-eval YAMLs: re-adding a folder is a no-op
        return
    files = [folder] if folder.is_file() else sorted([*folder.glob("*.yaml"),
                                                      *folder.glob("*.yml")])
    known = set(list_tasks())
    names = [read_yaml_name(f) for f in files]
    if files and all(n in known and origin_of(n) == str(f) for n, f in zip(names, files)):
        return
    include(folder)


def plan(refs: list[ModelRef], task_objs: list[Any], cfg: EvalConfig, seeds: list[int],
         baselines: bool) -> list[Job]:
    """The jobs in order: per task, each baseline once, then each model and seed."""
    jobs = []
    for task in task_objs:
        # Zero-shot and intrinsic LM scoring are deterministic: one seed says it all, unless
        # few-shot examples are drawn (each seed draws other shots).
        mode = "lm" if task.family == "lm" else (
            "zeroshot" if task.family in SCORED_FAMILIES else cfg.mode)
        many = mode == "finetune" or (mode == "zeroshot" and bool(cfg.num_fewshot))
        task_seeds = seeds if many else seeds[:1]
        if task.family == "lmeval":  # prompted; seeds only move the few-shot sample
            mode, task_seeds = "zeroshot", seeds if cfg.num_fewshot else seeds[:1]
        if baselines:
            for name, fn in sorted(task.baselines().items()):
                jobs.append(Job(resolve_model(f"baseline:{name}"), task, 0, "-", fn))
        for ref in refs:
            jobs.extend(Job(ref, task, s, mode) for s in task_seeds)
    return jobs


def run_job(job: Job, cfg: EvalConfig, out: Path, store: Any, *, batch_size: int = 16,
            rescore: bool = False) -> Result:
    """Reuse, re-score or run one job, then record it."""
    chash, infer_key, score_key = job.keys(cfg)
    rpath, ppath, sidecar = job_files(job, cfg, out)
    old = finished(rpath, ppath, infer_key, score_key) if not rescore else None
    if old is not None:
        store.put(old, path=str(rpath))  # idempotent: the row exists even in a new store
        return result_from_dict(old, rpath)  # the document just read: not read again
    t0 = time.perf_counter()
    meta = saved_inference(sidecar, ppath, infer_key)
    if meta is None:
        meta = infer(job, cfg, ppath, sidecar, infer_key, batch_size=batch_size)
    doc = base_document(job, cfg, chash, infer_key, score_key, meta)
    if meta["status"] == "ok":
        rows = read_predictions(ppath)
        t1 = time.perf_counter()
        metrics, scored = score(job.task, rows, cfg.n_bootstrap, meta.get("info") or {})
        write_predictions(ppath, scored)
        failed = any(m.error for m in metrics.values())
        doc = dataclasses.replace(
            doc, metrics=metrics, metric_order=list(metrics), predictions=ppath.name,
            n_examples=len(rows), timings={**doc.timings, "score_s": time.perf_counter() - t1},
            score_key=None if failed else score_key)  # failed: the next run re-scores only
    doc = dataclasses.replace(doc, timings={**doc.timings, "wall_s": time.perf_counter() - t0})
    result = write_result(rpath, doc)
    store.put(result.data, path=str(rpath))
    return result


def job_files(job: Job, cfg: EvalConfig, out: Path) -> tuple[Path, Path, Path]:
    """(results document, predictions, inference sidecar) of one job."""
    mode_dir = job.mode if job.mode in MODES else "finetune"
    tag = setting_tag(job.setting(cfg))
    rpath = result_path(out, job.model.id, job.task.name, job.seed, mode_dir, tag)
    ppath = predictions_path(out, job.model.id, job.task.name, job.seed, mode_dir, tag)
    return rpath, ppath, rpath.with_name(f"infer-seed-{job.seed}.json")


def finished(rpath: Path, ppath: Path, infer_key: str, score_key: str) -> dict[str, Any] | None:
    """The job's results document when it is complete under these keys, else None."""
    if not rpath.is_file():
        return None
    old = read_json(rpath)
    if old.get("key") == infer_key and old.get("score_key") == score_key and (
            old.get("status") != "ok" or ppath.is_file()):
        return old
    return None


def saved_inference(sidecar: Path, ppath: Path, infer_key: str) -> dict[str, Any] | None:
    """Stage 1's record when its predictions are saved under this key, else None."""
    meta = read_json(sidecar) if sidecar.is_file() and ppath.is_file() else {}
    return meta if meta.get("key") == infer_key else None


def needs_model(job: Job, cfg: EvalConfig, out: Path, rescore: bool = False) -> bool:
    """True when :func:`run_job` would run the model (no saved predictions to reuse)."""
    _, infer_key, score_key = job.keys(cfg)
    rpath, ppath, sidecar = job_files(job, cfg, out)
    if not rescore and finished(rpath, ppath, infer_key, score_key) is not None:
        return False
    return saved_inference(sidecar, ppath, infer_key) is None


def infer(job: Job, cfg: EvalConfig, ppath: Path, sidecar: Path, key: str, *,
          batch_size: int) -> dict[str, Any]:
    """Stage 1: predictions for every test example, saved before anything is scored."""
    t0 = time.perf_counter()
    meta, rows = predict_rows(job, cfg, batch_size=batch_size)
    meta.update(key=key, infer_s=time.perf_counter() - t0)
    return save_inference(job, ppath, sidecar, meta, rows)


def predict_rows(job: Job, cfg: EvalConfig, *, batch_size: int,
                 shard: tuple[int, int] = (0, 1)) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The model's (or baseline's) prediction rows, of one shard ``(rank, world)`` of the
    test examples, and the stage's record (status, reason, runner info)."""
    meta: dict[str, Any] = {"status": "ok", "reason": None}
    if job.baseline is not None:
        try:
            rows, info = run_baseline(job, cfg.limit), {"baseline": job.model.spec}
        except BaselineSkipped as exc:
            meta.update(status="not_applicable", reason=exc.reason)
            rows, info = [], {}
        rows = rows[shard[0]::shard[1]]
    else:
        from tasks.runner import NotApplicable, predict

        try:
            preds = predict(job.model, job.task, mode=cfg.mode, seed=job.seed,
                            limit=cfg.limit, batch_size=batch_size, precision=cfg.precision,
                            overrides=dict(cfg.overrides) or None,
                            num_fewshot=cfg.num_fewshot, chat_template=cfg.chat_template,
                            shard=shard, device=cfg.device, dtype=cfg.dtype)
            rows, info = list(preds.rows), dict(preds.info)
        except NotApplicable as exc:
            meta.update(status="not_applicable", reason=str(exc) or "not applicable")
            rows, info = [], {}
    meta["info"] = info
    return meta, rows


def save_inference(job: Job, ppath: Path, sidecar: Path, meta: dict[str, Any],
                   rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Write stage 1's predictions, then its sidecar (which means: they are complete)."""
    if meta["status"] == "ok" and not rows:
        raise HarnessError(f"{job.model.id} made no predictions on {job.task.name}",
                           hint="the task's test split is empty; check the task data")
    write_predictions(ppath, rows)
    write_json(sidecar, meta)  # after the predictions: a sidecar always means they are complete
    return meta


def run_baseline(job: Job, limit: int | None) -> list[dict[str, Any]]:
    """A baseline's predictions on the (limited) test split, in the runner's row format."""
    train, test = job.task.examples("train"), job.task.examples("test")
    if limit is not None:
        test = test[:limit]
    preds = job.baseline(train, test)
    return [{"id": ex.id, "input": ex.input, "prediction": p, "references": ex.references}
            for ex, p in zip(test, preds)]


def score(task: Any, rows: list[dict[str, Any]], n_bootstrap: int, info: dict[str, Any]
          ) -> tuple[dict[str, MetricResult], list[dict[str, Any]]]:
    """Stage 2: every metric of the task with its CI, and the rows with per-example scores
    and stats. Pseudo-log-likelihood scores (bert on an LM or cloze task) are recorded under
    ``pseudo_<metric>``: they are not comparable with a causal model's."""
    from harness.metrics import load_metric

    if task.family == "lmeval":  # lm-eval's own metrics and aggregation, with our CIs
        from harness.metrics.external import score_task_metrics

        found, scored = score_task_metrics(task, rows, n_bootstrap)
        return {k: MetricResult.from_dict(v) for k, v in found.items()}, scored
    preds = [r["prediction"] for r in rows]
    refs = [list(r.get("references") or []) for r in rows]
    # Only likelihood scores are pseudo: a fine-tuned bert's accuracy is a real accuracy.
    pseudo = info.get("scoring") == "pseudo-log-likelihood" and task.family in ("lm", "cloze")
    prefix = "pseudo_" if pseudo else ""
    metrics: dict[str, MetricResult] = {}
    per_example: dict[str, list[Any]] = {}
    stats: dict[str, list[Any]] = {}
    for spec in task.metrics:
        name = prefix + spec.name
        try:
            m = load_metric(spec.name, **spec.options)
            s, per_example[name], rows_stats = m.compute_with_examples(
                preds, refs if m.text_inputs else None, ci=n_bootstrap > 0,
                n_bootstrap=max(n_bootstrap, 1), seed=0)
        except Exception as exc:  # one failing metric must not lose the others, nor the run
            msg = exc.one_line() if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
            warn(f"{name} failed on {task.name}: {msg}; the other metrics are kept and "
                 "a rerun re-scores from the saved predictions")
            metrics[name] = MetricResult(score=None, error=msg, options=spec.options)
            per_example[name] = [None] * len(rows)
            continue
        recipe = m.recipe()
        if recipe is not None:
            stats[name] = rows_stats.tolist()
        metrics[name] = MetricResult(
            score=s.score, ci=list(s.ci) if s.ci else None, signature=s.signature,
            details=s.details, options=spec.options, direction=m.direction, level=m.level,
            recipe=recipe, unit=_unit(m, info))
    scored = [{**row, "scores": {n: v[i] for n, v in per_example.items()},
               "stats": {n: v[i] for n, v in stats.items()}} for i, row in enumerate(rows)]
    return metrics, scored


def _unit(metric: Any, info: dict[str, Any]) -> str | None:
    """Per-token metrics name the tokenizer their tokens come from (or the baseline's own)."""
    if not metric.per_token:
        return None
    if info.get("tokenizer"):
        return f"tokens of tokenizer {info['tokenizer']}"
    if info.get("baseline"):
        return f"tokens of {info['baseline']}"
    return "tokens of an unrecorded tokenizer"


def model_document(ref: ModelRef) -> dict[str, Any]:
    """The results document's ``model`` block: the reference, plus its run's loss curve."""
    doc = ref.to_dict()
    doc["info"]["curve"] = read_curve(ref.run / "metrics.jsonl") if ref.run else None
    return doc


def warn(msg: str) -> None:
    """A one-line warning on stderr (shown even with --quiet: it is about the numbers)."""
    import click

    click.echo(f"harness: warning: {msg}", err=True)


def task_info(task: Any, info: dict[str, Any]) -> TaskInfo:
    """The task block; for lm-eval tasks also what lm-eval ran (version, task versions,
    config hash, shots)."""
    extra = {}
    if task.family == "lmeval":
        extra = {"lmeval_version": info.get("lmeval_version"),
                 "config_hash": info.get("config_hash"),
                 "task_versions": info.get("task_versions"), "n_shot": info.get("n_shot")}
    return TaskInfo(name=task.name, version=str(task.version), family=task.family,
                    data_hash=task.data_hash(), source=getattr(task, "source", ""), extra=extra)


def base_document(job: Job, cfg: EvalConfig, chash: str, infer_key: str, score_key: str,
                  meta: dict[str, Any]) -> ResultDoc:
    """Stage 3's document, before metrics: model, task, setting, config, timings, versions."""
    task = job.task
    return ResultDoc(
        key=infer_key, score_key=score_key, config_hash=chash, setting=job.setting(cfg),
        status=meta["status"], reason=meta.get("reason"),
        model=ModelInfo(**model_document(job.model)),
        task=task_info(task, meta.get("info", {})),
        mode=job.mode, seed=job.seed, metrics={}, metric_order=[m.name for m in task.metrics],
        config={**job.config(cfg), "n_bootstrap": cfg.n_bootstrap,
                "runner": meta.get("info", {})},
        timings={"infer_s": meta.get("infer_s", 0.0)}, versions=library_versions(),
        created=time.time())
