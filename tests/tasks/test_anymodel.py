"""Any model in: hf: causal LMs through every family, multiple choice, cloze, few-shot,
chat templates, memory limits; tasks never look at the model's kind."""

from __future__ import annotations

import pytest
from lm_fixtures import save_tiny
from task_fixtures import (
    TinyChoice,
    TinyClassification,
    TinyCloze,
    TinyLM,
    TinyQA,
    TinySummarization,
    TinyTranslation,
)

from tasks.modelref import resolve_model
from tasks.runner import NotApplicable, predict


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> str:
    return f"hf:{save_tiny(tmp_path_factory.mktemp('hf') / 'llama', 'llama')}"


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory) -> str:
    return f"hf:{save_tiny(tmp_path_factory.mktemp('hf') / 'gpt2', 'gpt2')}"


@pytest.mark.parametrize("which", ["tiny_llama", "tiny_gpt2"])
def test_hf_causal_runs_every_family(which, request):
    ref = resolve_model(request.getfixturevalue(which))
    assert ref.kind == "hf-causal"
    lm = predict(ref, TinyLM(), device="cpu")
    assert all(r["prediction"]["token_logprobs"] for r in lm.rows)
    assert lm.info["window"] == "overlap" and lm.info["dtype"] == "float32"
    for task in (TinyClassification(), TinyQA(), TinyTranslation(), TinySummarization()):
        out = predict(ref, task, mode="zeroshot", device="cpu")
        assert len(out.rows) == len(task.examples("test"))
    mc = predict(ref, TinyChoice(), device="cpu")  # scored in either mode
    pred = mc.rows[0]["prediction"]
    assert len(pred["loglikelihoods"]) == len(mc.rows[0]["input"]["choices"]) == 4
    cloze = predict(ref, TinyCloze(), device="cpu")
    assert {"logprob", "is_greedy"} <= set(cloze.rows[0]["prediction"])
    ft = predict(ref, TinyClassification(), mode="finetune", device="cpu",
                 overrides={"epochs": 1})
    assert ft.info["head"] == "classify"
    gen = predict(ref, TinyTranslation(), mode="finetune", device="cpu",
                  overrides={"epochs": 1, "beams": 2})
    assert gen.info["head"] == "generate" and len(gen.rows) == 3


def test_bf16_weights_are_recorded(tiny_llama):
    out = predict(resolve_model(tiny_llama), TinyChoice(), device="cpu", dtype="bfloat16")
    assert out.info["dtype"] == "bfloat16" and "log-softmax float32" in out.info["scoring_precision"]


def test_encoders_get_reasons_not_crashes(tiny_bert):
    ref = resolve_model(tiny_bert)
    mc = predict(ref, TinyChoice(), device="cpu")  # pseudo-log-likelihood of each choice
    assert len(mc.rows[0]["prediction"]["loglikelihoods"]) == 4
    with pytest.raises(NotApplicable, match="cannot generate"):
        predict(ref, TinyTranslation(), mode="zeroshot", device="cpu")


def test_fewshot_never_shows_the_scored_example_and_is_seeded():
    from tasks.fewshot import PromptConfig, contexts, sample_shots

    task = TinyChoice()
    pool_ex = task.examples("train")[0]
    for seed in range(20):
        assert pool_ex.id not in {s.id for s in sample_shots(task, pool_ex, 5, seed)}
    test = task.examples("test")
    a = contexts(task, test, PromptConfig(num_fewshot=3, seed=1))
    b = contexts(task, test[::-1], PromptConfig(num_fewshot=3, seed=1))[::-1]
    assert a == b  # shots do not depend on the other examples
    assert a != contexts(task, test, PromptConfig(num_fewshot=3, seed=2))
    shot = a[0].split(task.fewshot_delimiter)
    assert len(shot) == 4 and shot[-1] == task.prompt(test[0])


def test_chat_template_or_a_reason(tiny_llama, tmp_path):
    import shutil
    from pathlib import Path

    from tasks.lm_api import load_lm

    ref = resolve_model(tiny_llama)
    with pytest.raises(NotApplicable, match="chat template"):
        predict(ref, TinyChoice(), device="cpu", chat_template=True)
    chat = tmp_path / "chat"
    shutil.copytree(Path(str(ref.path)), chat)
    (chat / "chat_template.jinja").write_text(
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}")
    from tasks.fewshot import build_context

    lm = load_lm(f"hf:{chat}", device="cpu")
    task = TinyChoice()
    text = build_context(task, task.examples("test")[0], task.examples("train")[:1], lm, True)
    assert text.startswith("<user>") and text.endswith("<assistant>") and "<assistant>" in text[:-11]
    out = predict(resolve_model(f"hf:{chat}"), task, device="cpu", chat_template=True,
                  num_fewshot=1)
    assert out.info["chat_template"] and out.info["num_fewshot"] == 1


def test_too_large_for_memory_is_not_applicable(tiny_llama, monkeypatch):
    import tasks.runner as runner

    monkeypatch.setattr(runner, "available_memory", lambda device: 1000)
    with pytest.raises(NotApplicable, match="too large for this machine"):
        predict(resolve_model(tiny_llama), TinyChoice(), device="cpu")


def test_choice_metrics_follow_lm_eval():
    from harness.metrics import load_metric

    preds = [{"loglikelihoods": [-4.0, -6.0], "choice_chars": [2, 10], "choice_bytes": [2, 12]},
             {"loglikelihoods": [-3.0, -3.0], "choice_chars": [3, 3], "choice_bytes": [3, 3]}, 1]
    refs = [["1"], ["0"], ["1"]]
    # acc: argmax -4 -> 0 (wrong); tie -> first (right); index 1 (right)
    assert load_metric("acc").per_example(preds, refs) == [0.0, 100.0, 100.0]
    # acc_norm: -4/2=-2 vs -6/10=-0.6 -> 1 (right)
    assert load_metric("acc_norm").per_example(preds, refs) == [100.0, 100.0, 100.0]
    assert load_metric("acc_bytes").per_example(preds, refs) == [100.0, 100.0, 100.0]
    s = load_metric("acc").compute(preds, refs, n_bootstrap=200)
    assert s.score == pytest.approx(200 / 3) and s.ci is not None
    ppl = load_metric("target_perplexity").compute([{"logprob": -1.0, "is_greedy": True},
                                                    {"logprob": -3.0, "is_greedy": False}])
    assert ppl.score == pytest.approx(2.718281828 ** 2)
    assert load_metric("greedy_acc").compute([{"logprob": -1.0, "is_greedy": True},
                                              {"logprob": -3.0, "is_greedy": False}]).score == 50


def test_random_choice_baseline_is_chance():
    from harness.metrics import load_metric

    task = TinyChoice()
    test = task.examples("test") * 50
    test = [type(e)(id=f"{e.id}-{i}", input=e.input, references=e.references, label=e.label)
            for i, e in enumerate(test)]
    preds = task.baselines()["random-choice"](task.examples("train"), test)
    acc = load_metric("acc").compute(preds, [e.references for e in test], ci=False).score
    assert 15 < acc < 35


def test_eval_on_a_folder_that_is_no_lm_fails_in_one_line(tmp_path, capsys):
    """A vision model's folder: neither a causal LM nor a text encoder, named in one line."""
    from lm_fixtures import tiny_tokenizer
    from transformers import ViTConfig, ViTForImageClassification

    from harness.cli import main

    folder = tmp_path / "vit-folder"
    ViTForImageClassification(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=64, image_size=32, patch_size=8)
                              ).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)  # a complete folder: only its kind is wrong
    capsys.readouterr()  # save_pretrained's progress bar
    with pytest.raises(SystemExit) as stop:
        main(["eval", "--model", f"hf:{folder}", "--tasks", "all", "--mode", "zeroshot",
              "--out", str(tmp_path / "r")])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(folder) in lines[0] and "neither" in lines[0]
