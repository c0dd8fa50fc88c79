"""Deduplication steps: exact documents, repeated paragraphs, and near duplicates.

Memory grows with the index (one 8-byte digest per document or paragraph, and
the LSH band keys of each kept document), never with the text itself.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pretrain.data.step import CleanConfig, Doc, Step, register_step

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


_SHIFT = np.uint64(32)
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy 2 renamed it
_CHUNK = 4096  # shingles per block, bounding the (num_perm, chunk) matrix


@dataclass(frozen=True)
class Signature:
    """A MinHash signature: one 32-bit minimum per permutation."""

    hashvalues: np.ndarray

    def __len__(self) -> int:
        return len(self.hashvalues)

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity: the share of equal minima."""
        return float(np.mean(self.hashvalues == other.hashvalues))


class MinHasher:
    """MinHash of word shingles, vectorised with numpy.

    Each word is hashed once (CRC-32 of its UTF-8, cached), a shingle's hash
    mixes its words' hashes, and permutation ``i`` is the multiply-add-shift hash
    ``((a_i * x + b_i) mod 2^64) >> 32`` (odd ``a_i``), with ``a_i`` and ``b_i``
    drawn from a fixed seed so that signatures are reproducible.
    """

    def __init__(self, num_perm: int, shingle: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(0, 1 << 63, size=(num_perm, 1), dtype=np.uint64) * np.uint64(2) + \
            np.uint64(1)
        self.b = rng.integers(0, 1 << 63, size=(num_perm, 1), dtype=np.uint64)
        self.shingle = shingle
        self._cache: dict[str, int] = {}

    def _word_ids(self, words: list[str]) -> np.ndarray:
        cache = self._cache
        if len(cache) > 2_000_000:  # bound the cache on huge vocabularies
            cache.clear()
        out = [cache.get(w) for w in words]
        for i, h in enumerate(out):
            if h is None:
                out[i] = cache[words[i]] = zlib.crc32(words[i].encode("utf-8"))
        return np.asarray(out, dtype=np.uint64)

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Distinct 32-bit hashes of the lowercased word shingles (empty if too short)."""
        words = _WORD.findall(text.lower())
        k = self.shingle
        if len(words) < k:
            return np.zeros(0, dtype=np.uint64)
        ids = self._word_ids(words)
        n = len(ids) - k + 1
        h = np.zeros(n, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(k):  # polynomial rolling combination, wrapping mod 2^64
                h = h * np.uint64(0x100000001B3) + ids[j:j + n]
            h ^= h >> np.uint64(29)
            h = (h * np.uint64(0xBF58476D1CE4E5B9)) >> np.uint64(32)
        return np.unique(h)

    def signature(self, text: str) -> Signature | None:
        """The MinHash signature of ``text`` (None when shorter than one shingle)."""
        x = self.shingle_hashes(text)
        if len(x) == 0:
            return None
        sig = np.full(len(self.a), np.iinfo(np.uint64).max, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for i in range(0, len(x), _CHUNK):
                # multiply-add-shift: ((a*x + b) mod 2^64) >> 32, a odd (Dietzfelbinger)
                perm = self.a * x[None, i:i + _CHUNK]
                perm += self.b  # in place: the matrix is the costly part
                perm >>= _SHIFT
                np.minimum(sig, perm.min(axis=1), out=sig)
        return Signature(sig)


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands ``b`` and rows ``r`` (``b*r <= num_perm``) minimising the sum of the false-positive
    and false-negative probability mass around ``threshold`` (as datasketch chooses them)."""
    lo, hi = np.linspace(0.0, threshold, 1001), np.linspace(threshold, 1.0, 1001)
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            # probability that a pair at similarity s shares a band: 1 - (1 - s^r)^b
            fp = _trapezoid(1.0 - (1.0 - lo**r) ** b, lo)
            fn = _trapezoid((1.0 - hi**r) ** b, hi)
            if fp + fn < best_err:
                best, best_err = (b, r), fp + fn
    return best


class BandIndex:
    """Banded LSH over MinHash signatures, kept small: per band a dict from the band's
    hash to the first document holding it, and all signatures in one uint32 matrix."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.b, self.r = lsh_params(threshold, num_perm)
        self.tables: list[dict[int, int | list[int]]] = [{} for _ in range(self.b)]
        self.sigs = np.zeros((1024, num_perm), dtype=np.uint32)
        self.n = 0

    def _bands(self, sig: np.ndarray) -> list[int]:
        r = self.r
        # Python's bytes hash is salted per process, but it is only compared within one.
        return [hash(sig[i * r:(i + 1) * r].tobytes()) for i in range(self.b)]

    def query(self, sig: np.ndarray) -> list[int]:
        """Indices of stored signatures sharing at least one band with ``sig``, in order."""
        found: set[int] = set()
        for table, key in zip(self.tables, self._bands(sig)):
            hit = table.get(key)
            if hit is not None:
                found.update(hit if isinstance(hit, list) else (hit,))
        return sorted(found)

    def insert(self, sig: np.ndarray) -> int:
        """Store ``sig``; returns its index."""
        if self.n == len(self.sigs):
            self.sigs = np.concatenate([self.sigs, np.zeros_like(self.sigs)])
        idx = self.n
        self.sigs[idx] = sig
        self.n += 1
        for table, key in zip(self.tables, self._bands(sig)):
            hit = table.get(key)
            if hit is None:
                table[key] = idx
            elif isinstance(hit, list):
                hit.append(idx)
            else:
                table[key] = [hit, idx]
        return idx


class NearDedup(Step):
    """MinHash over word shingles with an LSH index: drop a document similar to a kept one.

    Similarity is the Jaccard index of the sets of ``shingle``-word shingles
    (lowercased). Banded LSH (bands and rows chosen for the threshold, as
    datasketch does) proposes candidates among the kept documents; a candidate
    counts only if the signatures' estimated Jaccard reaches ``threshold``, which
    removes LSH's false positives. Documents shorter than one shingle are kept.
    Memory per kept document: its signature (4 bytes a permutation), one dict
    entry per band, and its id.
    """

    name = "near_dedup"

    def __init__(self, threshold: float, num_perm: int, shingle: int) -> None:
        super().__init__()
        self.threshold, self.num_perm, self.shingle = threshold, num_perm, shingle
        self.hasher = MinHasher(num_perm, shingle)
        self.index = BandIndex(threshold, num_perm)
        self.ids: list[str] = []
        self.extra = {"threshold": threshold, "num_perm": num_perm, "shingle_words": shingle,
                      "bands": self.index.b, "rows": self.index.r,
                      "lsh_candidates_rejected": 0, "examples": []}

    @property
    def n(self) -> int:
        """Documents in the index."""
        return self.index.n

    def process(self, doc: Doc) -> Doc | None:
        sig = self.hasher.signature(doc["text"])
        if sig is None:
            return doc
        values = sig.hashvalues.astype(np.uint32)
        candidates = self.index.query(values)
        if candidates:  # all candidates' estimated Jaccard at once; the first close one wins
            sims = (self.index.sigs[candidates] == values).mean(axis=1)
            close = np.flatnonzero(sims >= self.threshold)
            self.extra["lsh_candidates_rejected"] += int(close[0]) if len(close) else len(candidates)
            if len(close):
                if len(self.extra["examples"]) < 5:
                    self.extra["examples"].append({"removed": doc["id"],
                                                   "similar_to": self.ids[candidates[close[0]]],
                                                   "jaccard": round(float(sims[close[0]]), 3)})
                return None
        self.index.insert(values)
        self.ids.append(doc["id"])
        return doc


@register_step("exact_dedup", order=10)
def _exact_dedup(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return ExactDedup() if cfg.exact_dedup else None


@register_step("paragraph_dedup", order=20)
def _paragraph_dedup(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return ParagraphDedup(cfg.paragraph_min_chars) if cfg.paragraph_dedup else None


@register_step("near_dedup", order=50)
def _near_dedup(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return NearDedup(cfg.near_threshold, cfg.num_perm, cfg.shingle) if cfg.near_dedup else None
