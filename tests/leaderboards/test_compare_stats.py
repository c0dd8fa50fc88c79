"""`leaderboard compare` with McNemar, Holm and the detectable difference; run@step names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests

from leaderboards.compare import compare, render
from leaderboards.store import open_store

# Loaded by path under its own name: importing "conftest" by name would shadow other
# folders' conftest modules for the rest of the session.
_spec = importlib.util.spec_from_file_location("leaderboards_fixtures",
                                               Path(__file__).with_name("conftest.py"))
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
make_result = _fixtures.make_result


def test_mcnemar_beside_bootstrap_and_holm_over_the_comparisons(filled_store: Path) -> None:
    with open_store(filled_store, create=False) as store:
        docs = store.results()
    comps = {c.metric: c for c in compare(docs, "gpt-tiny", "bert-tiny", n_boot=2000)}
    acc, f1 = comps["accuracy"], comps["macro_f1"]
    # accuracy per example is right/wrong: i % 10 < 8 against i % 10 < 5 over 50 examples
    assert acc.mcnemar["a_only"] == 15 and acc.mcnemar["b_only"] == 0
    assert acc.mcnemar["p_value"] == pytest.approx(binomtest(0, 15, 0.5).pvalue, rel=1e-12)
    assert f1.mcnemar is None                      # graded scores: bootstrap only
    expected = multipletests([acc.mcnemar["p_value"], f1.p_value], method="holm")[1]
    assert [acc.p_holm, f1.p_holm] == pytest.approx(list(expected), rel=1e-12)
    assert "McNemar p (Holm, 2 comparisons)" in acc.verdict
    assert acc.verdict.startswith("gpt-tiny is better than bert-tiny on accuracy")
    assert 0 < acc.mdd < 100
    text = render(list(comps.values()))
    assert "McNemar exact: only gpt-tiny right 15, only bert-tiny right 0" in text
    assert "detectable difference at n=50" in text and "Holm-adjusted p=" in text


def test_checkpoints_of_one_run_by_run_at_step(tmp_path: Path) -> None:
    docs = []
    for step, right in ((200, 5), (400, 9)):
        d = make_result(tmp_path, f"gpt-step-{step:07d}", "news",
                        scores={"accuracy": [100.0 * (i % 10 < right) for i in range(60)]})
        d["model"]["info"].update(step=step, run=str(tmp_path / "runs" / "gpt"))
        docs.append(d)
    (c,) = compare(docs, "gpt@step-0000400", "gpt@200", n_boot=500)
    assert (c.mean_a, c.mean_b) == (90.0, 50.0) and c.mcnemar == {
        "a_only": 24, "b_only": 0, "p_value": pytest.approx(binomtest(0, 24).pvalue)}
    assert c.p_holm == c.mcnemar["p_value"]        # a single comparison: nothing to adjust
    assert "McNemar p=" in c.verdict and "Holm" not in c.verdict
    from harnesskit.errors import HarnessError

    with pytest.raises(HarnessError, match="no scored results for model 'gpt@300'"):
        compare(docs, "gpt@300", "gpt@200")
