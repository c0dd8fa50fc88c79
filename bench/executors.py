"""Executors: wall-clock of the same 16 small evaluation jobs run three ways, in one run.

    local x1   every job in turn in this process (the default)
    local x2   two spawned worker processes (--executor local --jobs 2)
    ray x2     a local Ray instance with 2 CPUs, one Ray task per job (--executor ray)

The jobs: a tiny random GPT (2 layers, 32 wide) fine-tuned for one epoch on two
small classification tasks (written here as YAML + JSONL, 40 training and 12 test
examples each) with 8 seeds each = 16 jobs, each a few seconds. Every executor
writes into a fresh folder, so nothing is reused; each result set is checked to
equal the first (predictions and metrics). Ray's start-up is timed apart from its
jobs. local x1 runs warm (this process has already run one evaluation, to build
the task data); a fresh worker's first job pays its imports, shown as the slowest
job. Wall-clock on a shared machine moves with the load: the load average is
printed beside the figures.

    python bench/executors.py [--seeds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HARNESS_QUIET", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = {"sport": "match goal team league coach referee season cup",
         "tech": "software chip phone internet data server code cloud",
         "food": "recipe bread cheese dinner oven soup salad spice"}


def write_tasks(root: Path) -> list[str]:
    """Two small classification tasks as YAML files with JSONL splits."""
    rng = random.Random(0)
    names = []
    for t in range(2):
        name = f"bench-topics-{t}"
        for split, n in (("train", 40), ("validation", 8), ("test", 12)):
            rows = []
            for i in range(n):
                label = list(WORDS)[(i + t) % 3]
                words = WORDS[label].split() + ["the", "a", "new", "today"]
                rows.append({"id": f"{split}{i}", "label": label,
                             "text": " ".join(rng.choice(words) for _ in range(14))})
            (root / f"{name}-{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (root / f"{name}.yaml").write_text(
            f"name: {name}\nfamily: classification\nversion: 1\n"
            f"source: {{jsonl: {{train: {name}-train.jsonl, validation: {name}-validation.jsonl, "
            f"test: {name}-test.jsonl}}}}\nfields: {{id: id, input: text, label: label}}\n"
            "metrics: [accuracy, macro_f1]\n")
        names.append(name)
    return names


def make_checkpoint(out: Path) -> Path:
    """A tiny randomly initialised GPT saved as a weights-only checkpoint."""
    import dataclasses

    import torch

    from pretrain.data.tokenizer import train_tokenizer
    from pretrain.engine.checkpoint import save_model_checkpoint
    from pretrain.engine.model import build_model
    from pretrain.engine.presets import ModelConfig, RunConfig

    words = " ".join(WORDS.values()).split()
    texts = [" ".join(random.Random(i).choices(words, k=20)) for i in range(60)]
    tok = train_tokenizer(texts, "gpt", 300, min_frequency=1)
    torch.manual_seed(0)
    cfg = ModelConfig(arch="gpt", n_layer=2, n_head=2, n_embd=32, block_size=64,
                      vocab_size=tok.get_vocab_size())
    return save_model_checkpoint(out, build_model(cfg), tok, dataclasses.replace(RunConfig(), model=cfg))


def outcome(results: list) -> list:
    """What must be equal between executors: predictions and metric values per job."""
    return sorted((r.model_id, r.task, r.seed, json.dumps({k: v["score"] for k, v in r.data["metrics"].items()}),
                   Path(r.path).with_name("predictions.jsonl" if r.seed == 0 else
                                          f"predictions-seed-{r.seed}.jsonl").read_text())
                  for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="seeds per task (2 tasks)")
    args = ap.parse_args()
    import harness
    from harness.executors import LocalExecutor, RayExecutor, start_ray

    root = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    os.environ["HARNESS_DATA_HOME"] = str(root / "data-home")
    task_dir = root / "tasks"
    task_dir.mkdir()
    names = write_tasks(task_dir)
    ckpt = make_checkpoint(root / "gpt")
    run = dict(seeds=list(range(args.seeds)), limit=None, n_bootstrap=100, baselines=False,
               include=[task_dir], overrides={"epochs": 1})
    harness.evaluate([ckpt], names, out=root / "warm", **{**run, "seeds": [0]})  # build data

    timings: dict[str, float] = {}
    walls: dict[str, list[float]] = {}
    outcomes = {}
    for label, make in (("local x1", lambda: None), ("local x2", lambda: LocalExecutor(jobs=2)),
                        ("ray x2", lambda: RayExecutor(cpus=1))):
        if label.startswith("ray"):
            t0 = time.perf_counter()
            start_ray(cpus=2, object_store_mb=100, memory_mb=2048)
            timings["ray start-up"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = harness.evaluate([ckpt], names, out=root / label.replace(" ", "-"),
                               executor=make(), **run)
        timings[label] = time.perf_counter() - t0
        outcomes[label] = outcome(res)
        walls[label] = sorted(r.data["timings"]["wall_s"] for r in res)
        print(f"{label:9s} {len(res)} jobs  {timings[label]:7.1f} s", flush=True)
    import ray

    ray.shutdown()
    same = all(o == outcomes["local x1"] for o in outcomes.values())
    base = timings["local x1"]
    load = os.getloadavg()
    print(f"\n16 jobs = 2 tasks x {args.seeds} seeds, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} / {load[1]:.1f}")
    print(f"{'executor':14s} {'wall s':>8s} {'vs local x1':>12s} {'median job s':>13s} "
          f"{'slowest job s':>14s}")
    for label in ("local x1", "local x2", "ray x2"):
        w = walls[label]
        print(f"{label:14s} {timings[label]:8.1f} {base / timings[label]:11.2f}x "
              f"{w[len(w) // 2]:13.1f} {w[-1]:14.1f}")
    print("(the slowest job of a fresh worker includes its imports of torch, transformers and "
          "the metric libraries; local x1 runs warm, after a first evaluation in this process)")
    print(f"{'ray start-up':14s} {timings['ray start-up']:8.1f}")
    print(f"same predictions and metrics from every executor: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
