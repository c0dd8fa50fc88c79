"""``harness data build task:NAME``: a task's dataset written to a folder with a report."""

from __future__ import annotations

import json

import pytest
from task_fixtures import TinyChoice, TinyClassification

from harnesskit.errors import HarnessError
from tasks import register_task
from tasks.export import export_task, format_task_report, task_test_texts


def test_export_writes_splits_and_consistent_report(tmp_path) -> None:
    register_task(TinyClassification)
    task = TinyClassification()
    report = export_task(task, tmp_path / "out")
    for split in ("train", "validation", "test"):
        rows = [json.loads(x) for x in (tmp_path / "out" / f"{split}.jsonl").read_text().splitlines()]
        assert len(rows) == report["splits"][split]["examples"] == len(task.examples(split))
        assert [r["id"] for r in rows] == [ex.id for ex in task.examples(split)]
    assert report["data_hash"] == task.data_hash()
    assert sum(report["splits"]["train"]["labels"].values()) == report["splits"]["train"]["examples"]
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == report
    assert "tiny-clf" in format_task_report(report)


def test_export_refuses_a_foreign_folder(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(HarnessError, match="not a task dataset folder"):
        export_task(TinyClassification(), tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_decontamination_texts_list_each_choice_as_plain_text() -> None:
    register_task(TinyChoice)
    texts = task_test_texts("tiny-choice")
    first = TinyChoice().examples("test")[0]
    assert texts is not None and len(texts) == len(TinyChoice().examples("test"))
    lines = texts[0].splitlines()
    assert set(lines) == {first.input["question"], *first.input["choices"], *first.references}
    assert not any(c in texts[0] for c in "[]'")  # no list repr
    assert task_test_texts("no-such-task") is None
