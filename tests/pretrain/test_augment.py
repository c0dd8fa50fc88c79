"""EDA augmentation: WordNet synonyms, seeded, counted, an opt-in step and a fine-tuning switch."""

from __future__ import annotations

import pytest

from pretrain.data.augment import EDA, augment_texts, synonyms
from pretrain.data.clean import build_steps, run_pipeline
from pretrain.data.step import CleanConfig

TEXTS = ["the quick brown fox jumps over the lazy dog near the old river bank",
         "stock markets fell sharply today as investors worried about rising interest rates",
         "the team won the final match after a long and difficult season"]


def test_synonyms_come_from_wordnet() -> None:
    assert "speedy" in synonyms("quick") and "quick" not in synonyms("quick")
    assert synonyms("xyzzyq") == ()


def test_same_seed_same_copies_and_every_operation_counted() -> None:
    rows, report = augment_texts(TEXTS * 10, 2, seed=3)
    again, _ = augment_texts(TEXTS * 10, 2, seed=3)
    other, _ = augment_texts(TEXTS * 10, 2, seed=4)
    assert rows == again and rows != other
    assert report["texts_in"] == 30 and report["texts_added"] == 60 == len(rows)
    ops = report["operations"]
    assert sum(ops[f"{op}_texts"] for op in ("synonym", "insert", "swap", "delete")) == 60
    assert ops["words_replaced"] > 0 and ops["words_inserted"] > 0
    assert ops["words_swapped"] > 0 and ops["words_deleted"] > 0
    originals = {t.split()[0] for t in TEXTS}
    assert all(i < 30 for i, _ in rows) and any(t.split()[0] in originals for _, t in rows)


def test_each_operation_does_what_it_says() -> None:
    words = TEXTS[1].split()
    eda = EDA(alpha=0.2, seed=0)
    swapped = eda._swap(list(words), 2)
    assert sorted(swapped) == sorted(words) and swapped != words
    assert len(eda._insert(list(words), 2)) == len(words) + 2
    assert 1 <= len(eda._delete(list(words), 2)) < len(words)
    replaced = eda._synonym(list(words), 3)
    changed = [(a, b) for a, b in zip(words, replaced) if a != b]
    assert len(changed) == 3 and all(b in synonyms(a) for a, b in changed)


def test_eda_is_an_opt_in_cleaning_step_with_counts_in_the_report() -> None:
    off = [s.name for s in build_steps(CleanConfig())]
    assert "eda" not in off
    steps = build_steps(CleanConfig(extra_steps=("eda",), eda_seed=1))
    assert steps[-1].name == "eda"
    docs = [{"id": str(i), "text": t, "source": "t"} for i, t in enumerate(TEXTS * 20)]
    eda = steps[-1]
    out = list(run_pipeline(docs, [eda]))
    assert len(out) == 60 and eda.summary()["docs_out"] == 60
    assert sum(v for k, v in eda.summary()["operations"].items() if k.endswith("_texts")) == 60
    with pytest.raises(Exception, match="unknown cleaning step 'edaa'; did you mean eda"):
        build_steps(CleanConfig(extra_steps=("edaa",)))


def test_finetuning_switch_adds_labelled_copies() -> None:
    from tasks.base import Example
    from tasks.finetune import augmented

    exs = [Example(id=str(i), input=t, references=[], label=lab)
           for i, (t, lab) in enumerate(zip(TEXTS, ["a", "b", "c"]))]
    exs.append(Example(id="qa", input={"question": "q", "context": "c"}, references=["c"]))
    out, report = augmented(exs, 2, seed=0)
    assert len(out) == 4 + 6 and report["texts_added"] == 6
    assert [e.label for e in out[4:]] == ["a", "a", "b", "b", "c", "c"]
    assert out[4].id == "0#eda0" and any(e.input not in TEXTS for e in out[4:])
