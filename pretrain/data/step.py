"""What every cleaning step shares: the document type, the config, the counted
:class:`Step` base class, and the registry that steps (built-in and plugins, entry-point
group ``harness.cleaning_steps``) register into with :func:`register_step`.

A step is registered as a factory ``(cfg, test_texts) -> Step | None`` (``None``: the
step is switched off by ``cfg``) with an ``order`` that places it in the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harnesskit.config import field
from harnesskit.registry import Registry

Doc = dict


@dataclass(frozen=True, kw_only=True)
class CleanConfig:
    """Which cleaning steps run, and their thresholds."""

    fix_mojibake: bool = field(True, "repair mis-decoded text with ftfy (Â£ -> £), counted")
    normalize: str = field("NFC", "Unicode normal form: NFC, NFKC or off")
    exact_dedup: bool = field(True, "drop exact duplicate documents (whitespace folded)")
    paragraph_dedup: bool = field(True, "drop paragraphs repeated from earlier documents")
    paragraph_min_chars: int = field(120, "only paragraphs at least this long are deduplicated")
    quality: bool = field(True, "apply the Gopher/C4 quality rules")
    min_words: int = field(50, "quality: fewest words in a document")
    max_words: int = field(100_000, "quality: most words in a document")
    min_mean_word_len: float = field(3.0, "quality: smallest mean word length")
    max_mean_word_len: float = field(10.0, "quality: largest mean word length")
    max_symbol_ratio: float = field(0.1, "quality: most '#' and '...' per word")
    min_alpha_words: float = field(0.8, "quality: least fraction of words with a letter")
    min_stop_words: int = field(2, "quality: fewest distinct stop words (en: the, of, and ...)")
    langid: bool = field(True, "identify languages with py3langid and filter them")
    languages: tuple[str, ...] = field(("en",), "languages kept by the language filter")
    near_dedup: bool = field(True, "drop near duplicates (MinHash LSH)")
    near_threshold: float = field(0.8, "near_dedup: estimated Jaccard similarity that counts as a copy")
    num_perm: int = field(128, "near_dedup: MinHash permutations")
    shingle: int = field(5, "near_dedup: words per shingle")
    decontaminate_n: int = field(13, "decontaminate: n-gram length shared with a test set")
    extra_steps: tuple[str, ...] = field((), "opt-in steps to switch on by name: plugin steps "
                                         "(entry-point group harness.cleaning_steps) and eda")
    eda_alpha: float = field(0.1, "eda: share of a text's words each operation changes")
    eda_seed: int = field(0, "eda: seed of the augmentation's choices")

    def __post_init__(self) -> None:
        if self.normalize not in ("NFC", "NFKC", "off"):
            raise ValueError("clean.normalize must be NFC, NFKC or off")
        if not 0.0 < self.near_threshold <= 1.0:
            raise ValueError("clean.near_threshold must be in (0, 1]")
        if self.min_words < 0 or self.max_words < self.min_words:
            raise ValueError("clean.min_words must be >= 0 and <= clean.max_words")
        if not 0.0 < self.eda_alpha <= 0.5:
            raise ValueError("clean.eda_alpha must be in (0, 0.5]")
        if self.num_perm < 16 or self.shingle < 1 or self.decontaminate_n < 1:
            raise ValueError("clean.num_perm must be >= 16, clean.shingle and "
                             "clean.decontaminate_n >= 1")


class Step:
    """A counted pipeline step; subclasses implement :meth:`process`."""

    name = "step"

    def __init__(self) -> None:
        self.docs_in = self.docs_out = self.chars_in = self.chars_out = 0
        self.seconds = 0.0
        self.extra: dict[str, Any] = {}

    def process(self, doc: Doc) -> Doc | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Doc | None:
        self.docs_in += 1
        self.chars_in += len(doc["text"])
        t0 = time.perf_counter()
        out = self.process(doc)
        self.seconds += time.perf_counter() - t0
        if out is not None and not out["text"].strip():
            out = None
        if out is not None:
            self.docs_out += 1
            self.chars_out += len(out["text"])
        return out

    def summary(self) -> dict[str, Any]:
        """Counts for the report: docs and chars in, out, removed, plus step details."""
        return {"step": self.name, "docs_in": self.docs_in, "docs_out": self.docs_out,
                "docs_removed": self.docs_in - self.docs_out, "chars_in": self.chars_in,
                "chars_out": self.chars_out, "seconds": round(self.seconds, 3), **self.extra}


StepFactory = Callable[["CleanConfig", "list[str] | None"], "Step | None"]


def _check_factory(name: str, obj: Any) -> str | None:
    if not callable(obj):
        return "is not callable; register a factory (cfg, test_texts) -> Step | None"
    if not isinstance(getattr(obj, "order", None), (int, float)):
        return "has no numeric `order`; use register_step(name, order=...)"
    return None


STEPS: Registry[StepFactory] = Registry("cleaning step", group="harness.cleaning_steps",
                                        builtins=("pretrain.data.clean",), check=_check_factory)


def register_step(name: str, *, order: float, opt_in: bool = False
                  ) -> Callable[[StepFactory], StepFactory]:
    """Decorator for a step factory; ``order`` places it (normalize 0, near_dedup 60, ...).

    An ``opt_in`` step runs only when ``clean.extra_steps`` names it; so does every step
    a plugin registers (it cannot change a built-in pipeline by being installed).
    """
    def deco(factory: StepFactory) -> StepFactory:
        factory.order = order  # type: ignore[attr-defined]
        factory.opt_in = opt_in  # type: ignore[attr-defined]
        STEPS.add(name, factory)
        return factory
    return deco


def is_opt_in(factory: StepFactory) -> bool:
    """Whether a step runs only when named in ``clean.extra_steps`` (plugins: always)."""
    builtin = getattr(factory, "__module__", "").startswith("pretrain.")
    return not builtin or bool(getattr(factory, "opt_in", False))
