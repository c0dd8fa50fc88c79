"""The cleaning pipeline: switchable steps, each counting what goes in and out.

Documents stream through the steps one at a time; a step returns the document
(possibly with its text changed) or ``None`` to drop it. Every step counts
documents and characters in and out, so the report can show that documents out
equal documents in minus each step's removals. The steps, in order:

``fix_mojibake``     ftfy repairs text once decoded in the wrong encoding ("Â£" -> "£")
``normalize``        Unicode NFC or NFKC, control characters removed, line ends unified
``exact_dedup``      drop a document whose whitespace-folded text was seen before
``paragraph_dedup``  drop long paragraphs already seen in an earlier document (boilerplate)
``langid``           py3langid; drop documents not in the wanted languages
``quality``          Gopher/C4-style rules: length, mean word length, symbols, stop words ...
``near_dedup``       MinHash + LSH over word 5-shingles (datasketch); drop near copies
``decontaminate``    drop documents sharing a 13-gram with a task's test set

Opt-in steps run only when ``clean.extra_steps`` names them: ``eda`` (augmentation of
fine-tuning data, :mod:`pretrain.data.augment`) and every plugin step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from pretrain.data import (  # noqa: F401 - they register their steps
    augment,
    contamination,
    dedup,
    langid,
    mojibake,
    quality,
)
from pretrain.data.step import STEPS, CleanConfig, Doc, Step, is_opt_in, register_step

# Control characters (Unicode category C*) except tab and newline; U+FFFD stays so that
# decoding errors remain visible in the text as well as in the report.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")


class Normalize(Step):
    """Unicode normal form, control characters removed, at most one blank line in a row."""

    name = "normalize"

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.extra = {"form": form, "control_chars_removed": 0}

    def process(self, doc: Doc) -> Doc | None:
        text = doc["text"].replace("\r\n", "\n").replace("\r", "\n")
        if self.form != "off":
            text = unicodedata.normalize(self.form, text)
        text, n = _CONTROL.subn("", text)
        self.extra["control_chars_removed"] += n
        text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", text)).strip()
        return {**doc, "text": text}


@register_step("normalize", order=0)
def _normalize(cfg: CleanConfig, test_texts: list[str] | None) -> Step:
    return Normalize(cfg.normalize)


def build_steps(cfg: CleanConfig, test_texts: list[str] | None = None) -> list[Step]:
    """The enabled steps for ``cfg`` in pipeline order (decontaminate only with test texts)."""
    wanted = {name: STEPS.get(name) for name in cfg.extra_steps}  # unknown: close matches
    factories = sorted((f for f in STEPS.load().values()
                        if not is_opt_in(f) or f in wanted.values()),
                       key=lambda f: f.order)  # type: ignore[attr-defined]
    steps = [f(cfg, test_texts) for f in factories]
    return [s for s in steps if s is not None]


def run_pipeline(docs: Iterable[Doc], steps: list[Step]) -> Iterator[Doc]:
    """Stream ``docs`` through ``steps``; yields the survivors."""
    for doc in docs:
        for step in steps:
            doc = step(doc)
            if doc is None:
                break
        else:
            yield doc


# ----------------------------------------------------------------------------- sentences

_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf",
           "fig", "no", "vol", "inc", "ltd", "co", "jan", "feb", "mar", "apr", "jun", "jul",
           "aug", "sep", "sept", "oct", "nov", "dec", "approx", "dept", "est", "gen", "gov"}
_SENT_END = re.compile(r"([.!?]+[\"')\]]*)(\s+)(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split English ``text`` into sentences (for NSP and sentence-level tasks).

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets)
    followed by whitespace and a capital or digit, unless the word before the
    period is a known abbreviation or a single letter (an initial). Blank lines
    always end a sentence.
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        start = 0
        for m in _SENT_END.finditer(para):
            before = para[start:m.start()].rsplit(" ", 1)[-1].lower().strip("\"'([")
            if m.group(1).startswith(".") and (before in _ABBREV or len(before) == 1):
                continue
            out.append(para[start:m.end(1)].strip())
            start = m.end()
        if para[start:].strip():
            out.append(para[start:].strip())
    return out
