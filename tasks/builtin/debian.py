"""Debian package descriptions (apt Translation lists, ``pretrain.data.debian``) as tasks.

``debian-section`` (description -> archive section, the most frequent sections),
``debian-summaries`` (long description -> the one-line short description) and
``debian-en-de`` / ``debian-en-fr`` (paragraphs of the English description ->
the translators' German / French paragraph, joined by ``Description-md5``).
Splits are by package family (``libfoo1``, ``libfoo-dev`` and ``foo-doc``
share a key), so near-identical descriptions never straddle two splits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from tasks.base import (
    SPLITS,
    ClassificationTask,
    Example,
    FinetuneDefaults,
    SummarizationTask,
    Task,
    TranslationTask,
    first_sentence,
)
from tasks.data import dedupe, split_of
from tasks.registry import register_task

TOP_SECTIONS = 15
_SUFFIX = re.compile(r"(-dev|-doc|-docs|-dbg|-dbgsym|-common|-data|-bin|-utils|-tools|-examples"
                     r"|-perl|-java|-plugins?)$")


def family_key(package: str) -> str:
    """A key shared by the binary packages of one source (lib prefix, suffixes, sonames)."""
    key = package
    for _ in range(2):
        key = _SUFFIX.sub("", key)
    key = re.sub(r"^lib", "", key)
    key = re.sub(r"[\d.]+[a-z]?$", "", key).rstrip("-.") or package
    return key


def paragraphs(long: str) -> list[str]:
    """Paragraphs of a long description (separated by a `` .`` line or a blank line)."""
    parts = re.split(r"\n\s*\.?\s*\n|\n\s*\.\s*$|^\s*\.\s*\n", long.strip("\n"))
    return [" ".join(p.split()) for p in parts if p.strip() and p.strip() != "."]


def records(lang: str = "en") -> Iterator[dict]:
    from pretrain.data.debian import iter_descriptions

    yield from iter_descriptions(lang)


def _section(rec: dict) -> str:
    return str(rec.get("section") or "").split("/")[-1]


class _Debian:
    source = "apt Translation-en lists (pretrain.data.debian)"

    def available(self) -> tuple[bool, str]:
        from pretrain.data.debian import lists_available

        ok, why = lists_available()
        return Task.needs(ok, why)


@register_task
class DebianSection(_Debian, ClassificationTask):
    """Package description -> its archive section (the most frequent sections)."""

    name = "debian-section"
    version = "1"
    description = f"Debian package descriptions -> section (top {TOP_SECTIONS} sections)"
    label_word = "Section"
    finetune = FinetuneDefaults(epochs=2, lr=3e-4, batch_size=16, max_len=192, max_train=8000)

    def build(self) -> dict[str, list[Example]]:
        recs = dedupe((r for r in records("en") if _section(r)), key=lambda r: r["long"].strip())
        recs = dedupe(recs, key=lambda r: r["package"])
        top = {s for s, _ in Counter(_section(r) for r in recs).most_common(TOP_SECTIONS)}
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for r in recs:
            if _section(r) in top:
                text = f"{r['short']}\n{' '.join(r['long'].split())}".strip()
                out[split_of(family_key(r["package"]), salt="debian")].append(
                    Example(id=r["package"], input=text, references=[_section(r)],
                            label=_section(r)))
        return out


@register_task
class DebianSummaries(_Debian, SummarizationTask):
    """Long package description (40+ words) -> its one-line short description."""

    name = "debian-summaries"
    version = "1"
    description = "Debian long descriptions (40+ words) -> the short description"
    finetune = FinetuneDefaults(epochs=2, lr=3e-4, batch_size=16, max_len=256, max_new_tokens=24,
                                max_train=8000)

    def build(self) -> dict[str, list[Example]]:
        recs = dedupe(records("en"), key=lambda r: r["long"].strip())
        recs = dedupe(recs, key=lambda r: r["package"])
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for r in recs:
            long = "\n".join(paragraphs(r["long"]))
            if len(long.split()) >= 40 and r["short"].strip():
                out[split_of(family_key(r["package"]), salt="debian")].append(
                    Example(id=r["package"], input=long, references=[r["short"].strip()]))
        return out


class _DebianTranslation(_Debian, TranslationTask):
    source_lang = "en"
    finetune = FinetuneDefaults(epochs=2, lr=3e-4, batch_size=16, max_len=256, max_new_tokens=96,
                                max_train=8000)

    def build(self) -> dict[str, list[Example]]:
        english = {r["md5"]: r for r in records("en")}
        rows = []
        for tr in records(self.target_lang):
            en = english.get(tr["md5"])
            if en is None:
                continue
            src = [first_sentence(en["short"])] + paragraphs(en["long"])
            tgt = [first_sentence(tr["short"])] + paragraphs(tr["long"])
            if len(src) != len(tgt):
                continue  # not aligned paragraph by paragraph: skip rather than guess
            for i, (a, b) in enumerate(zip(src, tgt)):
                if 4 <= len(a.split()) <= 80 and 2 <= len(b.split()) <= 100:
                    rows.append((f"{en['package']}/{i}", en["package"], a, b))
        rows = dedupe(dedupe(rows, key=lambda r: r[2]), key=lambda r: r[0])
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for rid, pkg, a, b in rows:
            out[split_of(family_key(pkg), salt="debian")].append(
                Example(id=rid, input=a, references=[b]))
        return out


@register_task
class DebianEnDe(_DebianTranslation):
    """English description paragraph -> the German translation."""

    name = "debian-en-de"
    version = "1"
    description = "Debian description paragraphs, English to German (DDTP translations)"
    target_lang = "de"


@register_task
class DebianEnFr(_DebianTranslation):
    """English description paragraph -> the French translation."""

    name = "debian-en-fr"
    version = "1"
    description = "Debian description paragraphs, English to French (DDTP translations)"
    target_lang = "fr"
