"""lm-evaluation-harness tasks: listing their names, and reusing finished lmeval: results.

    python bench/lmeval.py

1. ``harness tasks list --lmeval`` (every lm-eval task, group and tag with its
   availability here) as a user runs it: cold (a fresh data home: the YAML files
   are read and the index cached) and warm (the cached index), next to how long
   lm-eval's own ``TaskManager()`` takes to index the same files. Goal: under
   10 s, offline.
2. ``harness eval --tasks lmeval:...`` on a tiny checkpoint of ours with local-data
   YAMLs in lm-eval's format (the tests' fixtures: all four output types and a
   group), run twice into one results folder: the second run must reuse every
   result. Goal: at least 10x faster.

Each timing is the wall time of a fresh ``python -m harness`` process, so
interpreter and import time count, as they do for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "tasks"))  # the local-data lm-eval YAMLs of the tests
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false", "HARNESS_QUIET": "1"}


def timed(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one ``python -m harness ARGS`` (its output discarded; failure raises)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "--quiet", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def bench_list(tmp: Path) -> None:
    env = {**ENV, "HARNESS_DATA_HOME": str(tmp / "home")}
    cold = timed(["tasks", "list", "--lmeval"], env)
    warm = min(timed(["tasks", "list", "--lmeval"], env) for _ in range(2))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from lm_eval.tasks import TaskManager; TaskManager()"],
                   env=env, check=True, capture_output=True)
    theirs = time.perf_counter() - t0
    print(f"tasks list --lmeval: cold {cold:.1f} s, warm {warm:.1f} s "
          f"(lm-eval's TaskManager() alone: {theirs:.1f} s); goal < 10 s")


def bench_reuse(tmp: Path) -> None:
    from conftest import make_checkpoint
    from lmeval_fixtures import ALL_TASKS, write_lmeval_tasks

    env = {**ENV, "HARNESS_DATA_HOME": str(tmp / "home")}
    folder = write_lmeval_tasks(tmp / "yamls")
    ckpt = make_checkpoint(tmp / "gpt", "gpt")
    tasks = ",".join(f"lmeval:{t}" for t in [*ALL_TASKS, "lmx_group"])
    args = ["eval", "--model", str(ckpt), "--include", str(folder), "--tasks", tasks,
            "--out", str(tmp / "res"), "--precision", "fp32"]
    first = timed(args, env)
    second = timed(args, env)
    print(f"harness eval of {len(ALL_TASKS) + 1} lmeval: tasks (fresh processes): first "
          f"{first:.1f} s, identical rerun {second:.2f} s: {first / second:.1f}x faster "
          "(goal >= 10x; the rerun's time is mostly start-up: imports and the model's description)")
    os.environ.update(env)
    from harness.evaluator import evaluate
    from tasks.modelref import resolve_model

    ref = resolve_model(str(ckpt))  # the CLI resolves it once too; time the evaluation itself
    kw = {"include": [folder], "precision": "fp32", "out": tmp / "res2"}
    t0 = time.perf_counter()
    evaluate([ref], tasks, **kw)
    t1 = time.perf_counter()
    evaluate([ref], tasks, **kw)
    t2 = time.perf_counter()
    print(f"evaluate() in one process: first {t1 - t0:.1f} s, identical rerun {t2 - t1:.2f} s: "
          f"{(t1 - t0) / (t2 - t1):.0f}x faster")


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        bench_list(Path(tmp))
        bench_reuse(Path(tmp))


if __name__ == "__main__":
    main()
