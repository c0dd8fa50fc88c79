"""Language identification with py3langid (its model ships inside the PyPI wheel)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from pretrain.data.step import CleanConfig, Doc, Step, register_step

# Classifying the first few thousand characters is as accurate as the whole
# document for prose and keeps long documents cheap.
_SAMPLE_CHARS = 2000


@lru_cache(maxsize=1)
def identifier():  # type: ignore[no-untyped-def]
    """The py3langid identifier with normalised probabilities (loaded once, ~0.5 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of ``text``'s language."""
    lang, prob = identifier().classify(text[:_SAMPLE_CHARS])
    return lang, float(prob)


class LanguageFilter(Step):
    """Tag each document with its language (``doc["lang"]``) and keep the wanted ones.

    The language mix of every document that reaches this step is counted, kept
    or not, so the report shows what the filter saw.
    """

    name = "langid"

    def __init__(self, languages: tuple[str, ...]) -> None:
        super().__init__()
        self.languages = set(languages)
        self.mix: Counter[str] = Counter()
        self.extra = {"languages_kept": sorted(self.languages), "mix": self.mix}

    def process(self, doc: Doc) -> Doc | None:
        lang, _ = detect(doc["text"])
        self.mix[lang] += 1
        if self.languages and lang not in self.languages:
            return None
        return {**doc, "lang": lang}

    def summary(self) -> dict:
        out = super().summary()
        out["mix"] = dict(self.mix.most_common())
        return out


@register_step("langid", order=30)
def _langid(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return LanguageFilter(cfg.languages) if cfg.langid else None
