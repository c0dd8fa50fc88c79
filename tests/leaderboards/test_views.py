"""Leaderboard views from a store of fixture results: ranking, seeds, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harnesskit.errors import HarnessError
from leaderboards.views import render


def test_terminal_ranks_models_baselines_and_not_applicable(filled_store: Path) -> None:
    text = render(filled_store)
    news = text.split("== news")[1].split("\n== ")[0]
    lines = [ln for ln in news.splitlines()[1:] if ln.strip()]
    assert lines[1].split()[:2] == ["1", "gpt-tiny"]       # 80% accuracy first
    assert lines[2].split()[:2] == ["2", "bert-tiny"]
    assert "majority (baseline)" in lines[3]
    assert "accuracy ↑" in lines[0] and "FLOPs" in lines[0]
    # two seeds: mean ± sd and the mean bootstrap bounds; params, tokens, 6*N*D FLOPs
    assert "80.00 ±0.00 [75.00, 85.00]" in lines[1]
    assert lines[1].split()[-3:] == ["1M", "2M", "12T"]
    dialogue = text.split("== dialogue")[1]
    assert "not applicable: bert cannot generate text" in dialogue


def test_signatures_are_one_flag_away(filled_store: Path) -> None:
    assert "accuracy|fixture" not in render(filled_store)
    text = render(filled_store, signatures=True)
    assert "accuracy: accuracy|fixture" in text and "sacrebleu=2.4" in text


def test_markdown_csv_json(filled_store: Path) -> None:
    md = render(filled_store, fmt="markdown", task="news")
    assert "## news" in md and "| 1 | gpt-tiny |" in md and "dialogue" not in md
    rows = list(csv.DictReader(io.StringIO(render(filled_store, fmt="csv"))))
    acc = [r for r in rows if r["task"] == "news" and r["metric"] == "accuracy"]
    assert [r["model"] for r in acc] == ["gpt-tiny", "bert-tiny", "majority"]
    assert float(acc[0]["mean"]) == pytest.approx(80.0) and acc[0]["seeds"] == "0 1"
    assert acc[2]["baseline"] == "1"
    na = [r for r in rows if r["status"] == "not_applicable"]
    assert na[0]["reason"] == "bert cannot generate text"
    doc = json.loads(render(filled_store, fmt="json"))
    news = doc["tasks"]["news"]
    assert news["primary"] == "accuracy" and news["metrics"] == ["accuracy", "macro_f1"]
    assert news["rows"][0]["metrics"]["accuracy"]["per_seed"] == [80.0, 80.0]
    assert news["rows"][0]["flops"] == pytest.approx(6 * 1e6 * 2e6)


def test_unknown_task_and_format(filled_store: Path) -> None:
    with pytest.raises(HarnessError, match="no results for task 'nope'.*news"):
        render(filled_store, task="nope")
    with pytest.raises(HarnessError, match="unknown format"):
        render(filled_store, fmt="pdf")


def test_each_setting_is_its_own_row_ranked_within_its_test_set(filled_store: Path,
                                                                tmp_path: Path) -> None:
    """Issue 11: a rerun with another --limit replaced the row, and rows scored on different
    test subsets were ranked in one column. Each setting is now a row; ranks hold within
    rows scored on the same examples, and the board says so."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_result

    from leaderboards.store import open_store

    doc = make_result(tmp_path / "r2", "gpt-tiny", "news", limit=10,
                      scores={"accuracy": [100.0] * 10})
    with open_store(filled_store) as store:
        store.put({k: v for k, v in doc.items() if k != "_path"}, path=doc["_path"])
        assert store.count() == 7  # both settings stay in the store
    board = json.loads(render(filled_store, fmt="json"))["tasks"]["news"]
    gpt = {r["setting"]: r for r in board["rows"] if r["model_id"] == "gpt-tiny"}
    assert set(gpt) == {"", "limit=10"}
    assert gpt["limit=10"]["metrics"]["accuracy"]["mean"] == 100.0
    assert gpt["limit=10"]["rank"] == 1 and gpt[""]["rank"] == 1  # different test sets
    assert gpt["limit=10"]["group"] == "limit=10" and gpt[""]["group"] == "full test set"
    assert any("ranks in different groups are not comparable" in n for n in board["notes"])
    text = render(filled_store, task="news")
    assert "limit=10" in text and "ranked among: limit=10" in text
