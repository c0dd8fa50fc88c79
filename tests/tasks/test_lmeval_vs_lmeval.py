"""``harness eval --tasks lmeval:...`` on a native checkpoint equals lm-eval's own ``hf`` model
on the checkpoint's HF export: per-example decisions identical, log-likelihoods within 1e-6.

Runs lm-evaluation-harness itself (its ``simple_evaluate`` with its ``hf`` model, batch 1, fp32)
on the local-data YAMLs of :mod:`lmeval_fixtures`: all four output types, a ``!function``
helper, an ``include:`` chain and a group.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from lmeval_fixtures import ALL_TASKS, write_lmeval_tasks

pytest.importorskip("lm_eval")
pytestmark = pytest.mark.slow

LL_METRICS = {"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_gpt):
    from pretrain.engine.export import export_hf

    root = tmp_path_factory.mktemp("lmx")
    folder = write_lmeval_tasks(root / "tasks")
    hf_dir = export_hf(tiny_gpt, root / "hf")
    return folder, Path(hf_dir), root


def _theirs(folder: Path, hf_dir: Path, tasks: list[str]) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(folder), include_defaults=False)
    return simple_evaluate(model="hf", model_args={"pretrained": str(hf_dir), "dtype": "float32"},
                           tasks=tasks, task_manager=tm, batch_size=1,
                           device="cpu", bootstrap_iters=0, log_samples=True)


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def test_same_numbers_as_lmeval_hf_on_the_export(setup, tiny_gpt, monkeypatch) -> None:
    from harness.evaluator import evaluate

    folder, hf_dir, root = setup
    monkeypatch.chdir(root)
    theirs = _theirs(folder, hf_dir, ALL_TASKS)  # lm-eval refuses a task and its group at once
    their_group = _theirs(folder, hf_dir, ["lmx_group"])
    names = ",".join(f"lmeval:{t}" for t in [*ALL_TASKS, "lmx_group"])
    ours = {r.task: r for r in evaluate([tiny_gpt], names, include=[folder], out=root / "res",
                                        precision="fp32", n_bootstrap=50, batch_size=4)}
    for task in ALL_TASKS:
        result = ours[f"lmeval:{task}"]
        assert result.status == "ok", result.reason
        mine = {}
        for row in map(json.loads, (result.path.parent / result.data["predictions"])
                       .read_text().splitlines()):
            mine[int(row["id"].rsplit("/", 1)[1])] = row["items"]
        for sample in theirs["samples"][task]:
            for m in sample["metrics"]:
                key = m if sample["filter"] == "none" else f"{m},{sample['filter']}"
                got, want = mine[sample["doc_id"]][key], sample[m]
                if isinstance(want, (list, tuple)):       # (log-likelihood, words or bytes)
                    assert _close(got[0], want[0]) and got[1] == want[1], (task, key, got, want)
                elif m in LL_METRICS:
                    assert _close(got, want), (task, key, got, want)
                else:                                      # accuracy decisions: identical
                    assert got == want, (task, key, sample["doc_id"], got, want)
        for key, value in result.metrics.items():
            want = theirs["results"][task][key if "," in key else f"{key},none"]
            assert _close(value.score, want), (task, key, value.score, want)
            assert value.ci is not None and value.ci[0] <= value.score <= value.ci[1]
    group = ours["lmeval:lmx_group"]
    assert _close(group.metrics["acc"].score, their_group["results"]["lmx_group"]["acc,none"])
    assert group.data["task"]["lmeval_version"] == "0.4.13"
    assert group.data["task"]["config_hash"]


def test_index_names_equal_their_task_managers() -> None:
    """Every name, kind, YAML path and tag membership of lm-eval's own index, without it."""
    from lm_eval.tasks import TaskManager

    from tasks.lmeval import index as ix

    theirs = TaskManager().task_index
    ours = ix.scan(ix.builtin_root())
    assert set(ours) == set(theirs)
    kinds = {"TASK": "task", "PY_TASK": "task", "GROUP": "group", "TAG": "tag"}
    for name, e in theirs.items():
        assert ours[name].kind == kinds[e.kind.name], name
        assert ours[name].path == (str(e.yaml_path) if e.yaml_path else None), name
        if e.kind.name == "TAG":
            assert sorted(ours[name].members) == sorted(e.tags), name


def test_few_shot_contexts_and_seed_as_lmeval(setup, tiny_gpt, monkeypatch) -> None:
    """--num-fewshot 2 draws lm-eval's few-shot examples with its seed: identical prompts and
    per-document values to lm-eval's hf model with num_fewshot=2."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from harness.evaluator import evaluate

    folder, hf_dir, root = setup
    monkeypatch.chdir(root)
    theirs = simple_evaluate(model="hf", model_args={"pretrained": str(hf_dir), "dtype": "float32"},
                             tasks=["lmx_mc"], num_fewshot=2, batch_size=1, device="cpu",
                             task_manager=TaskManager(include_path=str(folder),
                                                      include_defaults=False),
                             bootstrap_iters=0, log_samples=True)
    (result,) = evaluate([tiny_gpt], "lmeval:lmx_mc", include=[folder], out=root / "fewshot",
                         precision="fp32", n_bootstrap=0, num_fewshot=2)
    assert result.data["config"]["num_fewshot"] == 2
    rows = {int(json.loads(x)["id"].rsplit("/", 1)[1]): json.loads(x) for x in
            (result.path.parent / result.data["predictions"]).read_text().splitlines()}
    for sample in theirs["samples"]["lmx_mc"]:
        row = rows[sample["doc_id"]]
        assert row["input"] == sample["arguments"][0][0]  # the same two shots, in order
        assert row["input"].count("Answer:") == 3
        for m in ("acc", "acc_norm"):
            assert row["items"][m] == sample[m]
