"""The quickstart end to end on fixtures: a tiny corpus written here, the YAML fixture tasks,
two pretrained micro models, the leaderboard and the HTML page; a rerun reuses everything."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402

WORDS = ("the a of and to in is was that it for on with as his her they at by this from "
         "river house garden winter morning letter king city road window friend mother "
         "ship bread music stone forest village soldier market doctor teacher summer "
         "walked found opened carried watched remembered painted wrote built crossed "
         "quiet old bright small heavy gentle distant early narrow golden").split()


def write_corpus(folder: Path, n_docs: int = 40) -> Path:
    """Plain-text documents of varied English-like sentences, one file each."""
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        rng = random.Random(d)
        sents = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
                 for _ in range(30)]
        (folder / f"doc{d:03d}.txt").write_text(" ".join(sents) + "\n")
    return folder


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fx.registered_tasks(tmp_path, monkeypatch)


def test_quickstart_on_fixtures_then_rerun_reuses(task_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.quickstart import QuickstartConfig, run_quickstart

    monkeypatch.setenv("HARNESS_QUIET", "1")
    corpus = write_corpus(tmp_path / "corpus-src")
    cfg = QuickstartConfig(out=tmp_path / "qs", corpus=str(corpus), gpt_steps=4, bert_steps=4,
                           limit=4, lm_limit=3, epochs=1, max_len=48, minilm=False, n_bootstrap=20,
                           tasks=("fixture-topics", "fixture-en-de", "fixture-lm"),
                           include=(task_dir,),
                           sets=("model.n_layer=1", "model.n_embd=32", "model.n_head=2",
                                 "model.block_size=64", "tokenizer.vocab_size=300",
                                 "model.vocab_size=300", "train.batch_size=4",
                                 "train.micro_batch_size=4"))
    rep = run_quickstart(cfg)
    board = rep.leaderboard
    for task in ("fixture-topics", "fixture-en-de", "fixture-lm"):
        assert f"== {task}" in board
    assert "gpt-tiny" in board and "bert-tiny" in board
    assert "hf-gpt-tiny" in board  # the GPT's HF export scored beside it on the LM task
    assert "not applicable: a bert encoder cannot generate text" in board
    assert "baseline-copy-source (baseline)" in board
    page = rep.html.read_text()
    assert "data-model='gpt-tiny'" in page and "<svg class=curve" in page  # loss curves drawn
    # The GPT's four checkpoints swept on the LM task: its metric over training, on the page.
    assert "data-task='fixture-lm' data-x='step'" in page
    for step in (1, 2, 3, 4):
        assert f"gpt-tiny step {step}: " in page
    assert (rep.out / "leaderboard.md").is_file()
    t0 = time.perf_counter()
    again = run_quickstart(cfg)
    assert again.leaderboard.split("\n", 1)[1] == board.split("\n", 1)[1]
    assert time.perf_counter() - t0 < sum(rep.timings.values())
