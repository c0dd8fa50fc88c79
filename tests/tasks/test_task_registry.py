"""The registry: built-ins, decorator, YAML (validation lists every problem), entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harnesskit.errors import HarnessError

REPO = Path(__file__).resolve().parents[2]
BUILTINS = {"bbc-news", "debian-section", "faq-qa", "debian-summaries", "ding-en-de",
            "debian-en-de", "debian-en-fr", "shakespeare-dialogue", "chatterbot-dialogue",
            "shakespeare-lm", "pydocs-lm", "sst2", "squad", "xsum", "wmt14-de-en", "daily-dialog"}


def test_builtins_are_registered_with_their_families():
    from tasks import get_task, list_tasks

    assert BUILTINS <= set(list_tasks())
    assert get_task("bbc-news").family == "classification"
    assert get_task("faq-qa").family == "qa"
    assert get_task("ding-en-de").family == "translation"
    assert get_task("pydocs-lm").family == "lm"
    assert [m.name for m in get_task("squad").metrics] == ["exact_match", "token_f1"]


def test_hub_tasks_validate_offline_and_say_unavailable(monkeypatch):
    from tasks import get_task
    from tasks.registry import BUILTIN_YAML
    from tasks.yaml_task import validate_yaml

    for path in BUILTIN_YAML.glob("*.yaml"):
        assert validate_yaml(path) == [], path
    ok, why = get_task("sst2").available()
    assert not ok and "offline" in why


def test_unknown_task_suggests_close_names():
    from tasks import get_task

    with pytest.raises(HarnessError, match="did you mean bbc-news"):
        get_task("bbc-new")


def test_decorator_registers_and_refuses_duplicates():
    from task_fixtures import TinyClassification

    from tasks import get_task, list_tasks, register_task

    register_task(TinyClassification)
    assert "tiny-clf" in list_tasks()
    assert get_task("tiny-clf").sizes() == {"train": 16, "validation": 4, "test": 4}
    with pytest.raises(ValueError, match="duplicate task name 'tiny-clf'"):
        register_task(TinyClassification)
    with pytest.raises(TypeError):
        register_task(object)  # type: ignore[arg-type]


def _jsonl(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join(rows) + "\n")


def test_yaml_task_from_jsonl_builds_and_hashes(tmp_path):
    from tasks import get_task, include

    _jsonl(tmp_path / "train.jsonl", ['{"t": "good film", "y": 1}', '{"t": "bad film", "y": 0}'])
    _jsonl(tmp_path / "test.jsonl", ['{"t": "great film", "y": 1}'])
    (tmp_path / "mine.yaml").write_text(textwrap.dedent("""\
        name: my-sentiment
        family: classification
        source: {jsonl: {train: train.jsonl, test: test.jsonl}}
        fields: {input: t, label: y, labels: [neg, pos]}
        metrics: [accuracy, {name: macro_f1}]
        finetune: {epochs: 1}
        """))
    assert include(tmp_path) == ["my-sentiment"]
    task = get_task("my-sentiment")
    assert sorted(e.label for e in task.examples("train")) == ["neg", "pos"]
    assert task.examples("test")[0].input == "great film"
    assert len(task.data_hash()) == 16 and task.finetune.epochs == 1


def test_bad_yaml_lists_every_problem(tmp_path):
    from tasks.yaml_task import load_yaml_task, validate_yaml

    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: Bad Name
        family: poetry
        colour: blue
        source: {jsonl: {test: missing.jsonl}}
        metrics: [accuracy, blue_score]
        finetune: {epochs: 0, speed: 3}
        """))
    from harness.metrics import list_metrics

    problems = validate_yaml(bad, set(list_metrics()))  # metric names: checked by the metrics' layer
    text = "\n".join(problems)
    for needle in ["colour: unknown key", "fields: missing", "name: 'Bad Name'",
                   "family: 'poetry'", "missing.jsonl not found", "unknown metric 'blue_score'",
                   "finetune.speed: unknown key"]:
        assert needle in text, (needle, problems)
    with pytest.raises(HarnessError, match=r"6 problem\(s\)"):  # all but the metric name
        load_yaml_task(bad)


def test_malformed_yaml_is_one_line_error(tmp_path):
    from tasks.yaml_task import validate_yaml

    (tmp_path / "x.yaml").write_text("name: [unclosed\n")
    with pytest.raises(HarnessError, match="malformed YAML"):
        validate_yaml(tmp_path / "x.yaml")


def test_plugin_example_installs_and_registers(tmp_path, monkeypatch):
    """pip-installs examples/plugin-task into a folder; its entry point reaches the registry."""
    import shutil

    # Build from a copy: pip builds in-tree and must not write into the repository.
    src = shutil.copytree(REPO / "examples" / "plugin-task", tmp_path / "plugin-task",
                          ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(src)], check=True,
                   cwd=tmp_path, capture_output=True)
    monkeypatch.syspath_prepend(str(target))
    from tasks import get_task, list_tasks
    from tasks.registry import origin_of

    assert "fortune-topic" in list_tasks()
    assert origin_of("fortune-topic").startswith("entry point fortune-topic")
    task = get_task("fortune-topic")
    sizes = task.sizes()
    assert sum(sizes.values()) == 320 and min(sizes.values()) > 20
    preds = task.baselines()["majority"](task.examples("train"), task.examples("test"))
    assert len(preds) == sizes["test"]


def _mc_yaml(folder: Path, name: str, extra: str = "", rows: list[str] | None = None) -> Path:
    _jsonl(folder / "test.jsonl", rows or ['{"q": "2+2?", "c": ["3", "4"], "g": 1}'])
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        family: multiple_choice
        source: {{jsonl: {{test: test.jsonl}}}}
        fields: {{question: q, choices: c, gold: g}}
        metrics: [acc]
        """) + extra)
    return path


def test_a_yaml_prompt_change_changes_the_data_hash(tmp_path):
    from tasks.yaml_task import load_yaml_task

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    plain = load_yaml_task(_mc_yaml(a, "mc"))
    prompted = load_yaml_task(_mc_yaml(b, "mc", "prompt: 'Q: {question}\\nA:'\n"))
    # same rows, same split hash; the prompt changes the numbers, so it changes the key
    assert plain.data_hash() != prompted.data_hash()


def test_bad_prompt_fields_and_gold_are_one_line_errors(tmp_path):
    from tasks.yaml_task import load_yaml_task, validate_yaml

    problems = validate_yaml(_mc_yaml(tmp_path, "typo", "prompt: '{quesiton} {0}'\n"))
    assert any("unknown field(s) '0', 'quesiton'" in p for p in problems), problems
    assert any("not a valid template" in p
               for p in validate_yaml(_mc_yaml(tmp_path, "brace", "prompt: 'a { b'\n")))
    bad_gold = load_yaml_task(_mc_yaml(tmp_path, "gold", rows=['{"q": "x", "c": ["a"], "g": 5}']))
    with pytest.raises(HarnessError, match="gold 5 is not one of its choices' indices"):
        bad_gold.examples("test")
