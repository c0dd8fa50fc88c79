"""accuracy, macro_f1, micro_f1 against scikit-learn's docstring examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from harness.metrics import load_metric
from harnesskit.errors import HarnessError

# sklearn.metrics.f1_score / precision_score / recall_score docstrings:
# y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
# macro F1 0.267 (= 4/15), micro F1 0.33 (= 1/3), macro precision 0.22 (= 2/9), macro recall 0.33
Y_TRUE = ["0", "1", "2", "0", "1", "2"]
Y_PRED = ["0", "2", "1", "0", "0", "1"]


def _refs(labels: list[str]) -> list[list[str]]:
    return [[y] for y in labels]


def test_f1_docstring_example() -> None:
    macro = load_metric("macro_f1").compute(Y_PRED, _refs(Y_TRUE), ci=False)
    assert macro.score == pytest.approx(100 * 4 / 15, abs=1e-9)
    assert round(macro.score / 100, 3) == 0.267
    assert macro.details["precision"] == pytest.approx(100 * 2 / 9, abs=1e-9)
    assert macro.details["recall"] == pytest.approx(100 / 3, abs=1e-9)
    assert macro.details["per_label"]["0"]["f1"] == pytest.approx(80.0)
    micro = load_metric("micro_f1").compute(Y_PRED, _refs(Y_TRUE), ci=False)
    assert micro.score == pytest.approx(100 / 3, abs=1e-9)
    assert micro.details["precision"] == pytest.approx(100 / 3, abs=1e-9)
    assert "average:macro" in macro.signature and "sklearn:" in macro.signature


def test_accuracy_docstring_example() -> None:
    # accuracy_score docstring: y_pred = [0, 2, 1, 3], y_true = [0, 1, 2, 3] -> 0.5
    s = load_metric("accuracy").compute(["0", "2", "1", "3"], _refs(["0", "1", "2", "3"]))
    assert s.score == 50.0
    assert s.ci is not None and 0.0 <= s.ci[0] <= 50.0 <= s.ci[1] <= 100.0


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_fast_resample_path_equals_sklearn(zero_division: float) -> None:
    # The bootstrap computes F1 from a confusion matrix; pin it to sklearn on resamples
    # where some labels are missing from one side.
    rng = np.random.default_rng(0)
    labels = [f"l{k}" for k in range(6)]
    gold = [labels[k] for k in rng.integers(0, 6, 60)]
    pred = [labels[k] for k in rng.integers(0, 4, 60)]
    for name, average in (("macro_f1", "macro"), ("micro_f1", "micro")):
        m = load_metric(name, zero_division=zero_division)
        stats = m.stats(pred, _refs(gold))
        for _ in range(50):
            rows = stats[rng.integers(0, len(stats), rng.integers(1, 30))]
            expected = f1_score(rows[:, 0], rows[:, 1], average=average,
                                zero_division=zero_division)
            assert m._score_from_stats(rows) == pytest.approx(100 * expected, abs=1e-9)


def test_per_label_details_equal_sklearn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(1)
    gold = [f"l{k}" for k in rng.integers(0, 5, 80)]
    pred = [f"l{k}" for k in rng.integers(1, 7, 80)]  # l0 never predicted, l5/l6 never gold
    for zd in (0.0, 1.0):
        d = load_metric("macro_f1", zero_division=zd).compute(pred, _refs(gold), ci=False).details
        labels = sorted(set(gold) | set(pred))
        p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, average=None,
                                                     zero_division=zd)
        for k, label in enumerate(labels):
            row = d["per_label"][label]
            assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
                (100 * p[k], 100 * r[k], 100 * f[k]), abs=1e-9)
            assert row["support"] == s[k]


def test_one_label_per_example() -> None:
    with pytest.raises(HarnessError, match="exactly one reference label"):
        load_metric("accuracy").compute(["a"], [["a", "b"]])


def test_per_example_is_correctness() -> None:
    assert load_metric("macro_f1").per_example(["a", "b"], [["a"], ["a"]]) == [100.0, 0.0]
