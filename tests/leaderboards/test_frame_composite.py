"""The store as a DataFrame (and parquet), and the composite score over tasks."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from leaderboards.composite import composites, rescale
from leaderboards.frame import frame_from_docs, results_frame


def test_frame_has_one_row_per_model_task_setting_seed(filled_store: Path, tmp_path: Path) -> None:
    df = results_frame(filled_store)
    assert len(df) == 6
    keys = df[["model_id", "task", "config_hash", "seed"]].drop_duplicates()
    assert len(keys) == len(df)
    gpt = df[(df.model_id == "gpt-tiny") & (df.task == "news")].sort_values("seed")
    assert list(gpt.seed) == [0, 1] and list(gpt.primary_metric) == ["accuracy", "accuracy"]
    assert gpt.accuracy.tolist() == pytest.approx([80.0, 80.0])
    assert (gpt.accuracy_ci_lo == gpt.accuracy - 5).all() and (gpt.accuracy_ci_hi == gpt.accuracy + 5).all()
    assert gpt.params.iloc[0] == 1_000_000 and gpt.flops.iloc[0] == 6.0 * 1e6 * 2e6
    assert math.isnan(gpt.bleu.iloc[0])                    # another task's metric: NaN
    na = df[df.status == "not_applicable"]
    assert na.model_id.tolist() == ["bert-tiny"] and math.isnan(na.score.iloc[0])
    assert df[df.model_id == "majority"].baseline.all()
    path = tmp_path / "lb.parquet"
    df.to_parquet(path)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df)
    assert frame_from_docs([]).empty


def test_composite_rescales_between_best_trivial_baseline_and_perfect(filled_store: Path) -> None:
    comps = {c.model_id: c for c in composites(results_frame(filled_store))}
    assert set(comps) == {"gpt-tiny", "bert-tiny"}       # baselines get none
    gpt = comps["gpt-tiny"]
    # news: accuracy 80 against the majority baseline's 20 -> 75; dialogue has no baseline
    assert gpt.tasks == ["news"] and gpt.no_baseline == ["dialogue"]
    assert gpt.score == pytest.approx(75.0) and gpt.floors == {"news": "majority"}
    assert gpt.ci == pytest.approx((75.0 - 6.25, 75.0 + 6.25))   # the +-5 CI, rescaled
    assert comps["bert-tiny"].score == pytest.approx(100 * 30 / 80)
    assert rescale(1.5, 3.0, "bits_per_byte", "lower") == pytest.approx(50.0)
    assert rescale(11.0, 21.0, "perplexity", "lower") == pytest.approx(50.0)
    assert rescale(5.0, 100.0, "accuracy") is None



def test_composite_keeps_same_named_models_apart(tmp_path: Path) -> None:
    """Two different models both called gpt (a shared store) are two composites, not one mean."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lb_conftest", Path(__file__).with_name("conftest.py"))
    lb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lb)
    from leaderboards.store import open_store

    out = tmp_path / "results"
    docs = [lb.make_result(out, "gpt", "news", model_hash=h,
                           scores={"accuracy": [100.0 * (i % 10 < k) for i in range(50)]})
            for h, k in (("a" * 16, 8), ("b" * 16, 2))]
    docs.append(lb.make_result(out, "majority", "news", kind="baseline", params=None, tokens=None,
                               scores={"accuracy": [100.0 * (i % 10 < 2) for i in range(50)]}))
    with open_store(out / "harness.sqlite") as store:
        for d in docs:
            store.put({k: v for k, v in d.items() if k != "_path"}, path=d["_path"])
    comps = {c.model_id: c.score for c in composites(results_frame(out / "harness.sqlite"))}
    assert comps == pytest.approx({"gpt [aaaaaaaa]": 75.0, "gpt [bbbbbbbb]": 0.0})


def test_a_training_curve_keeps_one_setting() -> None:
    """Step 1 scored with --limit 3 and step 2 on the full test set are not one line."""
    from leaderboards.training import points

    def row(step: int, setting: str, score: float, created: float) -> dict:
        return {"model_id": f"run-step-{step}", "model_hash": f"h{step}", "baseline": False,
                "run": "/runs/gpt", "step": step, "tokens": 10 * step, "flops": 1e9 * step,
                "task": "news", "mode": "zeroshot", "setting": setting, "config_hash": setting,
                "status": "ok", "score": score, "primary_metric": "accuracy",
                "direction": "higher", "accuracy_ci_lo": score - 1, "accuracy_ci_hi": score + 1,
                "created": created}

    frame = pd.DataFrame([row(1, "limit-3", 90.0, 1.0), row(2, "", 40.0, 2.0),
                          row(3, "", 45.0, 3.0)])
    got = points(frame)
    assert got["step"].tolist() == [2, 3] and got["score"].tolist() == [40.0, 45.0]


def test_frame_names_a_setting_as_the_leaderboard_and_compare_do(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lb_conftest2", Path(__file__).with_name("conftest.py"))
    lb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lb)
    doc = lb.make_result(tmp_path, "gpt", "news", limit=200,
                         scores={"accuracy": [100.0] * 10})
    assert frame_from_docs([doc])["setting"].tolist() == ["limit=200"]  # compare --setting takes it
