"""Each family end to end with tiny random models: fine-tune, zero-shot, LM scoring, baselines."""

from __future__ import annotations

import pytest
from task_fixtures import (
    TinyClassification,
    TinyDialogue,
    TinyLM,
    TinyQA,
    TinySummarization,
    TinyTranslation,
)

from harnesskit.errors import HarnessError
from tasks.modelref import resolve_model
from tasks.runner import NotApplicable, predict

GENERATIVE = [TinySummarization, TinyTranslation, TinyDialogue]


@pytest.mark.parametrize("cls", [TinyClassification, TinyQA, *GENERATIVE])
def test_gpt_finetune_each_family(cls, tiny_gpt, tmp_path):
    task = cls()
    out = predict(resolve_model(tiny_gpt), task, mode="finetune", seed=0, workdir=tmp_path / "ft")
    assert [r["id"] for r in out.rows] == [e.id for e in task.examples("test")]
    assert all(isinstance(r["prediction"], str) for r in out.rows)
    assert out.info["model_kind"] == "gpt" and out.info["history"]
    assert (tmp_path / "ft" / "finetune.json").is_file()
    assert (tmp_path / "ft" / "backbone" / "MANIFEST.json").is_file()
    if cls is TinyClassification:
        assert {r["prediction"] for r in out.rows} <= {"sport", "tech"}


def test_gpt_finetune_is_deterministic_and_batch_size_free(tiny_gpt):
    a = predict(resolve_model(tiny_gpt), TinyClassification(), seed=3, batch_size=1, overrides={"epochs": 1})
    b = predict(resolve_model(tiny_gpt), TinyClassification(), seed=3, batch_size=7, overrides={"epochs": 1})
    assert [r["prediction"] for r in a.rows] == [r["prediction"] for r in b.rows]
    assert a.info["history"] == b.info["history"]


@pytest.mark.parametrize("cls", [TinyClassification, TinyQA])
def test_bert_finetune_classification_and_span(cls, tiny_bert):
    task = cls()
    a = predict(resolve_model(tiny_bert), task, seed=0, batch_size=1)
    b = predict(resolve_model(tiny_bert), task, seed=0, batch_size=5)
    assert [r["prediction"] for r in a.rows] == [r["prediction"] for r in b.rows]
    if cls is TinyQA:  # a span of the context
        assert all(r["prediction"] in r["input"]["context"] for r in a.rows)


@pytest.mark.parametrize("cls", GENERATIVE)
def test_bert_generative_not_applicable(cls, tiny_bert):
    with pytest.raises(NotApplicable):
        predict(resolve_model(tiny_bert), cls())


def test_gpt_zeroshot(tiny_gpt):
    clf = predict(resolve_model(tiny_gpt), TinyClassification(), mode="zeroshot")
    assert {r["prediction"] for r in clf.rows} <= {"sport", "tech"}
    qa = predict(resolve_model(tiny_gpt), TinyQA(), mode="zeroshot")
    assert all(r["prediction"] in r["input"]["context"] for r in qa.rows)
    gen = predict(resolve_model(tiny_gpt), TinyTranslation(), mode="zeroshot")
    assert len(gen.rows) == 3 and all("\n" not in r["prediction"] for r in gen.rows)
    with pytest.raises(HarnessError, match="unknown mode"):
        predict(resolve_model(tiny_gpt), TinyQA(), mode="bogus")


def test_lm_scoring_gpt_and_bert(tiny_gpt, tiny_bert):
    from tasks.lm_api import load_lm
    from tasks.models import load_backbone

    task = TinyLM()
    for model in (tiny_gpt, tiny_bert):
        out = predict(resolve_model(model), task)
        bb = load_backbone(resolve_model(model))
        for row in out.rows:
            pred = row["prediction"]
            n_tok = len(bb.encode(row["input"]))
            assert len(pred["token_logprobs"]) == len(pred["token_correct"]) == n_tok
            assert all(lp <= 0 for lp in pred["token_logprobs"])
            assert pred["n_bytes"] == len(row["input"].encode())
    # the long document exceeds the 64-token context: windows must not change short-doc scores
    lm = load_lm(resolve_model(tiny_gpt), device="cpu")
    short = task.examples("test")[0].input
    a = lm.loglikelihood_rolling([short], stride=8)[0]["token_logprobs"]
    b = lm.loglikelihood_rolling([short], stride=63)[0]["token_logprobs"]
    assert a == pytest.approx(b, abs=1e-5)


def test_baselines_each_family():
    from tasks.baselines import unigram_bytes

    clf = TinyClassification()
    for name, fn in clf.baselines().items():
        preds = fn(clf.examples("train"), clf.examples("test"))
        assert len(preds) == 4, name
    assert clf.baselines()["tfidf-logreg"](clf.examples("train"), clf.examples("test")) == [
        e.label for e in clf.examples("test")]
    qa = TinyQA()
    assert qa.baselines()["first-sentence"](qa.examples("train"), qa.examples("test"))[0] == \
        "Some words come first."
    mt = TinyTranslation()
    assert mt.baselines()["copy-source"]([], mt.examples("test")) == [
        e.input for e in mt.examples("test")]
    chat = TinyDialogue()
    replies = chat.baselines()["retrieval"](chat.examples("train"), chat.examples("test"))
    assert all(r in {e.references[0] for e in chat.examples("train")} for r in replies)
    lm = TinyLM()
    doc = unigram_bytes(lm.examples("train"), lm.examples("test"))[0]
    assert len(doc["token_logprobs"]) == doc["n_bytes"]


def test_baseline_through_predict():
    out = predict(resolve_model("baseline:majority"), TinyClassification())
    assert len(out.rows) == 4 and out.info["model_kind"] == "baseline"


def test_finetune_refuses_to_overwrite_a_foreign_folder(tiny_gpt, tmp_path):
    from tasks.finetune import finetune

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(HarnessError, match="not a fine-tuned model folder"):
        finetune(resolve_model(tiny_gpt), TinyClassification(), out=tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_a_live_model_is_used_as_it_is_never_moved_or_cast(tiny_gpt) -> None:
    """Evaluation inside training hands out the trainer's module: casting it would cast the
    weights under the optimizer."""
    import torch

    from pretrain.engine.checkpoint import load_checkpoint
    from tasks.live import live_model
    from tasks.models import load_backbone

    ref = resolve_model(tiny_gpt)
    loaded = load_checkpoint(ref.path)
    with live_model(ref.path, loaded.model, loaded.tokenizer, loaded.config):
        bb = load_backbone(ref)
        assert bb.module is loaded.model and (bb.device, bb.dtype) == ("cpu", "float32")
        with pytest.raises(HarnessError, match="the model being trained is on cpu in float32"):
            load_backbone(ref, dtype="bfloat16")
    assert next(loaded.model.parameters()).dtype == torch.float32
