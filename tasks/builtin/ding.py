"""``ding-en-de``: English -> German example sentences of the Ding dictionary (trans-de-en).

Each line of ``/usr/share/trans/de-en`` is ``de | de ... :: en | en ...`` with
the alternatives aligned by position. Sentence pairs (4+ words on both sides,
ending in . ? or !) are kept, grammatical annotations such as ``{m}`` or
``[ugs.]`` removed; one dictionary entry is one document for the split.
"""

from __future__ import annotations

import re
from pathlib import Path

from tasks.base import SPLITS, Example, FinetuneDefaults, TranslationTask
from tasks.data import dedupe, split_of
from tasks.registry import register_task

DING = Path("/usr/share/trans/de-en")
ANNOTATION = re.compile(r"\s*(\{[^}]*\}|\[[^\]]*\])")


def _clean(text: str) -> str:
    return " ".join(ANNOTATION.sub("", text).split())


def _is_sentence(text: str) -> bool:
    return len(text.split()) >= 4 and text[-1:] in ".?!"


def ding_pairs(lines: list[str]) -> list[tuple[int, str, str]]:
    """(entry number, English, German) sentence pairs of the dictionary lines."""
    out = []
    for n, line in enumerate(lines):
        if line.startswith("#") or " :: " not in line:
            continue
        de_side, en_side = line.rstrip("\n").split(" :: ", 1)
        de_parts, en_parts = de_side.split(" | "), en_side.split(" | ")
        if len(de_parts) != len(en_parts):
            continue
        for de, en in zip(de_parts, en_parts):
            de, en = _clean(de), _clean(en)
            if _is_sentence(de) and _is_sentence(en):
                out.append((n, en, de))
    return dedupe(out, key=lambda r: (r[1], r[2]))


@register_task
class DingEnDe(TranslationTask):
    """English example sentence -> its German translation (Ding, trans-de-en)."""

    name = "ding-en-de"
    version = "1"
    description = "Ding dictionary example sentences, English to German (split by entry)"
    source = "apt:trans-de-en /usr/share/trans/de-en"
    source_lang = "en"
    target_lang = "de"
    finetune = FinetuneDefaults(epochs=2, lr=3e-4, batch_size=16, max_len=128, max_new_tokens=48,
                                max_train=8000)

    def available(self) -> tuple[bool, str]:
        return self.needs(DING.is_file(), "needs apt package trans-de-en")

    def build(self) -> dict[str, list[Example]]:
        lines = DING.read_text(encoding="utf-8").splitlines()
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for i, (entry, en, de) in enumerate(ding_pairs(lines)):
            out[split_of(str(entry), salt="ding")].append(
                Example(id=f"{entry}-{i}", input=en, references=[de]))
        return out
