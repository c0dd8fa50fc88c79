"""Data for the trainer: the corpus's tokenizer and shards, training batches, validation windows.

Training windows come from :class:`pretrain.data.shards.ShardReader` (random starts,
a global cursor, exact resume). Validation uses fixed, non-overlapping windows
of the val stream so that every evaluation scores the same tokens and the final
one can score all of them once. Bits per byte need the UTF-8 length of every
target token: exact for a byte-level BPE, where each character of a vocabulary
entry stands for one byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harnesskit.errors import HarnessError
from pretrain.engine.plugins import architecture
from pretrain.engine.presets import RunConfig


@dataclass(frozen=True)
class Data:
    """A corpus ready for training: tokenizer, its shard folder, and provenance."""

    corpus_dir: Path
    tokenizer: Any
    shard_dir: Path
    provenance: dict


def tokenizer_for(corpus_dir: Path, cfg: RunConfig) -> Any:
    """The corpus's tokenizer if it fits ``cfg`` (the arch's tokenizer family, vocab size),
    else one trained and cached.

    Trained tokenizers are cached in ``corpus_dir/tokenizers/`` so a second run
    (or another rank) reuses them.
    """
    from pretrain.data.corpus import iter_documents
    from pretrain.data.tokenizer import (
        load_tokenizer,
        save_tokenizer,
        tokenizer_arch,
        train_tokenizer,
    )

    arch, vocab = architecture(cfg.model.arch).tokenizer, cfg.tokenizer.vocab_size
    default = corpus_dir / "tokenizer.json"
    if default.is_file():
        tok = load_tokenizer(default)
        if tokenizer_arch(tok) == arch and tok.get_vocab_size() == vocab:
            return tok
    cached = corpus_dir / "tokenizers" / f"{arch}-v{vocab}-f{cfg.tokenizer.min_frequency}.json"
    if cached.is_file():
        return load_tokenizer(cached)
    texts = (d["text"] for d in iter_documents(corpus_dir, "train"))
    tok = train_tokenizer(texts, arch, vocab, cfg.tokenizer.min_frequency)
    save_tokenizer(tok, cached)
    return tok


def prepare(corpus: str, cfg: RunConfig, tokenizer: Any = None) -> Data:
    """Build or find the corpus, pick or train the tokenizer, write the shards."""
    from harnesskit.paths import data_home
    from pretrain.data.corpus import ensure_corpus
    from pretrain.data.shards import write_shards
    from pretrain.data.tokenizer import tokenizer_arch, tokenizer_sha

    corpus_dir = ensure_corpus(corpus, data_home() / "corpora")
    family = architecture(cfg.model.arch).tokenizer  # gpt (byte BPE) or bert (WordPiece)
    if tokenizer is None:
        tokenizer = tokenizer_for(corpus_dir, cfg)
    elif tokenizer_arch(tokenizer) != family:
        raise HarnessError(f"the teacher's tokenizer is for {tokenizer_arch(tokenizer)}, "
                           f"not {cfg.model.arch}", hint="distil into the teacher's arch")
    shard_dir = write_shards(corpus_dir, tokenizer, family)
    meta = json.loads((shard_dir / "meta.json").read_text())
    provenance = {"corpus": corpus, "corpus_dir": str(corpus_dir.resolve()),
                  "shards": str(shard_dir.relative_to(corpus_dir)),
                  "tokenizer_sha": tokenizer_sha(tokenizer), "n_tokens": meta["n_tokens"]}
    return Data(corpus_dir=corpus_dir, tokenizer=tokenizer, shard_dir=shard_dir,
                provenance=provenance)


def byte_lengths(tokenizer: Any, vocab_size: int) -> np.ndarray | None:
    """UTF-8 bytes per token id for a byte-level BPE (specials: 0); None for other tokenizers."""
    pre = json.loads(tokenizer.to_str()).get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel":
        return None
    table = np.zeros(vocab_size, dtype=np.int64)
    specials = {t.content for t in tokenizer.get_added_tokens_decoder().values()}
    for token, idx in tokenizer.get_vocab().items():
        if idx < vocab_size and token not in specials:
            table[idx] = len(token)  # byte-level alphabet: one character per byte
    return table


def val_windows(shard_dir: Path, block_size: int, limit: int | None, rank: int = 0,
                world_size: int = 1) -> Iterator[np.ndarray]:
    """Non-overlapping (block_size + 1)-token windows of the val stream, this rank's share.

    Window k starts at k * block_size, so every token after the first is a target
    exactly once. ``limit`` caps the number of windows (spread evenly over the
    split so a short evaluation still samples all of it).
    """
    from pretrain.data.shards import open_shards

    tokens = open_shards(shard_dir).val
    n = (len(tokens) - 1) // block_size
    if n < 1:
        raise HarnessError(f"the val split of {shard_dir} is shorter than one block "
                           f"({block_size + 1} tokens)", hint="use a smaller model.block_size")
    picks = np.arange(n) if limit is None or limit >= n else \
        np.linspace(0, n - 1, limit).round().astype(np.int64)
    for k in picks[rank::world_size]:
        yield np.asarray(tokens[k * block_size:k * block_size + block_size + 1], dtype=np.int64)


def batched(windows: Iterator[np.ndarray], batch: int) -> Iterator[np.ndarray]:
    """Group windows into arrays of at most ``batch`` rows."""
    rows: list[np.ndarray] = []
    for w in windows:
        rows.append(w)
        if len(rows) == batch:
            yield np.stack(rows)
            rows = []
    if rows:
        yield np.stack(rows)
