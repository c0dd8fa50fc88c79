"""Deduplication steps: exact documents, repeated paragraphs, and near duplicates.

Memory grows with the index (one 8-byte digest per document or paragraph, and
the LSH band keys of each kept document), never with the text itself.
"""

from __future__ import annotations

import hashlib
import re

from pretrain.clean import Doc, Step

_WORD = re.compile(r"\w+", re.UNICODE)
_PARA = re.compile(r"\n\s*\n")


def _digest(text: str) -> bytes:
    """An 8-byte blake2b digest (collisions negligible below billions of items)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def fold(text: str) -> str:
    """Lowercase with whitespace runs folded to one space: what "the same text" means."""
    return " ".join(text.lower().split())


class ExactDedup(Step):
    """Drop a document whose folded text equals an earlier document's."""

    name = "exact_dedup"

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[bytes] = set()

    def process(self, doc: Doc) -> Doc | None:
        key = _digest(fold(doc["text"]))
        if key in self.seen:
            return None
        self.seen.add(key)
        return doc


class ParagraphDedup(Step):
    """Remove paragraphs of at least ``min_chars`` already seen in an earlier document.

    Short paragraphs (a speaker's "Exeunt.", a one-line heading) legitimately
    repeat; long repeated ones are boilerplate (licences, navigation, templates).
    A paragraph repeated inside its own document is kept the first time only.
    A document left with no text is dropped.
    """

    name = "paragraph_dedup"

    def __init__(self, min_chars: int) -> None:
        super().__init__()
        self.min_chars = min_chars
        self.seen: set[bytes] = set()
        self.extra = {"min_chars": min_chars, "paragraphs_removed": 0, "chars_removed": 0}

    def process(self, doc: Doc) -> Doc | None:
        kept: list[str] = []
        for para in _PARA.split(doc["text"]):
            if len(para) >= self.min_chars:
                key = _digest(fold(para))
                if key in self.seen:
                    self.extra["paragraphs_removed"] += 1
                    self.extra["chars_removed"] += len(para)
                    continue
                self.seen.add(key)
            kept.append(para)
        return {**doc, "text": "\n\n".join(kept)}


class NearDedup(Step):
    """MinHash over word shingles with an LSH index: drop a document similar to a kept one.

    Similarity is the Jaccard index of the sets of ``shingle``-word shingles
    (lowercased); a document whose estimated similarity to any earlier kept
    document reaches ``threshold`` is a near duplicate. LSH (datasketch) picks
    bands and rows for the threshold, so lookups stay fast as the index grows.
    Documents shorter than one shingle are kept (nothing to compare).
    """

    name = "near_dedup"

    def __init__(self, threshold: float, num_perm: int, shingle: int) -> None:
        from datasketch import MinHashLSH

        super().__init__()
        self.threshold, self.num_perm, self.shingle = threshold, num_perm, shingle
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.n = 0
        self.extra = {"threshold": threshold, "num_perm": num_perm, "shingle_words": shingle,
                      "examples": []}

    def minhash(self, text: str):  # type: ignore[no-untyped-def]
        """The MinHash signature of ``text``'s word shingles (None when too short)."""
        from datasketch import MinHash

        words = _WORD.findall(text.lower())
        if len(words) < self.shingle:
            return None
        k = self.shingle
        shingles = {" ".join(words[i:i + k]).encode("utf-8") for i in range(len(words) - k + 1)}
        m = MinHash(num_perm=self.num_perm, seed=1)
        m.update_batch(list(shingles))
        return m

    def process(self, doc: Doc) -> Doc | None:
        m = self.minhash(doc["text"])
        if m is None:
            return doc
        hits = self.lsh.query(m)
        if hits:
            if len(self.extra["examples"]) < 5:
                self.extra["examples"].append({"removed": doc["id"], "similar_to": hits[0]})
            return None
        # LSH keys must be unique; the running number guards against repeated ids.
        self.n += 1
        self.lsh.insert(f"{doc['id']}#{self.n}" if doc["id"] in self.lsh else doc["id"], m)
        return doc
