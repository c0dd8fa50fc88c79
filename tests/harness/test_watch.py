"""`harness watch` beside a running `harness pretrain`: two real processes, stopped and restarted.

The watcher must end with exactly one result per checkpoint and task, each keyed by
the content hash of the finished checkpoint (a partly written folder would have
failed to load or hashed differently), and a restarted watcher recomputes nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402

make_corpus = fx.load_module(Path(__file__).parent.parent / "pretrain" / "corpus_fixtures.py",
                             "pretrain_corpus_fixtures").make_corpus

HARNESS = [sys.executable, "-m", "harness", "--quiet"]
SETS = ["model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "tokenizer.vocab_size=300", "train.batch_size=8", "train.micro_batch_size=8",
        "train.max_steps=240", "train.eval_every=40", "train.ckpt_every=40", "train.log_every=20",
        "train.warmup_steps=2", "train.eval_batches=1", "train.keep_last=20"]
TASKS = ("fixture-lm", "fixture-topics")


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fx.registered_tasks(tmp_path, monkeypatch)  # also sets HARNESS_DATA_HOME


def rows(db: Path) -> list[dict]:
    from harnesskit.errors import HarnessError
    from leaderboards.store import open_store

    try:
        with open_store(db, create=False) as store:
            return [d for d in store.results() if d["model"]["kind"] != "baseline"]
    except HarnessError:  # not created yet, or its schema is being created right now
        return []


@pytest.mark.slow  # three CLI processes and six checkpoints: about a minute of CPU
def test_watch_beside_pretrain_one_result_per_checkpoint_and_task(task_dir: Path,
                                                                 tmp_path: Path) -> None:
    from harness.sweep import list_checkpoints
    from tasks.modelref import content_hash

    # faulthandler: a watcher that ignores SIGINT is made to print its threads (SIGABRT)
    env = {**os.environ, "HARNESS_PEAK_FLOPS": "1e12", "OMP_NUM_THREADS": "1",
           "PYTHONFAULTHANDLER": "1"}
    corpus, run, out = make_corpus(tmp_path / "corpus", n_docs=30), tmp_path / "run", tmp_path / "res"
    train = [*HARNESS, "pretrain", "--preset", "tiny", "--corpus", str(corpus), "--out", str(run)]
    train += [arg for s in SETS for arg in ("--set", s)]
    watch = [*HARNESS, "watch", str(run), "--tasks", ",".join(TASKS), "--include", str(task_dir),
             "--limit", "4", "--bootstrap", "20", "--interval", "0.2", "--out", str(out)]
    # Output goes to files, never to pipes nobody reads (a full pipe blocks its writer).
    logs = {name: tmp_path / f"{name}.log" for name in ("trainer", "first")}
    with open(logs["trainer"], "w") as t_log, open(logs["first"], "w") as f_log:
        trainer = subprocess.Popen(train, env=env, stdout=t_log, stderr=t_log)
        # Ctrl-C's default action: a test run in the background of a non-interactive shell
        # (`make test-slow &`) inherits SIGINT ignored, and Python then keeps it ignored
        first = subprocess.Popen(watch, env=env, stdout=f_log, stderr=f_log,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 300
        while not rows(out / "harness.sqlite") and time.time() < deadline:
            assert first.poll() is None, logs["first"].read_text()
            time.sleep(0.2)
        first.send_signal(signal.SIGINT)                # stopped mid-way, as a user would
        try:
            # 130 from the CLI's handler; -SIGINT where a second interrupt came during exit
            assert first.wait(timeout=120) in (130, -signal.SIGINT), logs["first"].read_text()
        except subprocess.TimeoutExpired:
            first.send_signal(signal.SIGABRT)
            first.wait(timeout=30)
            pytest.fail("the watcher ignored SIGINT for 120 s; its output and threads:\n"
                        + logs["first"].read_text()[-6000:])
        during = trainer.poll() is None
        done = subprocess.run([*watch, "--until-done"], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        assert trainer.wait(timeout=600) == 0, logs["trainer"].read_text()[-3000:]
    finally:
        for proc in (trainer, first):
            if proc.poll() is None:
                proc.kill()
    ckpts = list_checkpoints(run)
    assert [c.step for c in ckpts] == [40, 80, 120, 160, 200, 240]
    got = rows(out / "harness.sqlite")
    pairs = sorted((d["model"]["content_hash"], d["task"]["name"]) for d in got)
    assert pairs == sorted((content_hash(c.path), t) for c in ckpts for t in TASKS)
    assert all(d["status"] == "ok" for d in got)
    assert sorted(d["model"]["info"]["step"] for d in got) == sorted([c.step for c in ckpts] * 2)
    # The restarted watcher found the first one's results and recomputed none of them.
    stamps = {(d["model"]["content_hash"], d["task"]["name"]): d["created"] for d in got}
    again = subprocess.run([*watch, "--until-done"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert {(d["model"]["content_hash"], d["task"]["name"]): d["created"]
            for d in rows(out / "harness.sqlite")} == stamps
    print(f"first watcher stopped while training ran: {during}")
