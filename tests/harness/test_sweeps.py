"""Checkpoints over training: in-loop evaluation, incremental sweeps, views over training.

A tiny GPT is pretrained with evaluation inside the loop (two checkpoints), its
checkpoints are swept afterwards from disk (same numbers as in the loop), the
run is continued, and a second sweep runs the model only on the new checkpoint.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402

make_corpus = fx.load_module(Path(__file__).parent.parent / "pretrain" / "corpus_fixtures.py",
                             "pretrain_corpus_fixtures").make_corpus
_page = fx.load_module(Path(__file__).parent.parent / "leaderboards" / "test_html_page.py",
                       "leaderboards_html_page")
CHROMIUM, _chromium_dump = _page.CHROMIUM, _page._chromium_dump

TASKS = ["fixture-lm", "fixture-topics"]
SETS = ["model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
        "tokenizer.vocab_size=300", "train.batch_size=8", "train.micro_batch_size=8",
        "train.eval_every=4", "train.ckpt_every=4", "train.log_every=2", "train.warmup_steps=2",
        "train.eval_batches=1", "train.keep_last=20", "train.lr=3e-3"]


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HARNESS_PEAK_FLOPS", "1e12")   # MFU only; measuring it costs seconds
    monkeypatch.setenv("HARNESS_QUIET", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield from fx.registered_tasks(tmp_path, monkeypatch)
    torch.set_num_threads(before)


def config(steps: int):
    from harnesskit.config import apply_overrides
    from pretrain.engine.presets import preset

    return apply_overrides(preset("tiny", "gpt"), [*SETS, f"train.max_steps={steps}"])


def sweep(*args: str) -> str:
    from harness.cli import cli

    res = CliRunner().invoke(cli, ["eval", "--mode", "zeroshot", "--bootstrap", "50", "--limit",
                                   "6", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_inloop_eval_sweep_then_continue_sweeps_only_new(task_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.inloop import InLoopEval
    from harness.results import read_result
    from pretrain.engine.trainer import pretrain
    from tasks import runner

    corpus = str(make_corpus(tmp_path / "corpus", n_docs=30))
    run = tmp_path / "runs" / "gpt"
    inloop = InLoopEval(tasks=TASKS, every=4, out=run / "eval", limit=6, n_bootstrap=50,
                        include=(str(task_dir),))
    pretrain(config(8), corpus=corpus, out=run, callbacks=[inloop])
    assert [h["step"] for h in inloop.history] == [4, 8]
    logged = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in logged if "eval/fixture-lm/bits_per_byte" in r]
    assert [r["step"] for r in evals] == [4, 8] and all("eval/fixture-topics/accuracy" in r
                                                         for r in evals)

    calls: list[str] = []
    real = runner.predict

    def counting(model, task, **kw):  # the real predict (model: a ModelRef), counted
        calls.append(f"{model.path.name}:{task.name}")
        return real(model, task, **kw)

    monkeypatch.setattr(runner, "predict", counting)
    out = tmp_path / "sweep"
    include = ["--include", str(task_dir)]
    sweep("--model", str(run), "--checkpoints", "all", "--tasks", ",".join(TASKS),
          "--out", str(out), *include)
    assert sorted(calls) == sorted(f"step-{s:07d}:{t}" for s in (4, 8) for t in TASKS)

    # In the loop, the model in memory; afterwards, the checkpoint read from disk: same numbers.
    for h in inloop.history:
        for r in h["results"]:
            if r.data["model"]["kind"] == "baseline":
                continue
            post = read_result(out / r.path.relative_to(run / "eval"))
            assert post.data["model"]["content_hash"] == r.data["model"]["content_hash"]
            assert post.metrics == r.metrics, (h["step"], r.task)
            pred = r.data["predictions"]
            assert (post.path.parent / pred).read_text() == (r.path.parent / pred).read_text()

    pretrain(config(12), corpus=corpus, out=run, resume=True)       # the run goes on
    calls.clear()
    text = sweep("--model", str(run), "--checkpoints", "all", "--tasks", ",".join(TASKS),
                 "--out", str(out), *include)
    assert sorted(calls) == [f"step-0000012:{t}" for t in TASKS]     # only the new checkpoint
    assert "gpt-step-0000004" in text and "gpt-step-0000012" in text
    calls.clear()
    sweep("--model", str(run), "--checkpoints", "last:1", "--tasks", "fixture-lm",
          "--out", str(out), *include)
    assert calls == []

    from harness.cli import cli
    db = str(out / "harness.sqlite")
    table = CliRunner().invoke(cli, ["leaderboard", "show", "--db", db, "--run", str(run)])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == f"== run gpt ({run}) =="
    assert "fixture-lm bits_per_byte ↓" in lines[1] and "fixture-topics accuracy ↑" in lines[1]
    assert [ln.split()[0] for ln in lines[2:5]] == ["4", "8", "12"]
    assert lines[4].split()[1] == "3.07k"                           # 12 steps * 8 * 32 tokens

    # The page: one metric-over-training chart per task and x axis, the loss curves, scaling.
    from leaderboards.views import render, write_view

    page = write_view(render(db, fmt="html"), tmp_path / "page" / "leaderboard.html")
    html = page.read_text()
    for task in TASKS:
        for x in ("step", "tokens", "flops"):
            assert html.count(f"data-task='{task}' data-x='{x}'") == 1
    assert html.count("class='chart-loss xv") == 3 and html.count("class='chart-scaling'") == 2
    assert html.count("<circle class=pt") >= 3 * 3 * 2   # 3 checkpoints, 3 x axes, 2 tasks
    assert "id=composite-table" in html and "data-model='gpt-step-0000012'" in html
    if CHROMIUM is not None:
        dom, errors = _chromium_dump(page, tmp_path)
        assert not errors, errors
        assert 'data-ready="1"' in dom and "data-js-error" not in dom[:dom.index("<head")]
        assert 'id="over-training"' in dom
