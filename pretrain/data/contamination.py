"""Test-set contamination: documents that share a long n-gram with a task's test texts.

As in GPT-3 (Brown et al. 2020, appendix C), text is lowercased and split into
words (punctuation dropped), and two texts overlap when they share an n-gram of
``n`` words (13 by default). Test texts shorter than ``n`` words are compared on
their whole word sequence when they have at least 8 words (shorter ones are skipped).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harnesskit.errors import HarnessError
from pretrain.data.step import CleanConfig, Doc, Step, register_step

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lowercased words, punctuation dropped."""
    return _WORD.findall(text.lower())


def _key(gram: list[str]) -> bytes:
    return hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest()


@dataclass
class TestIndex:
    """The n-grams of a test set, each mapped to the first test text holding it."""

    n: int
    grams: dict[bytes, int] = field(default_factory=dict)
    short: dict[bytes, int] = field(default_factory=dict)  # texts under n words, whole
    short_lengths: set[int] = field(default_factory=set)

    @classmethod
    def build(cls, test_texts: Iterable[str], n: int = 13) -> TestIndex:
        index = cls(n=n)
        for i, text in enumerate(test_texts):
            w = words(text)
            if len(w) < n:
                # Very short test texts (a label, a one-word answer) would match
                # everywhere; only those of at least 8 words are compared whole.
                if len(w) >= min(8, n):
                    index.short.setdefault(_key(w), i)
                    index.short_lengths.add(len(w))
                continue
            for j in range(len(w) - n + 1):
                index.grams.setdefault(_key(w[j:j + n]), i)
        return index

    def hits(self, text: str) -> tuple[int, set[int]]:
        """(shared n-grams, indices of the test texts they belong to) for one document."""
        w = words(text)
        shared, tests = 0, set()
        for j in range(len(w) - self.n + 1):
            i = self.grams.get(_key(w[j:j + self.n]))
            if i is not None:
                shared += 1
                tests.add(i)
        for length in self.short_lengths:
            for j in range(len(w) - length + 1):
                i = self.short.get(_key(w[j:j + length]))
                if i is not None:
                    shared += 1
                    tests.add(i)
        return shared, tests


def find_contamination(docs: Iterable[Doc | str], test_texts: Iterable[str],
                       n: int = 13) -> list[dict]:
    """Documents sharing an ``n``-gram with any test text.

    Returns one ``{"id", "shared_ngrams", "test_items"}`` per contaminated
    document (``test_items``: sorted indices into ``test_texts``).
    """
    index = TestIndex.build(test_texts, n)
    found: list[dict] = []
    for k, doc in enumerate(docs):
        text, ident = (doc, str(k)) if isinstance(doc, str) else (doc["text"], doc["id"])
        shared, tests = index.hits(text)
        if shared:
            found.append({"id": ident, "shared_ngrams": shared, "test_items": sorted(tests)})
    return found


class Decontaminate(Step):
    """Drop documents sharing an n-gram with the given test texts; record which."""

    name = "decontaminate"

    def __init__(self, test_texts: list[str], n: int = 13) -> None:
        super().__init__()
        self.index = TestIndex.build(test_texts, n)
        self.tests_hit: set[int] = set()
        self.shared = 0
        self.extra = {"n": n, "test_texts": len(test_texts), "examples": []}

    def process(self, doc: Doc) -> Doc | None:
        shared, tests = self.index.hits(doc["text"])
        if not shared:
            return doc
        self.shared += shared
        self.tests_hit |= tests
        if len(self.extra["examples"]) < 10:
            self.extra["examples"].append({"id": doc["id"], "shared_ngrams": shared})
        return None

    def summary(self) -> dict:
        out = super().summary()
        out.update(shared_ngrams=self.shared, test_texts_hit=len(self.tests_hit))
        return out


def load_test_texts(spec: str,
                    task_texts: Callable[[str], list[str] | None] | None = None) -> list[str]:
    """Test texts from a ``.jsonl`` (field ``text``, else ``input``) or ``.txt`` (one a line) file,
    or, through ``task_texts`` (a task name -> its test texts, ``None`` if unknown; given by
    the layer that knows tasks), from a task's test split."""
    path = Path(spec).expanduser()
    if path.is_file():
        return _texts_from_file(path)
    texts = task_texts(spec) if task_texts is not None else None
    if texts is not None:
        return texts
    raise HarnessError(f"--decontaminate {spec!r} is neither a file nor a known task",
                       hint="give a .jsonl/.txt file of test texts or a task name (harness tasks list)")


def _texts_from_file(path: Path) -> list[str]:
    import json

    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix != ".jsonl":
        return [ln for ln in lines if ln.strip()]
    texts = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise HarnessError(f"{path}:{lineno} is not valid JSON",
                               hint="one JSON object per line with a text field") from None
        text = row.get("text", row.get("input")) if isinstance(row, dict) else row
        if isinstance(text, str):
            texts.append(text)
    return texts


@register_step("decontaminate", order=60)
def _decontaminate(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return Decontaminate(test_texts, cfg.decontaminate_n) if test_texts else None
