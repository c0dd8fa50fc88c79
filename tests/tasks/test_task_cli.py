"""`harness tasks` and `harness finetune` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


def _harness(*args: str, env_home: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "HARNESS_DATA_HOME": env_home, "HARNESS_QUIET": "1"}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_validate_lists_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: ok-name
        family: qa
        source: {hf: {path: x/y, splits: {train: train}}}
        fields: {question: q}
        metrics: [nope]
        """))
    good = tmp_path / "good.yaml"
    (tmp_path / "t.jsonl").write_text('{"a": "x", "b": "y"}\n')
    good.write_text("name: g\nfamily: translation\nsource: {jsonl: {test: t.jsonl}}\n"
                    "fields: {input: a, target: b}\n")
    res = _harness("tasks", "validate", str(bad), str(good), env_home=str(tmp_path / "h"))
    assert res.returncode == 2
    assert "4 problem(s)" in res.stdout and f"{good}: ok" in res.stdout
    for needle in ["source.hf.splits", "fields.context: required", "fields.answers: required",
                   "unknown metric 'nope'"]:
        assert needle in res.stdout
    assert res.stderr.strip().count("\n") == 0  # one line


@pytest.mark.slow  # a subprocess importing torch and training: ~10-30 s on 2 shared cores
def test_finetune_command_writes_model_and_predictions(tmp_path, tiny_gpt):
    (tmp_path / "train.jsonl").write_text("".join(
        json.dumps({"t": f"{w} {w} film", "y": lab}) + "\n"
        for w, lab in [("good", "pos"), ("bad", "neg")] * 4))
    (tmp_path / "test.jsonl").write_text(json.dumps({"t": "good film", "y": "pos"}) + "\n")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "s.yaml").write_text(
        "name: tiny-sent\nfamily: classification\n"
        f"source: {{jsonl: {{train: {tmp_path}/train.jsonl, test: {tmp_path}/test.jsonl}}}}\n"
        "fields: {input: t, label: y}\nfinetune: {epochs: 1, batch_size: 4, max_len: 32}\n")
    out = tmp_path / "ft"
    res = _harness("finetune", "--model", tiny_gpt, "--task", "tiny-sent", "--out", str(out),
                   "--include", str(tmp_path / "tasks"), env_home=str(tmp_path / "h"))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["n_train"] == 8
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["prediction"] in {"pos", "neg"}
    assert (out / "head.safetensors").is_file()
    res = _harness("finetune", "--model", tiny_gpt, "--task", "bbc-newz", "--out", str(out),
                   env_home=str(tmp_path / "h"))
    assert res.returncode == 2 and "did you mean bbc-news" in res.stderr
