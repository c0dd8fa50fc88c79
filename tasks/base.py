"""The task API: one small base class per family.

A task has a name, a version, a family, a data source with ``train``,
``validation`` and ``test`` splits, its metrics by name (:class:`MetricSpec`),
its fine-tuning defaults (:class:`FinetuneDefaults`) and prompt templates for
the generative and zero-shot paths. Subclasses implement :meth:`Task.build`
(all splits at once, from real data); the base class caches the result under
``data_home()/tasks`` (see :mod:`tasks.data`) and hashes it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from harnesskit.errors import HarnessError
from tasks import baselines, data
from tasks.example import SPLITS, Example, first_sentence

__all__ = ["SPLITS", "Example", "first_sentence"]  # re-exported: part of the task API

FAMILIES = ("classification", "qa", "summarization", "translation", "dialogue", "lm",
            "multiple_choice", "cloze")
# Families scored by log-likelihood in every mode (nothing to fine-tune): lm, choices, cloze.
SCORED_FAMILIES = ("lm", "multiple_choice", "cloze")


@dataclass(frozen=True)
class MetricSpec:
    """A metric by name with its options (names as in ``harness.metrics``)."""

    name: str
    options: dict = dataclasses.field(default_factory=dict)


MAX_EDA = 64  # more copies per input only multiply memory and time (EDA's gains stop by 16)


@dataclass(frozen=True, kw_only=True)
class FinetuneDefaults:
    """How a task is fine-tuned unless the caller says otherwise.

    ``epochs`` (passes over the training split, early-stopped on the validation
    loss after ``patience`` epochs without improvement), ``lr`` (AdamW peak, with
    ``warmup_frac`` linear warmup then linear decay), ``batch_size`` (training
    sequences per step), ``max_len`` (input tokens, capped by the model's
    context), ``max_new_tokens`` and ``beams`` (generation), ``weight_decay``,
    and ``max_train`` (cap on training examples, for CPU budgets; None = all),
    ``eda`` (augmented copies of each training input by EDA, :mod:`pretrain.data.augment`,
    seeded by the fine-tuning seed; 0 = off).
    """

    epochs: int = 3
    lr: float = 3e-4
    batch_size: int = 16
    max_len: int = 256
    max_new_tokens: int = 32
    patience: int = 2
    beams: int = 1
    weight_decay: float = 0.01
    warmup_frac: float = 0.06
    max_train: int | None = 4000
    eda: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            whole = f.name in ("epochs", "batch_size", "max_len", "max_new_tokens", "beams",
                               "patience", "max_train", "eda")
            if value is None and f.name == "max_train":
                continue
            if isinstance(value, str) and not whole:  # YAML reads 1e-4 as a string
                try:
                    value = float(value)
                except ValueError:
                    pass
                else:
                    object.__setattr__(self, f.name, value)
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                raise ValueError(f"finetune.{f.name} must be {'an integer' if whole else 'a number'}"
                                 f", got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"finetune.{f.name} must be finite, got {value!r}")
        for name in ("epochs", "batch_size", "max_len", "max_new_tokens", "beams"):
            if getattr(self, name) < 1:
                raise ValueError(f"finetune.{name} must be at least 1")
        if not 0 <= self.warmup_frac < 1 or self.weight_decay < 0:
            raise ValueError("finetune.warmup_frac must be in [0, 1) and weight_decay >= 0")
        if self.lr <= 0:
            raise ValueError("finetune.lr must be positive")
        if self.patience < 0:
            raise ValueError("finetune.patience must be >= 0")
        if not 0 <= self.eda <= MAX_EDA:
            raise ValueError(f"finetune.eda must be between 0 and {MAX_EDA} augmented copies "
                             "per training input (the EDA paper uses 1 to 16)")
        if self.max_train is not None and self.max_train < 1:
            raise ValueError("finetune.max_train must be at least 1 (or null for all)")


FINETUNE_KEYS = tuple(f.name for f in dataclasses.fields(FinetuneDefaults))


def finetune_settings(defaults: FinetuneDefaults,
                      overrides: dict[str, Any] | None = None) -> FinetuneDefaults:
    """``defaults`` with ``overrides`` applied; unknown keys and bad values are one-line
    :class:`HarnessError` s (checked before any model is loaded)."""
    overrides = dict(overrides or {})
    bad = sorted(k for k in overrides if k not in FINETUNE_KEYS)
    if bad:
        raise HarnessError(f"unknown fine-tuning key(s): {', '.join(bad)}",
                           hint=f"valid keys: {', '.join(FINETUNE_KEYS)}")
    try:
        return dataclasses.replace(defaults, **overrides)
    except ValueError as exc:
        raise HarnessError(f"bad fine-tuning setting: {exc}",
                           hint="e.g. --ft epochs=1 --ft lr=1e-4") from None


class Task:
    """Base of every task; see the family subclasses below."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    source: ClassVar[str] = ""
    metrics: ClassVar[list[MetricSpec]] = []
    finetune: ClassVar[FinetuneDefaults] = FinetuneDefaults()
    target_delimiter: ClassVar[str] = " "   # between a prompt and its answer
    fewshot_delimiter: ClassVar[str] = "\n\n"  # between few-shot examples
    fewshot_split: ClassVar[str] = "train"  # where few-shot examples are drawn from

    # -- data ------------------------------------------------------------
    def build(self) -> dict[str, list[Example]]:
        """Build every split from the real source (subclasses implement)."""
        raise NotImplementedError

    def available(self) -> tuple[bool, str]:
        """Whether this task's data can be built here, and why not."""
        return True, ""

    @staticmethod
    def needs(ok: object, why: str) -> tuple[bool, str]:
        """``(True, "")`` when ``ok`` is truthy, else ``(False, why)``: the body of most
        :meth:`available` overrides (a path exists, a package is installed)."""
        return (True, "") if ok else (False, why)

    def examples(self, split: str) -> list[Example]:
        """The examples of ``split`` (train, validation or test), built and cached once."""

        return data.load_split(self, split)

    def sizes(self) -> dict[str, int]:
        """Number of examples per split (builds the data if needed)."""

        return dict(data.cached_meta(self)["sizes"])

    def data_hash(self) -> str:
        """sha256 (16 hex) of the built splits' content."""

        return str(data.cached_meta(self)["hash"])

    # -- modelling -------------------------------------------------------
    def prompt(self, ex: Example) -> str:
        """The text a generative model is conditioned on."""
        return str(ex.input)

    def target(self, ex: Example) -> str:
        """The text a generative model learns to produce."""
        return ex.references[0] if ex.references else (ex.label or "")

    def baselines(self) -> dict[str, Callable[[list[Example], list[Example]], list[Any]]]:
        """Named baselines: callables ``(train, test) -> predictions``."""
        return {}

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (``harness tasks show``)."""
        ok, why = self.available()
        return {"name": self.name, "version": self.version, "family": self.family,
                "source": self.source, "description": self.description,
                "metrics": [dataclasses.asdict(m) for m in self.metrics],
                "finetune": dataclasses.asdict(self.finetune),
                "baselines": sorted(self.baselines()), "available": ok, "reason": why}


class ClassificationTask(Task):
    """Text -> one of a fixed set of labels."""

    family = "classification"
    metrics = [MetricSpec("accuracy"), MetricSpec("macro_f1")]
    finetune = FinetuneDefaults(epochs=3, lr=3e-4, max_len=256)
    label_word: ClassVar[str] = "Label"

    def labels(self) -> list[str]:
        """The label set, sorted, from the training split."""
        return sorted({ex.label for ex in self.examples("train") if ex.label is not None})

    def prompt(self, ex: Example) -> str:
        return f"{ex.input}\n{self.label_word}:"

    def target(self, ex: Example) -> str:
        return str(ex.label)

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"majority": baselines.majority, "tfidf-logreg": baselines.tfidf_logreg}


class QATask(Task):
    """Extractive QA: input {question, context}; references are answer spans of the context."""

    family = "qa"
    metrics = [MetricSpec("exact_match"), MetricSpec("token_f1")]
    finetune = FinetuneDefaults(epochs=4, lr=3e-4, max_len=256, max_new_tokens=48)

    def prompt(self, ex: Example) -> str:
        assert isinstance(ex.input, dict)
        return f"{ex.input['context']}\nQuestion: {ex.input['question']}\nAnswer:"

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"first-sentence": baselines.qa_first_sentence}


class SummarizationTask(Task):
    """Document -> a short summary."""

    family = "summarization"
    metrics = [MetricSpec("rouge1"), MetricSpec("rouge2"), MetricSpec("rougeL"),
               MetricSpec("rougeLsum"), MetricSpec("meteor"), MetricSpec("bertscore")]
    finetune = FinetuneDefaults(epochs=3, lr=3e-4, max_len=256, max_new_tokens=32)

    def prompt(self, ex: Example) -> str:
        return f"{ex.input}\nSummary:"

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"lead-1": baselines.lead_1}


class TranslationTask(Task):
    """Source sentence -> target sentence."""

    family = "translation"
    source_lang: ClassVar[str] = "en"
    target_lang: ClassVar[str] = "de"
    metrics = [MetricSpec("bleu"), MetricSpec("chrf"), MetricSpec("ter")]
    finetune = FinetuneDefaults(epochs=3, lr=3e-4, max_len=192, max_new_tokens=64)

    _NAMES: ClassVar[dict[str, str]] = {"en": "English", "de": "German", "fr": "French"}

    def prompt(self, ex: Example) -> str:
        src = self._NAMES.get(self.source_lang, self.source_lang)
        tgt = self._NAMES.get(self.target_lang, self.target_lang)
        return f"{src}: {ex.input}\n{tgt}:"

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"copy-source": baselines.copy_source}


class DialogueTask(Task):
    """A turn -> the reply that followed it."""

    family = "dialogue"
    metrics = [MetricSpec("bleu"), MetricSpec("distinct_1"), MetricSpec("distinct_2"),
               MetricSpec("bertscore")]
    finetune = FinetuneDefaults(epochs=2, lr=3e-4, max_len=192, max_new_tokens=40)

    def prompt(self, ex: Example) -> str:
        return f"A: {ex.input}\nB:"

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"retrieval": baselines.retrieval_reply}


class LMTask(Task):
    """Intrinsic language modelling on held-out documents (test split only).

    ``window``: ``overlap`` (default: windows of the context advancing by
    ``stride`` tokens, None = half the context, every token scored once with at
    least context - stride tokens before it) or ``disjoint``
    (lm-evaluation-harness's ``loglikelihood_rolling``: disjoint windows of the
    full context, the last one reaching back to a full context).
    """

    family = "lm"
    metrics = [MetricSpec("bits_per_byte"), MetricSpec("perplexity"),
               MetricSpec("cross_entropy"), MetricSpec("token_accuracy")]
    stride: ClassVar[int | None] = None  # sliding-window stride in tokens; None = half the context
    window: ClassVar[str] = "overlap"

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"unigram-bytes": baselines.unigram_bytes}


class MultipleChoiceTask(Task):
    """A question, its choices and the gold index, scored by log-likelihood (lm-eval style).

    ``input`` is ``{"question": str, "choices": [str, ...]}``, ``label`` the gold
    index as a string and ``references`` ``[label]``. Each choice is scored as the
    continuation ``target_delimiter + choice`` of :meth:`prompt`.
    """

    family = "multiple_choice"
    metrics = [MetricSpec("acc"), MetricSpec("acc_norm"), MetricSpec("acc_bytes")]

    def prompt(self, ex: Example) -> str:
        assert isinstance(ex.input, dict)
        return f"{ex.input['question']}\nAnswer:"

    def choices(self, ex: Example) -> list[str]:
        assert isinstance(ex.input, dict)
        return [str(c) for c in ex.input["choices"]]

    def target(self, ex: Example) -> str:
        return self.choices(ex)[int(ex.label or 0)]

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"random-choice": baselines.random_choice}


class ClozeTask(Task):
    """A passage and its held-out last word (LAMBADA style): greedy match and log-likelihood.

    ``input`` is the passage without its last word, ``references`` ``[word]``;
    the word is scored as the continuation ``target_delimiter + word``.
    """

    family = "cloze"
    metrics = [MetricSpec("greedy_acc"), MetricSpec("target_perplexity")]

    def baselines(self):  # type: ignore[no-untyped-def]

        return {"unigram-target": baselines.cloze_unigram}


FAMILY_CLASSES: dict[str, type[Task]] = {
    "classification": ClassificationTask, "qa": QATask, "summarization": SummarizationTask,
    "translation": TranslationTask, "dialogue": DialogueTask, "lm": LMTask,
    "multiple_choice": MultipleChoiceTask, "cloze": ClozeTask,
}
