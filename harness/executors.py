"""Where evaluation jobs run: in this process, in local worker processes, on Ray, on Slurm.

The planner (:func:`harness.evaluator.plan`) makes the jobs; an executor runs
them. Except for the default (one local process, which runs the planned jobs
as they are), each job travels as a :class:`JobSpec`: plain data (the resolved
model, the task's name and where it was registered from, the seed and the
evaluation config, the output folder and the store URL) from which the worker
rebuilds the job and runs it with :func:`harness.evaluator.run_job`. A job is a
pure function of its key: it writes its result file atomically and upserts its
store row by the result key, and a finished job is found and reused, so a job
that runs twice, is pre-empted, or is retried after its worker died, leaves the
same result once. The worker checks that it computes the key the planner did
(same model content, task version and data, config): a worker whose task data
differ refuses the job instead of recording a different result under it.

    run_jobs(jobs, cfg, out=..., db=..., executor=make_executor("ray", cpus=1))
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.evaluator import EvalConfig, Job, run_here, run_job
from harness.results import Result
from harnesskit.errors import HarnessError
from tasks.modelref import ModelRef

EXECUTORS = ("local", "ray", "slurm")
# A local Ray node dies at start when its Python agents take over 15 s to start (a hard-coded
# limit, ray-project/ray#65983), which happens on a loaded machine; a second try usually works.
RAY_START_ATTEMPTS = 3


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """Everything a worker needs to run one job, as plain picklable data."""

    model: ModelRef
    task: str                 # the task's registry name
    task_origin: str          # where it was registered (YAML file, module.Class, entry point)
    baseline: str | None      # the baseline's name, for baseline jobs
    seed: int
    mode: str
    cfg: EvalConfig
    key: str                  # the planner's infer key: the worker must compute the same
    out: str                  # absolute results folder
    db: str                   # store URL (absolute for SQLite)
    data_home: str            # the planner's HARNESS_DATA_HOME (task data cache)
    batch_size: int = 16
    rescore: bool = False
    threads: int | None = None  # torch intra-op threads in the worker (None: leave as is)

    @property
    def label(self) -> str:
        return f"{self.model.id} on {self.task} seed {self.seed}"


def spec_of(job: Job, cfg: EvalConfig, *, out: Path, db: str, batch_size: int = 16,
            rescore: bool = False, threads: int | None = None) -> JobSpec:
    """The shippable description of a planned job."""
    from harnesskit.paths import data_home
    from tasks.registry import origin_of

    try:
        origin = origin_of(job.task.name)
    except HarnessError:  # resolved by name, not registered (lmeval:NAME)
        origin = ""
    return JobSpec(model=job.model, task=job.task.name, task_origin=origin,
                   baseline=job.model.spec.split(":", 1)[1] if job.baseline is not None else None,
                   seed=job.seed, mode=job.mode, cfg=cfg, key=job.keys(cfg)[1],
                   out=str(Path(out).resolve()), db=absolute_url(db), data_home=str(data_home()),
                   batch_size=batch_size, rescore=rescore, threads=threads)


def absolute_url(db: str | Path) -> str:
    """A store URL that means the same from any working directory."""
    from leaderboards.store import is_server_url, parse_url

    return str(db) if is_server_url(db) else str(parse_url(db).resolve())


def run_spec(spec: JobSpec) -> Result:
    """Rebuild one job from its spec and run it (in whatever process or machine this is)."""
    from leaderboards.store import open_store

    if spec.threads:
        import torch

        torch.set_num_threads(spec.threads)
    job = rebuild(spec)
    if job.keys(spec.cfg)[1] != spec.key:
        raise HarnessError(f"{spec.label}: this worker computes another result key than the "
                           "planner (different task data, task version or model files here)",
                           hint="give every worker the same code, task data and model files")
    with open_store(spec.db) as store:
        return run_job(job, spec.cfg, Path(spec.out), store, batch_size=spec.batch_size,
                       rescore=spec.rescore)


def rebuild(spec: JobSpec) -> Job:
    """The live job: the task from the registry (registering it from its origin if needed)."""
    task = _task(spec)
    fn = None
    if spec.baseline is not None:
        fn = task.baselines()[spec.baseline]
    return Job(spec.model, task, spec.seed, spec.mode, fn)


def _task(spec: JobSpec) -> Any:
    import importlib

    from harness.evaluator import include_once
    from tasks import data, get_task, list_tasks, registry

    if os.environ.get("HARNESS_DATA_HOME") != spec.data_home:
        os.environ["HARNESS_DATA_HOME"] = spec.data_home  # a long-lived worker, a new evaluation
        data.clear_memo()
    known = spec.task in list_tasks()
    if known and registry.origin_of(spec.task) == spec.task_origin:
        return get_task(spec.task)
    if known:
        registry.reset()  # the name now comes from elsewhere (another evaluation's YAML file)
    try:
        if Path(spec.task_origin).is_file():
            include_once(Path(spec.task_origin))
        elif spec.task not in list_tasks() and re.fullmatch(r"[\w.]+\.\w+", spec.task_origin):
            importlib.import_module(spec.task_origin.rsplit(".", 1)[0])  # its decorator registers it
        return get_task(spec.task)
    except (ImportError, HarnessError) as exc:
        raise HarnessError(f"task {spec.task!r} (registered from {spec.task_origin}) is unknown "
                           f"in this worker: {exc}",
                           hint="give workers the task as a YAML file on a shared path or as an "
                                "installed plugin package") from None


# --- executors ---------------------------------------------------------------------------


class Executor:
    """An engine that runs job specs; ``run`` is what the evaluator calls."""

    name = "?"

    def map(self, specs: Sequence[JobSpec], done: Callable[[JobSpec], None]) -> list[Any]:
        """One Result or exception per spec, in order; ``done(spec)`` as each one ends."""
        raise NotImplementedError

    def run(self, jobs: Sequence[Job], cfg: EvalConfig, *, out: Path, db: str | Path,
            batch_size: int = 16, rescore: bool = False) -> list[Result]:
        """Run planned jobs here (see :func:`run_jobs`)."""
        return run_jobs(jobs, cfg, out=out, db=db, executor=self, batch_size=batch_size,
                        rescore=rescore)


@dataclass
class LocalExecutor(Executor):
    """Jobs in this process (``jobs=1``), or in ``jobs`` worker processes on this machine."""

    jobs: int = 1
    name: str = "local"

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise HarnessError(f"--jobs must be at least 1, got {self.jobs}")

    def threads(self) -> int:
        """torch threads per worker: the machine's cores shared out."""
        return max(1, (os.cpu_count() or 1) // self.jobs)

    def map(self, specs: Sequence[JobSpec], done: Callable[[JobSpec], None]) -> list[Any]:
        """Run the specs in a pool of spawned processes; a failure is returned, not raised."""
        import concurrent.futures as cf
        import multiprocessing as mp

        out: list[Any] = [None] * len(specs)
        # spawn, not fork: a forked copy of a process that has run torch's thread pools can hang
        with cf.ProcessPoolExecutor(self.jobs, mp_context=mp.get_context("spawn"),
                                    initializer=_limit_threads, initargs=(self.threads(),)) as pool:
            futures = {pool.submit(run_spec, s): i for i, s in enumerate(specs)}
            for fut in cf.as_completed(futures):
                i = futures[fut]
                out[i] = fut.exception() or fut.result()
                done(specs[i])
        return out


def _limit_threads(n: int) -> None:
    """Worker initializer: the thread count must be set before torch starts its pools."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass
class RayExecutor(Executor):
    """One Ray task per job on a Ray cluster (``address``) or a local Ray instance.

    ``cpus``/``gpus`` are each job's declared resources; ``retries`` is how often
    Ray reruns a job whose worker died (safe: a job is idempotent).
    """

    address: str | None = None
    cpus: float = 1.0
    gpus: float = 0.0
    retries: int = 2
    local_cpus: int | None = None     # CPUs of a local instance started here (default: all)
    object_store_mb: int | None = None  # its object store (results are small)
    name: str = "ray"

    def map(self, specs: Sequence[JobSpec], done: Callable[[JobSpec], None]) -> list[Any]:
        ray = _import("ray", "ray[default]")
        started = self._connect(ray)
        try:
            task = ray.remote(run_spec).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                                max_retries=self.retries, retry_exceptions=False)
            refs = {task.remote(s): i for i, s in enumerate(specs)}
            out: list[Any] = [None] * len(specs)
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                i = refs[ready[0]]
                try:
                    out[i] = ray.get(ready[0])
                except ray.exceptions.RayTaskError as exc:
                    out[i] = exc.cause if isinstance(exc.cause, Exception) else exc
                except ray.exceptions.RayError as exc:  # the worker died and retries ran out
                    out[i] = exc
                done(specs[i])
            return out
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join the cluster, or start a small local instance; True when started here."""
        if ray.is_initialized():
            return False
        start_ray(self.address, cpus=self.local_cpus, object_store_mb=self.object_store_mb)
        return True


def start_ray(address: str | None = None, *, cpus: int | None = None,
              object_store_mb: int | None = None, memory_mb: int | None = None) -> None:
    """Connect this process to a Ray cluster, or start a local instance (no dashboard).

    ``cpus``, ``object_store_mb`` and ``memory_mb`` size a local instance (Ray's
    defaults take a share of the whole machine); workers get our package on their path.
    """
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    opts: dict[str, Any] = {"log_to_driver": False, "runtime_env": _runtime_env()}
    if address is None:  # sizes and the dashboard are the cluster's business when joining one
        opts.update(num_cpus=cpus, include_dashboard=False,
                    object_store_memory=object_store_mb and object_store_mb << 20,
                    _memory=memory_mb and memory_mb << 20)
    for attempt in range(RAY_START_ATTEMPTS):
        try:
            ray.init(address=address, **opts)
            return
        except Exception as exc:  # Ray raises bare Exception when its node fails to start
            ray.shutdown()
            if attempt + 1 == RAY_START_ATTEMPTS or address is not None:
                where = address or "a local instance"
                raise HarnessError(f"cannot start or join Ray ({where}): {exc}",
                                   hint="check --ray-address (`ray start --head` prints it)") from None


def _runtime_env() -> dict[str, Any]:
    """Workers import this very code: our package root goes first on their path."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {"env_vars": {"PYTHONPATH": path, "OMP_WAIT_POLICY": "PASSIVE",
                         "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                         "TOKENIZERS_PARALLELISM": "false"}}


@dataclass
class SlurmExecutor(Executor):
    """One Slurm job per evaluation job (an array), submitted through submitit.

    ``cluster="local"`` runs them as local processes through submitit's local
    executor (tests, or a machine without Slurm). Jobs are requeued when Slurm
    pre-empts them or their time runs out; a requeued job redoes only what is missing.
    """

    folder: str
    partition: str | None = None
    time_min: int = 60
    gpus: int = 0
    cpus: int = 1
    mem_gb: float | None = None
    cluster: str | None = None    # None or "slurm": Slurm; "local": submitit's local executor
    max_requeues: int = 3
    name: str = "slurm"
    extra: dict[str, Any] = field(default_factory=dict)

    def map(self, specs: Sequence[JobSpec], done: Callable[[JobSpec], None]) -> list[Any]:
        import shutil

        submitit = _import("submitit", "submitit")
        if self.cluster in (None, "slurm") and shutil.which("sbatch") is None:
            # submitit would quietly pick its local executor: refuse instead
            raise HarnessError("--executor slurm: Slurm is not available here (no sbatch on PATH)",
                               hint="run from a Slurm login node, or use --executor local or ray")
        ex = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster or "slurm",
                                   slurm_max_num_timeout=self.max_requeues)
        params: dict[str, Any] = {"timeout_min": self.time_min, "gpus_per_node": self.gpus,
                                  "cpus_per_task": self.cpus, "name": "harness-eval", **self.extra}
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.mem_gb:
            params["mem_gb"] = self.mem_gb
        try:
            ex.update_parameters(**params)
            jobs = ex.map_array(_Requeueable(), list(specs))
        except Exception as exc:  # submitit raises plain errors for a missing sbatch, bad options
            raise HarnessError(f"cannot submit to Slurm: {exc}",
                               hint="run on a Slurm login node, or check --slurm-partition") from None
        out: list[Any] = [None] * len(specs)
        for i, job in enumerate(jobs):
            try:
                out[i] = job.result()
            except Exception as exc:  # submitit wraps the worker's exception as FailedJobError
                out[i] = exc
            done(specs[i])
        return out


def _requeueable_base() -> type:
    try:
        from submitit.helpers import Checkpointable
    except ImportError:
        return object
    return Checkpointable


class _Requeueable(_requeueable_base()):  # type: ignore[misc]
    """submitit calls ``checkpoint`` on pre-emption or time-out: requeue the same spec.

    Nothing needs saving: the job is idempotent and resumes from its own files.
    """

    def __call__(self, spec: JobSpec) -> Result:
        return run_spec(spec)


@dataclass
class DataParallelExecutor(Executor):
    """Under ``torchrun``: every process runs each job on its share of the test examples.

    Example ``i`` goes to rank ``i % world``; the ranks' predictions are gathered on
    rank 0, which re-interleaves them into the original order, then scores and records
    the job exactly as one process would (same predictions file, same metrics). Every
    rank fine-tunes its own copy of the model with the same seed; only scoring is split.
    Rank 0 decides whether a job needs the model at all (finished or saved work is
    reused), so all ranks take the same branch.
    """

    name: str = "torchrun"
    is_main: bool = True      # after run: whether this process recorded the results

    def run(self, jobs: Sequence[Job], cfg: EvalConfig, *, out: Path, db: str | Path,
            batch_size: int = 16, rescore: bool = False) -> list[Result]:
        import time

        from harness.evaluator import job_files, needs_model, predict_rows, save_inference
        from harnesskit.progress import bar
        from leaderboards.store import open_store
        from pretrain.engine import distributed

        d = distributed.setup(device="cpu")
        self.is_main = d.is_main
        results: list[Result] = []
        store = open_store(db) if d.is_main else None
        try:
            for job in bar(jobs, desc=f"eval (torchrun x{d.world_size})", unit="job"):
                if distributed.broadcast_object(d, needs_model(job, cfg, out, rescore)):
                    t0 = time.perf_counter()
                    meta, rows = predict_rows(job, cfg, batch_size=batch_size,
                                              shard=(d.rank, d.world_size))
                    parts = distributed.gather_objects(d, rows)
                    if parts is not None:
                        meta["info"]["data_parallel"] = d.world_size
                        meta.update(key=job.keys(cfg)[1], infer_s=time.perf_counter() - t0)
                        _, ppath, sidecar = job_files(job, cfg, out)
                        save_inference(job, ppath, sidecar, meta, interleave(parts))
                if store is not None:  # rank 0 scores and records from the saved predictions
                    results.append(run_job(job, cfg, out, store, batch_size=batch_size,
                                           rescore=rescore))
                distributed.barrier(d)
        finally:  # the process group stays up: a watcher calls run once per checkpoint
            if store is not None:
                store.close()
        return results


def interleave(parts: Sequence[Sequence[Any]]) -> list[Any]:
    """Undo the ``i % world`` split: ``[[a0, a2], [a1, a3]] -> [a0, a1, a2, a3]``."""
    out = []
    for i in range(max((len(p) for p in parts), default=0)):
        out.extend(p[i] for p in parts if i < len(p))
    return out


def _import(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise HarnessError(f"this executor needs {module}, which is not installed",
                           hint=f"pip install '{package}' (or the package's [dist] extra)") from None


def make_executor(name: str = "local", **options: Any) -> Any:
    """An executor by name with its options (None values are left at their defaults)."""
    options = {k: v for k, v in options.items() if v is not None}
    table = {"local": LocalExecutor, "ray": RayExecutor, "slurm": SlurmExecutor}
    if name not in table:
        raise HarnessError(f"unknown executor {name!r}", hint=f"choose one of {', '.join(table)}")
    try:
        return table[name](**options)
    except TypeError as exc:
        raise HarnessError(f"executor {name}: {exc}", hint="see harness eval --help") from None


OPTION_OWNERS = {"jobs": ("local",), "address": ("ray",), "retries": ("ray",),
                 "cpus": ("ray", "slurm"), "gpus": ("ray", "slurm"), "partition": ("slurm",),
                 "time_min": ("slurm",), "mem_gb": ("slurm",), "folder": ("slurm",)}
OPTION_FLAGS = {"jobs": "--jobs", "address": "--ray-address", "retries": "--retries",
                "cpus": "--cpus-per-job", "gpus": "--gpus-per-job",
                "partition": "--slurm-partition", "time_min": "--slurm-time",
                "mem_gb": "--slurm-mem-gb", "folder": "--slurm-folder"}


def executor_from_options(name: str, *, out: str | Path, **options: Any) -> Executor:
    """The executor ``harness eval`` asked for; under torchrun, the data-parallel one.

    An option that belongs to another executor is a user error (every one listed at once).
    """
    from pretrain.engine import distributed

    given = {k: v for k, v in options.items() if v is not None}
    wrong = [f"{OPTION_FLAGS[k]} (for {'/'.join(OPTION_OWNERS[k])})" for k in given
             if name not in OPTION_OWNERS[k]]
    if wrong:
        raise HarnessError(f"--executor {name} does not take {', '.join(wrong)}",
                           hint="drop those options or choose the executor they belong to")
    if distributed.launched():
        if name != "local" or given:
            raise HarnessError("under torchrun, eval splits each task's examples over the "
                               "processes; --executor and its options do not apply",
                               hint="run torchrun without --executor, or the executor without torchrun")
        return DataParallelExecutor()
    if name == "slurm":
        given.setdefault("folder", str(Path(out) / ".submitit"))
    if name == "slurm":  # Ray takes fractions of a CPU or GPU, Slurm whole ones
        for key in ("cpus", "gpus"):
            if key in given:
                given[key] = max(1 if key == "cpus" else 0, round(given[key]))
    return make_executor(name, **given)


def run_jobs(jobs: Sequence[Job], cfg: EvalConfig, *, out: Path, db: str | Path,
             executor: Any = None, batch_size: int = 16, rescore: bool = False) -> list[Result]:
    """Run planned jobs on an executor (default: in this process); one Result per job, in order.

    Jobs that fail do not stop the others; once every job has ended, the first
    failure is raised with the count (a rerun retries only what did not finish).
    """
    from harnesskit.progress import bar

    executor = executor or LocalExecutor()
    if isinstance(executor, LocalExecutor) and executor.jobs == 1:
        return run_here(jobs, cfg, out, db, batch_size=batch_size, rescore=rescore)
    threads = executor.threads() if isinstance(executor, LocalExecutor) else None
    specs = [spec_of(j, cfg, out=out, db=str(db), batch_size=batch_size, rescore=rescore,
                     threads=threads) for j in jobs]
    progress = bar(total=len(specs), desc=f"eval ({executor.name})", unit="job")
    with progress:
        outcomes = executor.map(specs, lambda s: progress.update(1))
    failed = [(s, o) for s, o in zip(specs, outcomes) if not isinstance(o, Result)]
    if failed:
        spec, exc = failed[0]
        msg = exc.one_line() if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
        raise HarnessError(f"{len(failed)} of {len(specs)} jobs failed on {executor.name}; "
                           f"{spec.label}: {' '.join(msg.split())[:400]}",
                           hint="finished jobs are recorded; rerun the same command to run "
                                "only the rest")
    return list(outcomes)
