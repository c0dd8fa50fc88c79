"""Tiny task fixtures written in the tests themselves (never the installed corpora)."""

from __future__ import annotations

from pathlib import Path

from tasks.base import (
    SPLITS,
    ClassificationTask,
    ClozeTask,
    DialogueTask,
    Example,
    FinetuneDefaults,
    LMTask,
    MultipleChoiceTask,
    QATask,
    SummarizationTask,
    TranslationTask,
)

FAST = FinetuneDefaults(epochs=2, lr=1e-3, batch_size=4, max_len=64, max_new_tokens=8,
                        patience=1, max_train=None)

WORDS = {"sport": "match goal team player score win league coach",
         "tech": "computer software chip network data code phone app"}


def _clf_examples() -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for i in range(24):
        label = "sport" if i % 2 else "tech"
        words = WORDS[label].split()
        text = " ".join(words[(i + k) % len(words)] for k in range(6))
        split = "test" if i % 6 == 0 else "validation" if i % 6 == 1 else "train"
        out[split].append(Example(id=f"c{i}", input=text, references=[label], label=label))
    return out


class TinyClassification(ClassificationTask):
    name = "tiny-clf"
    finetune = FAST

    def build(self):
        return _clf_examples()


class TinyQA(QATask):
    name = "tiny-qa"
    finetune = FAST

    def build(self):
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        facts = [("Where is the cat?", "The cat sits on the mat."),
                 ("What colour is the sky?", "The sky is blue today."),
                 ("Who wrote the book?", "A tall man wrote the book."),
                 ("When does the bus leave?", "The bus leaves at noon.")]
        for i in range(12):
            q, ans = facts[i % 4]
            ctx = f"Some words come first. {ans} More words follow here."
            split = "test" if i < 3 else "validation" if i < 5 else "train"
            out[split].append(Example(id=f"q{i}", input={"question": q, "context": ctx},
                                      references=[ans]))
        return out


def _pairs(make) -> dict[str, list[Example]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for i in range(12):
        src, tgt = make(i)
        split = "test" if i < 3 else "validation" if i < 5 else "train"
        out[split].append(Example(id=f"p{i}", input=src, references=[tgt]))
    return out


class TinySummarization(SummarizationTask):
    name = "tiny-sum"
    finetune = FAST

    def build(self):
        return _pairs(lambda i: (f"The item {i} is good. It was made in a town. People like it.",
                                 f"item {i} is good"))


class TinyTranslation(TranslationTask):
    name = "tiny-mt"
    finetune = FAST

    def build(self):
        return _pairs(lambda i: (f"the house {i} is big.", f"das Haus {i} ist gross."))


class TinyDialogue(DialogueTask):
    name = "tiny-chat"
    finetune = FAST

    def build(self):
        return _pairs(lambda i: (f"how are you {i}?", f"I am fine {i}, thanks."))


class TinyLM(LMTask):
    name = "tiny-lm"

    def build(self):
        docs = ["To be, or not to be, that is the question.",
                "Whether tis nobler in the mind to suffer the slings and arrows. " * 6]
        return {"train": [Example(id="t0", input="the question is to be or not", references=[])],
                "validation": [],
                "test": [Example(id=f"d{i}", input=d, references=[]) for i, d in enumerate(docs)]}


ALL = [TinyClassification, TinyQA, TinySummarization, TinyTranslation, TinyDialogue, TinyLM]


def make_checkpoint(out: Path, arch: str, seed: int = 0) -> Path:
    """A tiny randomly initialised model saved as a weights-only checkpoint."""
    import dataclasses

    import torch

    from pretrain.data.tokenizer import train_tokenizer
    from pretrain.engine.checkpoint import save_model_checkpoint
    from pretrain.engine.model import build_model
    from pretrain.engine.presets import ModelConfig, RunConfig

    texts = []
    for cls in ALL:
        for split in cls().build().values():
            for ex in split:
                texts.append(str(ex.input) + " " + " ".join(ex.references))
    tok = train_tokenizer(texts * 3, arch, 300 if arch == "gpt" else 200, min_frequency=1)
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, n_layer=2, n_head=2, n_embd=32, block_size=64,
                      vocab_size=tok.get_vocab_size())
    run = dataclasses.replace(RunConfig(), model=cfg)
    return save_model_checkpoint(out, build_model(cfg), tok, run)


class TinyChoice(MultipleChoiceTask):
    """Which word belongs to the topic: four choices, the gold one from the topic's words."""

    name = "tiny-choice"

    def build(self):
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        topics = list(WORDS)
        for i in range(16):
            topic = topics[i % 2]
            other = WORDS[topics[(i + 1) % 2]].split()
            gold_word = WORDS[topic].split()[i % 8]
            choices = [other[(i + k) % 8] for k in range(3)]
            gold = i % 4
            choices.insert(gold, gold_word)
            split = "test" if i < 6 else "validation" if i < 8 else "train"
            out[split].append(Example(id=f"m{i}", input={"question": f"A word about {topic}",
                                                         "choices": choices},
                                      references=[str(gold)], label=str(gold)))
        return out


class TinyCloze(ClozeTask):
    name = "tiny-cloze"

    def build(self):
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for i in range(12):
            words = WORDS["sport" if i % 2 else "tech"].split()
            text = " ".join(words[(i + k) % 8] for k in range(7))
            ctx, _, last = text.rpartition(" ")
            split = "test" if i < 5 else "train"
            out[split].append(Example(id=f"z{i}", input=ctx, references=[last]))
        return out


