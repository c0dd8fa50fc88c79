"""Executors: one evaluation through local processes, Slurm (submitit's local executor), Ray
(a local instance with 2 CPUs) and torchrun gives the same result files and store rows.

Result documents are compared without what legitimately differs between two runs of one
job (wall-clock timings and creation time); predictions files byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.executors import (
    LocalExecutor,
    RayExecutor,
    SlurmExecutor,
    executor_from_options,
    interleave,
)
from harnesskit.errors import HarnessError
from leaderboards.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TASKS = ["fixture-topics", "fixture-lm"]
OPTS = {"limit": 6, "n_bootstrap": 20, "overrides": {"epochs": 1}, "baselines": False}
VOLATILE = re.compile(r"(_s|seconds|^created|^timings)$")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    """Fixture tasks, their data home and a tiny GPT, shared by the module's evaluations."""
    from tasks import data, registry

    root = tmp_path_factory.mktemp("executors")
    old = os.environ.get("HARNESS_DATA_HOME")
    os.environ["HARNESS_DATA_HOME"] = str(root / "data-home")
    data.clear_memo()
    registry.reset()
    folder = fx.write_tasks(root / "yaml-tasks")
    ckpt = fx.make_checkpoint(root / "gpt", "gpt")
    yield {"root": root, "tasks": folder, "ckpt": ckpt}
    if old is None:
        os.environ.pop("HARNESS_DATA_HOME", None)
    else:
        os.environ["HARNESS_DATA_HOME"] = old
    data.clear_memo()
    registry.reset()


@pytest.fixture(scope="module")
def reference(setup) -> Path:
    """The evaluation run the default way: every job in turn in the test process."""
    out = setup["root"] / "ref"
    harness.evaluate([setup["ckpt"]], TASKS, out=out, include=[setup["tasks"]], **OPTS)
    return out


def _stable(obj: Any) -> Any:
    """A results document without timings and timestamps."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if not VOLATILE.search(k)}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def snapshot(out: Path) -> dict[str, Any]:
    """Every result file (stable part) and predictions file, and every store row."""
    files: dict[str, Any] = {}
    for path in sorted(out.glob("*/*/*")):
        rel = str(path.relative_to(out))
        files[rel] = (_stable(json.loads(path.read_text())) if path.suffix == ".json"
                      else path.read_text())
    with open_store(out / "harness.sqlite") as store:
        results, models = store.rows()
    rows = [{**_stable(r), "result": _stable(json.loads(r["result"])),
             "path": str(Path(r["path"]).relative_to(out))} for r in results]
    return {"files": files, "rows": rows, "models": [_stable(m) for m in models]}


def test_local_processes_and_slurm_give_the_same_files_and_rows(setup, reference) -> None:
    want = snapshot(reference)
    assert len(want["rows"]) == 2 and len(want["files"]) == 6
    for name, executor in (("local", LocalExecutor(jobs=2)),
                           ("slurm", SlurmExecutor(folder=str(setup["root"] / "submitit"),
                                                   cluster="local", time_min=10))):
        out = setup["root"] / name
        results = harness.evaluate([setup["ckpt"]], TASKS, out=out, include=[setup["tasks"]],
                                   executor=executor, **OPTS)
        assert [(r.task, r.status) for r in results] == [(t, "ok") for t in TASKS]
        assert snapshot(out) == want, name


def test_options_of_another_executor_are_refused_together(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"does not take --jobs \(for local\), "
                                           r"--slurm-partition \(for slurm\)"):
        executor_from_options("ray", out=tmp_path, jobs=2, partition="gpu")
    slurm = executor_from_options("slurm", out=tmp_path, cpus=1.6, gpus=None)
    assert slurm.cpus == 2 and slurm.folder == str(tmp_path / ".submitit")
    assert interleave([[0, 2, 4], [1, 3]]) == [0, 1, 2, 3, 4]


def test_slurm_without_slurm_is_refused_not_run_locally(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    with pytest.raises(HarnessError, match="Slurm is not available here"):
        SlurmExecutor(folder=str(tmp_path)).map([], lambda spec: None)


@pytest.mark.slow
def test_a_failed_worker_job_names_the_job_and_keeps_the_others(setup, tmp_path: Path) -> None:
    bad = tmp_path / "bad-tasks"
    bad.mkdir()
    (bad / "t.yaml").write_text((setup["tasks"] / "lm.yaml").read_text()
                                .replace("fixture-lm", "fixture-lm-moved")
                                .replace("lm-test.jsonl", str(setup["tasks"] / "lm-test.jsonl")))
    harness.evaluate([], ["fixture-lm-moved"], include=[bad], out=tmp_path / "plan-only",
                     baselines=False)
    (bad / "t.yaml").rename(bad / "gone.yaml")  # the worker cannot register it any more
    with pytest.raises(HarnessError, match=r"1 of 2 jobs failed on local; gpt on "
                                           r"fixture-lm-moved seed 0: task 'fixture-lm-moved'"):
        harness.evaluate([setup["ckpt"]], ["fixture-lm", "fixture-lm-moved"], out=tmp_path / "o",
                         include=[setup["tasks"]], executor=LocalExecutor(jobs=2),
                         limit=4, n_bootstrap=0, baselines=False)
    assert len(list((tmp_path / "o" / "gpt").glob("fixture-lm@*/seed-0.json"))) == 1


def test_torchrun_two_processes_give_the_predictions_and_metrics_of_one(setup) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "HARNESS_DATA_HOME": os.environ["HARNESS_DATA_HOME"]}
    args = ["-m", "harness", "--quiet", "eval", "--model", str(setup["ckpt"]),
            "--tasks", ",".join(TASKS), "--include", str(setup["tasks"]), "--limit", "7",
            "--bootstrap", "20", "--ft", "epochs=1", "--no-baselines"]
    outs = {}
    for n in (1, 2):
        out = setup["root"] / f"torchrun-{n}"
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]
        proc = subprocess.run([sys.executable, *(launcher if n > 1 else []), *args,
                               "--out", str(out)], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs[n] = snapshot(out)
    one, two = outs[1], outs[2]
    preds = [k for k in one["files"] if "predictions" in k]
    assert len(preds) == 2 and all(one["files"][k] == two["files"][k] for k in preds)
    for key, doc in one["files"].items():
        if Path(key).name == "seed-0.json":
            assert two["files"][key]["metrics"] == doc["metrics"]
            assert two["files"][key]["config"]["runner"]["data_parallel"] == 2
            assert doc["n_examples"] == 7  # 7 examples: the ranks got 4 and 3


# --- Ray: a local instance with 2 CPUs, shared by the session (slow: Ray starts in 10-40 s) ---


@pytest.mark.slow
def test_ray_gives_the_same_files_and_rows(setup, reference, ray_local) -> None:
    out = setup["root"] / "ray"
    harness.evaluate([setup["ckpt"]], TASKS, out=out, include=[setup["tasks"]],
                     executor=RayExecutor(cpus=1), **OPTS)
    assert snapshot(out) == snapshot(reference)


def _kill_first_running_job(timeout: float = 300.0) -> int | None:
    """SIGKILL the first Ray worker seen running a job (its process title is ray::run_spec)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            if any("ray::run_spec" in part for part in proc.info["cmdline"] or ()):
                time.sleep(1.0)  # well inside the job: it loads a model and fine-tunes
                os.kill(proc.pid, signal.SIGKILL)
                return proc.pid
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_a_killed_ray_worker_then_a_rerun_loses_and_doubles_nothing(
        setup, reference, ray_local) -> None:
    out = setup["root"] / "ray-killed"
    run = dict(out=out, include=[setup["tasks"]], **{**OPTS, "baselines": True})
    outcome: dict[str, Any] = {}

    def first_run() -> None:
        try:
            outcome["results"] = harness.evaluate([setup["ckpt"]], TASKS,
                                                  executor=RayExecutor(cpus=1, retries=0), **run)
        except HarnessError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=first_run)
    thread.start()
    killed = _kill_first_running_job()
    thread.join(600)
    assert killed is not None and not thread.is_alive()
    assert "jobs failed on ray" in str(outcome.get("error")), outcome
    again = harness.evaluate([setup["ckpt"]], TASKS, executor=RayExecutor(cpus=1, retries=0),
                             **run)
    n_jobs = len(again)
    assert n_jobs == 5 and all(r.status == "ok" for r in again)  # 3 baselines + 2 model jobs
    with open_store(out / "harness.sqlite") as store:
        keys = [r["key"] for r in store.results()]
    assert len(keys) == len(set(keys)) == n_jobs
    assert len(list(out.glob("*/*/seed-*.json"))) == n_jobs
    got, want = snapshot(out), snapshot(reference)
    assert {k: v for k, v in got["files"].items() if k.startswith("gpt/")} == want["files"]
