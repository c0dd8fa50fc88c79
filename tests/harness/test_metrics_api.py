"""The metrics API: registry, options, input validation, scores and CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.metrics import Metric, list_metrics, load_metric, register_metric
from harness.metrics.base import coerce
from harnesskit.errors import HarnessError

SPEC_NAMES = {
    "perplexity", "bits_per_byte", "cross_entropy", "token_accuracy", "accuracy", "macro_f1",
    "micro_f1", "exact_match", "token_f1", "bleu", "chrf", "ter", "rouge1", "rouge2", "rougeL",
    "rougeLsum", "distinct_1", "distinct_2",
}

HYPS = ["the cat sat on the mat", "a quick brown fox", "hello there world"]
REFS = [["the cat sat on a mat"], ["the quick brown fox jumps"], ["hello world"]]


def test_registry_lists_the_spec_metrics() -> None:
    assert SPEC_NAMES <= set(list_metrics())


def test_unknown_metric_lists_known_and_close_matches() -> None:
    with pytest.raises(HarnessError) as err:
        load_metric("bleuu")
    msg = str(err.value)
    assert "unknown metric 'bleuu'" in msg
    assert "did you mean bleu" in msg
    assert "rougeLsum" in msg  # the known ones are listed


def test_unknown_option_names_the_options() -> None:
    with pytest.raises(HarnessError, match="takes no option 'stemmer'.*use_stemmer"):
        load_metric("rouge1", stemmer=True)


def test_bad_option_value_is_a_harness_error() -> None:
    with pytest.raises(HarnessError, match="bleu: bad option"):
        load_metric("bleu", tokenize="no-such-tokenizer")


@pytest.mark.parametrize("name", ["bleu", "rouge1", "exact_match", "accuracy"])
def test_bad_inputs(name: str) -> None:
    m = load_metric(name)
    with pytest.raises(HarnessError, match="2 predictions but 1 reference"):
        m.compute(["a", "b"], [["a"]])
    with pytest.raises(HarnessError, match="empty list"):
        m.compute([], [])
    with pytest.raises(HarnessError, match=r"predictions\[1\] is a int"):
        m.compute(["a", 3], [["a"], ["b"]])
    with pytest.raises(HarnessError, match=r"references\[0\] is a str"):
        m.compute(["a"], ["a"])
    with pytest.raises(HarnessError, match="not a string"):
        m.compute(["a"], [[None]])


def test_score_has_signature_details_and_ci() -> None:
    s = load_metric("bleu").compute(HYPS, REFS)
    assert s.signature.startswith("bleu|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert s.ci is not None and s.ci[0] <= s.score <= s.ci[1]
    assert set(s.details) >= {"counts", "totals", "bp", "sys_len", "ref_len"}
    again = load_metric("bleu").compute(HYPS, REFS)
    assert again.ci == s.ci  # seeded
    assert load_metric("bleu").compute(HYPS, REFS, ci=False).ci is None


def test_per_example_equals_sentence_scores() -> None:
    import sacrebleu

    per = load_metric("bleu").per_example(HYPS, REFS)
    ref = [sacrebleu.metrics.BLEU().sentence_score(h, r).score for h, r in zip(HYPS, REFS)]
    assert per == pytest.approx(ref, abs=1e-9)


def test_variable_number_of_references_matches_sacrebleu_streams() -> None:
    import sacrebleu

    refs = [["the cat sat on a mat", "a cat was on the mat"], ["the quick brown fox jumps"],
            ["hello world", "hi world"]]
    s = load_metric("bleu").compute(HYPS, refs, ci=False)
    streams = [[r[0] for r in refs], [refs[0][1], None, refs[2][1]]]
    assert s.score == pytest.approx(sacrebleu.metrics.BLEU().corpus_score(HYPS, streams).score,
                                    abs=1e-9)
    assert "nrefs:var" in s.signature


def test_coerce_option_strings() -> None:
    assert coerce("true", False, "k") is True
    assert coerce("2", 0, "k") == 2
    assert coerce("0.5", 1.0, "k") == 0.5
    assert coerce("intl", "13a", "k") == "intl"
    assert coerce("none", None, "k") == "none"  # sacrebleu's tokenize=none
    assert coerce("3", None, "k") == 3
    with pytest.raises(HarnessError):
        coerce("maybe", True, "k")


def test_register_metric_rejects_duplicates_and_non_metrics() -> None:
    class Bleu2(Metric):
        name = "bleu"

    with pytest.raises(ValueError, match="registered twice"):
        register_metric(Bleu2)
    with pytest.raises(ValueError, match="not a harness.metrics.Metric"):
        from harness.metrics.base import METRICS

        METRICS.add("thing", object)


def test_empty_hypothesis_scores_zero_not_nan() -> None:
    s = load_metric("bleu").compute([""], [["a reference"]])
    assert s.score == 0.0 and not math.isnan(s.score)


def test_entry_point_plugin_joins_the_registry(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A package exposing the entry-point group harness.metrics is listed and loads."""
    import importlib

    import harness.metrics.base as base

    pkg = tmp_path / "harness_plugin_metric.py"
    pkg.write_text(
        "import numpy as np\n"
        "from harness.metrics import MeanMetric, Signature\n"
        "class Length(MeanMetric):\n"
        "    name = 'hyp_length'\n"
        "    references_required = False\n"
        "    def _example_rows(self, preds, refs):\n"
        "        return np.array([[len(p.split()), 1.0] for p in preds])\n"
        "    def signature(self):\n"
        "        return Signature(self.name, (('tok', 'whitespace'),))\n")
    dist = tmp_path / "harness_plugin_metric-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-plugin-metric\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[harness.metrics]\nhyp_length = harness_plugin_metric:Length\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    base.METRICS.reset()
    try:
        assert "hyp_length" in list_metrics() and "bleu" in list_metrics()
        s = load_metric("hyp_length").compute(["a b c", "d"], ci=False)
        assert s.score == 2.0 and s.signature == "hyp_length|tok:whitespace"
    finally:
        monkeypatch.undo()
        base.METRICS.reset()


def test_cli_style_options_reach_the_library() -> None:
    from harness.metrics import get_metric_class

    cls = get_metric_class("bleu")
    opts = cls.parse_options({"tokenize": "none", "smooth_value": "0.2", "lowercase": "yes"})
    assert opts == {"tokenize": "none", "smooth_value": 0.2, "lowercase": True}
    assert "tok:none" in cls(**opts).compute(HYPS, REFS, ci=False).signature


def test_compute_with_examples_is_compute_plus_per_example() -> None:
    m = load_metric("rougeL")
    score, per, stats = m.compute_with_examples(HYPS, REFS)
    assert score == m.compute(HYPS, REFS)
    assert per == m.per_example(HYPS, REFS)
    assert stats.shape[0] == len(HYPS)


LM_DOCS = [{"token_logprobs": [-1.0, -2.5, -0.2], "token_correct": [True, False, True],
            "n_bytes": 11, "n_words": 2},
           {"token_logprobs": [-0.7, -3.0], "token_correct": [False, True], "n_bytes": 7,
            "n_words": 1}]


@pytest.mark.parametrize("name", ["bleu", "chrf", "ter", "accuracy", "macro_f1", "micro_f1",
                                  "exact_match", "token_f1", "rouge1", "perplexity",
                                  "bits_per_byte", "cross_entropy", "token_accuracy"])
def test_the_recipe_recorded_as_data_recomputes_the_score(name: str) -> None:
    """What a results document records (recipe + per-example stats, through JSON) gives back
    the metric's own corpus score, on the corpus and on a subset: compare relies on it."""
    import json

    from harnesskit.resample import score_from_stats

    m = load_metric(name)
    preds, refs = (LM_DOCS, None) if not m.text_inputs else (
        (["a", "b", "a", "c"], [["a"], ["b"], ["b"], ["c"]]) if name.endswith(("accuracy", "_f1"))
        and name != "token_f1" else (HYPS, REFS))
    score, _, stats = m.compute_with_examples(preds, refs, ci=False)
    recipe = json.loads(json.dumps(m.recipe()))
    rows = np.array(json.loads(json.dumps(stats.tolist())))
    assert score_from_stats(recipe, rows) == pytest.approx(score.score, rel=1e-12)
    sub = rows[[0, 0, 1]]
    assert score_from_stats(recipe, sub) == pytest.approx(m._score_from_stats(stats[[0, 0, 1]]))


def test_direction_and_level_come_from_the_metric_classes() -> None:
    lower = {n for n in list_metrics() if load_metric(n).direction == "lower"}
    assert lower == {"perplexity", "bits_per_byte", "cross_entropy", "ter", "target_perplexity"}
    example = {n for n in ("accuracy", "micro_f1", "exact_match", "rouge1", "macro_f1", "bleu",
                           "distinct_1") if load_metric(n).level == "example"}
    assert example == {"accuracy", "micro_f1", "exact_match", "rouge1"}


def test_tuples_and_generators_are_accepted() -> None:
    a = load_metric("chrf").compute(tuple(HYPS), (tuple(r) for r in REFS), ci=False)
    assert a.score == load_metric("chrf").compute(HYPS, REFS, ci=False).score


def test_str_subclasses_are_strings() -> None:
    # numpy.str_ (labels drawn with rng.choice) once crashed validation with StopIteration.
    import numpy as np

    labels = list(np.array(["pos", "neg", "pos"]))
    s = load_metric("accuracy").compute(labels, [["pos"], ["neg"], ["neg"]], ci=False)
    assert s.score == pytest.approx(200 / 3)
