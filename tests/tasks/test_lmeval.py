"""``lmeval:`` tasks: the YAML index, availability, the missing-extra message, and a run
through the evaluator with our cache, CIs, leaderboard and paired comparison."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lmeval_fixtures import write_lmeval_tasks

from harnesskit.errors import HarnessError
from tasks.lmeval import index as ix


@pytest.fixture(autouse=True)
def _only_included(monkeypatch) -> None:
    """These tests use their own folder; indexing the installed 14,000 YAMLs is the slow test's."""
    monkeypatch.setattr(ix, "_builtin_index", dict)


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_lmeval_tasks(tmp_path / "lmx")


def test_index_reads_their_layout(folder) -> None:
    index = ix.scan(folder, full=True)
    assert {n: e.kind for n, e in index.items()} == {
        "lmx_mc": "task", "lmx_mc_b": "task", "lmx_cloze": "task", "lmx_ppl": "task",
        "lmx_gen": "task", "lmx_group": "group"}
    # include chain: lmx_mc_b -> _mc_template.yaml -> _base_mc.yaml (own keys win)
    cfg = ix.merged_config(folder / "lmx_mc_b.yaml", {}, True)
    assert cfg["dataset_path"] == "json" and cfg["doc_to_text"] == "{{question}}"
    assert cfg["output_type"] == "multiple_choice" and cfg["task"] == "lmx_mc_b"
    assert index["lmx_mc"].output_type == "multiple_choice"
    assert ix.merged_config(folder / "lmx_mc.yaml", {}, True)["process_docs"] == \
        "!function utils.process_docs"
    assert ix.leaves("lmx_group", index) == ["lmx_mc", "lmx_mc_b"]
    assert ix.availability("lmx_group", index) == (True, "")


def test_missing_data_is_unavailable_with_the_reason(folder) -> None:
    (folder / "data" / "mc_b.jsonl").unlink()
    index = ix.scan(folder, full=True)
    ok, why = ix.availability("lmx_group", index)
    assert ok is False and "lmx_mc_b" in why and "mc_b.jsonl not found" in why
    hub = ix.Entry(name="x", kind="task", dataset_path="nobody/no_such_dataset")
    ok, why = ix.dataset_available(hub)
    assert ok is False and "not in the local datasets cache" in why


def test_task_metrics_versions_and_unknown_names(folder) -> None:
    from tasks import get_task, include

    assert "lmeval:lmx_group" in include(folder)
    assert get_task("lmeval:lmx_mc").version == "2.0"
    assert [m.name for m in get_task("lmeval:lmx_gen").metrics] == ["exact_match,first-word"]
    assert [m.name for m in get_task("lmeval:lmx_ppl").metrics] == [
        "word_perplexity", "byte_perplexity", "bits_per_byte"]
    assert [m.name for m in get_task("lmeval:lmx_group").metrics] == ["acc"]
    with pytest.raises(HarnessError, match="unknown lm-eval task") as err:
        get_task("lmeval:lmx_mcc")
    assert "lmeval:lmx_mc" in err.value.one_line()


def test_without_the_extra_one_line_says_how_to_install(folder, tiny_gpt, monkeypatch,
                                                      capsys) -> None:

    import tasks.lmeval as lm
    from harness.cli import main

    monkeypatch.setattr(lm, "lmeval_version", lambda: None)
    with pytest.raises(HarnessError) as err:
        lm.require_lmeval()
    assert "pip install 'pretrain-harness[lmeval]'" in err.value.one_line()
    assert "\n" not in err.value.one_line()
    for args in (["eval", "--model", tiny_gpt, "--tasks", "lmeval:lmx_mc"],
                 ["tasks", "list", "--lmeval"], ["tasks", "show", "lmeval:arc_easy"]):
        with pytest.raises(SystemExit) as code:
            main(args)
        err_text = capsys.readouterr().err
        assert code.value.code == 2 and "pretrain-harness[lmeval]" in err_text, err_text
        assert len(err_text.strip().splitlines()) == 1


def test_cli_list_and_show(folder, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    out = CliRunner().invoke(cli, ["tasks", "list", "--lmeval", "--include", str(folder)])
    assert out.exit_code == 0, out.output
    assert "lmeval:lmx_group  group  -  yes" in out.output
    assert "lmeval:lmx_gen  task  generate_until  yes" in out.output
    shown = CliRunner().invoke(cli, ["tasks", "show", "lmeval:lmx_mc"])
    info = json.loads(shown.output)
    assert info["metrics"] == ["acc", "acc_norm"] and info["available"] is True
    first = info["examples"][0]  # lm-eval's own formatting, after the !function process_docs
    assert first["text"] == "Question: Which animal barks?\nAnswer:" and first["target"] == 1
    assert first["choices"] == ["cat", "dog", "fish"]


def test_eval_records_reuses_and_ranks(folder, tiny_gpt, tmp_path, monkeypatch) -> None:
    pytest.importorskip("lm_eval")
    from harness.evaluator import evaluate
    from leaderboards.views import compare, render

    out = tmp_path / "res"
    names = "lmeval:lmx_mc,lmeval:lmx_group"
    first = evaluate([tiny_gpt], names, include=[folder], out=out, precision="fp32",
                     n_bootstrap=200)
    by_task = {r.task: r for r in first}
    mc = by_task["lmeval:lmx_mc"]
    assert mc.status == "ok" and mc.data["n_examples"] == 10
    assert mc.data["task"]["lmeval_version"] and mc.data["task"]["config_hash"]
    assert mc.data["task"]["version"] == "2.0" and mc.data["versions"]["lm-eval"] == "0.4.13"
    lo, hi = mc.metrics["acc"].ci
    assert lo <= mc.metrics["acc"].score <= hi
    rows = [json.loads(x) for x in (mc.path.parent / "predictions.jsonl").read_text().splitlines()]
    assert [r["scores"]["acc"] for r in rows] == [r["items"]["acc"] for r in rows]
    assert mc.metrics["acc"].score == pytest.approx(sum(r["items"]["acc"] for r in rows) / 10)
    group = by_task["lmeval:lmx_group"]
    assert group.data["n_examples"] == 16  # 10 + 6 documents, weighted by size
    subs = group.metrics["acc"].details["subtasks"]
    assert subs["lmx_mc"] == pytest.approx(mc.metrics["acc"].score)
    assert group.metrics["acc"].score == pytest.approx((10 * subs["lmx_mc"] + 6 * subs["lmx_mc_b"]) / 16)
    assert group.metrics["acc"].level == "example"
    # A second identical run reuses every lmeval: result: lm-eval is never called again.
    import tasks.lmeval.run as run

    with monkeypatch.context() as mp:
        mp.setattr(run, "predict", lambda *a, **k: pytest.fail("re-ran a finished task"))
        again = evaluate([tiny_gpt], names, include=[folder], out=out, precision="fp32",
                         n_bootstrap=200)
    assert [r.data["key"] for r in again] == [r.data["key"] for r in first]
    board = render(out / "harness.sqlite")
    assert "lmeval:lmx_mc" in board and "acc" in board and "[" in board
    # paired comparison against a second model on the same lmeval: task
    other = str(tmp_path / "other")
    from task_fixtures import make_checkpoint

    make_checkpoint(Path(other), "gpt", seed=1)
    evaluate([other], "lmeval:lmx_mc", include=[folder], out=out, precision="fp32",
             n_bootstrap=50)
    comps = compare(out / "harness.sqlite", "gpt", "other", task="lmeval:lmx_mc", n_boot=200)
    assert {c.metric for c in comps} == {"acc", "acc_norm"} and all(c.n == 10 for c in comps)


def test_chat_template_needs_one(folder, tiny_gpt, tmp_path) -> None:
    pytest.importorskip("lm_eval")
    from harness.evaluator import evaluate

    with pytest.raises(HarnessError, match="has no chat template"):
        evaluate([tiny_gpt], "lmeval:lmx_mc", include=[folder], out=tmp_path / "res",
                 chat_template=True, n_bootstrap=0)


def test_running_their_machinery_leaves_the_hub_flags_as_they_were(folder, monkeypatch) -> None:
    """lm-eval runs offline, but must not switch the hub off for the rest of the process
    (our hub-backed YAML tasks then read as unavailable)."""
    import datasets.config

    from tasks import get_task, include
    from tasks.lmeval.run import examples

    include(folder)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    assert examples(get_task("lmeval:lmx_mc"), n=1)
    assert "HF_DATASETS_OFFLINE" not in os.environ and "HF_HUB_OFFLINE" not in os.environ
    assert datasets.config.HF_DATASETS_OFFLINE is False
