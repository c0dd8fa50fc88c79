"""Offline multiple-choice and cloze tasks from installed text (DATA.md).

``wordnet-gloss``: a WordNet 3.0 definition (Debian's ``wordnet-base``) with the
word it defines among three other words of the same part of speech.
``debian-section-choice``: a Debian package description with its archive
section among three other frequent sections. ``shakespeare-cloze``: the last
word of passages of held-out Shakespeare scenes (LAMBADA style: the corpus
builder's validation documents are the test split, so a model pretrained on
the corpus has not seen them).

Distractors are drawn with a generator seeded by the example id, so the data
is the same on every machine with the same installed text.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

from tasks.base import SPLITS, ClozeTask, Example, MultipleChoiceTask
from tasks.builtin.lm import corpus_available, corpus_dir
from tasks.data import split_of
from tasks.registry import register_task

WORDNET = Path("/usr/share/wordnet")
POS_FILES = {"noun": "data.noun", "verb": "data.verb", "adj": "data.adj", "adv": "data.adv"}
N_CHOICES = 4
KEEP_ONE_IN = 8  # WordNet has 117k synsets: keep a deterministic eighth (about 9k questions)


def _rng(key: str) -> random.Random:
    return random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))


def read_wordnet(root: Path = WORDNET) -> dict[str, list[tuple[str, str, list[str]]]]:
    """(offset, gloss, lemmas) per part of speech from WordNet's ``data.*`` files."""
    out: dict[str, list[tuple[str, str, list[str]]]] = {}
    for pos, name in POS_FILES.items():
        rows = []
        for line in (root / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" ") or "|" not in line:
                continue  # the licence header
            head, gloss = line.split("|", 1)
            f = head.split()
            n_words = int(f[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in f[4:4 + 2 * n_words:2]]
            definition = gloss.split(";")[0].strip()
            rows.append((f[0], definition, lemmas))
        out[pos] = rows
    return out


@register_task
class WordnetGloss(MultipleChoiceTask):
    """A WordNet definition -> the word it defines, among words of the same part of speech."""

    name = "wordnet-gloss"
    version = "1"
    description = "WordNet 3.0 definitions -> the defined word among 4 of the same part of speech"
    source = "wordnet-base (/usr/share/wordnet/data.*)"

    def available(self) -> tuple[bool, str]:
        return self.needs((WORDNET / "data.noun").is_file(),
                          "needs Debian's wordnet-base (/usr/share/wordnet; make setup)")

    def prompt(self, ex: Example) -> str:
        assert isinstance(ex.input, dict)
        return f"Definition: {ex.input['question']}\nWord:"

    def build(self) -> dict[str, list[Example]]:
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for pos, rows in read_wordnet().items():
            pool = sorted({ls[0] for _, _, ls in rows if ls[0].isalpha()})
            for offset, gloss, lemmas in rows:
                word = lemmas[0]
                key = f"{pos}:{offset}"
                if (not word.isalpha() or len(gloss.split()) < 4
                        or int(hashlib.sha256(key.encode()).hexdigest(), 16) % KEEP_ONE_IN):
                    continue
                rng = _rng(key)
                others: list[str] = []
                while len(others) < N_CHOICES - 1:
                    w = pool[rng.randrange(len(pool))]
                    if w not in lemmas and w not in others:
                        others.append(w)
                gold = rng.randrange(N_CHOICES)
                choices = others[:gold] + [word] + others[gold:]
                out[split_of(word.lower(), salt="wordnet")].append(  # a word in one split only
                    Example(id=key, input={"question": gloss, "choices": choices},
                            references=[str(gold)], label=str(gold)))
        return out


@register_task
class DebianSectionChoice(MultipleChoiceTask):
    """A package description -> its archive section among four frequent sections."""

    name = "debian-section-choice"
    version = "1"
    description = "Debian package descriptions -> the section among 4 (top sections)"
    source = "apt Translation-en lists (pretrain.data.debian), via debian-section"
    max_words = 80

    def available(self) -> tuple[bool, str]:
        from tasks.builtin.debian import DebianSection

        return DebianSection().available()

    def prompt(self, ex: Example) -> str:
        assert isinstance(ex.input, dict)
        return f"{ex.input['question']}\nSection:"

    def build(self) -> dict[str, list[Example]]:
        from tasks.builtin.debian import DebianSection

        base = DebianSection()
        sections = base.labels()
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for split in SPLITS:
            for ex in base.examples(split):
                rng = _rng(f"debian:{ex.id}")
                others = rng.sample([s for s in sections if s != ex.label], N_CHOICES - 1)
                gold = rng.randrange(N_CHOICES)
                choices = others[:gold] + [str(ex.label)] + others[gold:]
                text = " ".join(str(ex.input).split()[: self.max_words])
                out[split].append(Example(id=ex.id, input={"question": text, "choices": choices},
                                          references=[str(gold)], label=str(gold)))
        return out


_LAST_WORD = re.compile(r"^(.*\S)\s+([A-Za-z]{3,})[.!?;:,]?$", re.S)


def cloze_passages(text: str, *, min_words: int = 40, max_words: int = 80) -> list[tuple[str, str]]:
    """(context, last word) passages of ``text``: runs of whole lines of 40-80 words whose
    last word (3+ letters, trailing punctuation dropped) is the target."""
    out, buf = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        buf.append(" ".join(line.split()))
        words = sum(len(b.split()) for b in buf)
        if words >= min_words:
            m = _LAST_WORD.match(" ".join(buf))
            if m and words <= max_words:
                out.append((m.group(1), m.group(2)))
            buf = []
    return out


@register_task
class ShakespeareCloze(ClozeTask):
    """The last word of passages of held-out Shakespeare scenes (LAMBADA style)."""

    name = "shakespeare-cloze"
    version = "1"
    description = "Shakespeare corpus, held-out scenes: predict a passage's last word"
    source = "corpus:shakespeare (val.jsonl = test, train.jsonl sample = train)"
    corpus = "shakespeare"
    max_train = 2000

    def available(self) -> tuple[bool, str]:
        return corpus_available(self.corpus)

    def build(self) -> dict[str, list[Example]]:
        from pretrain.data.corpus import iter_documents

        root = corpus_dir(self.corpus)
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for split, corpus_split in (("test", "val"), ("train", "train")):
            for d in iter_documents(root, corpus_split):
                for k, (ctx, word) in enumerate(cloze_passages(d["text"])):
                    out[split].append(Example(id=f"{d['id']}/{k}", input=ctx, references=[word]))
                if split == "train" and len(out["train"]) >= self.max_train:
                    break
        return out
