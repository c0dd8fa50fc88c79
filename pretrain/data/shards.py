"""Token shards: a corpus tokenized into memory-mapped integer arrays, and a resumable reader.

Layout under ``<corpus>/shards/<tokenizer-sha16>/``::

    train.bin, val.bin              the token stream of each split (uint16 if the vocab fits)
    train.docs.npy, val.docs.npy    int64 offset of each document's first token
    meta.json                       dtype, n_tokens, n_docs, tokenizer sha, vocab size, arch

``gpt`` streams are ``doc eos doc eos ...``; ``bert`` streams are
``[CLS] doc [SEP] [CLS] doc [SEP] ...``. The folder is written to a temporary
sibling and renamed, so a reader never sees half a shard.

:class:`ShardReader` draws training windows; see its docstring for the order.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harnesskit.errors import HarnessError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from tokenizers import Tokenizer

SPLITS = ("train", "val")
_ENCODE_BATCH = 256
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def write_shards(corpus_dir: str | Path, tok: Tokenizer, arch: str) -> Path:
    """Tokenize ``train.jsonl``/``val.jsonl`` of ``corpus_dir`` into ``shards/<sha16>/``.

    Returns the shard folder. Idempotent: an existing complete folder for the same
    tokenizer is reused. Raises :class:`HarnessError` when a split has no tokens.
    """
    from pretrain.data.docs import iter_documents
    from pretrain.data.tokenizer import special_ids, tokenizer_sha

    corpus_dir = Path(corpus_dir)
    sha = tokenizer_sha(tok)
    final = corpus_dir / "shards" / sha
    if (final / "meta.json").is_file():
        return final
    ids = special_ids(tok)
    if arch == "gpt":
        prefix, suffix = [], [ids["eos"]]
    elif arch == "bert":
        prefix, suffix = [ids["cls"]], [ids["sep"]]
    else:
        raise HarnessError(f"unknown arch {arch!r}", hint="choose gpt or bert")
    vocab = tok.get_vocab_size()
    dtype = np.uint16 if vocab <= 65535 else np.uint32
    tmp = final.with_name(f".{sha}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta: dict[str, Any] = {"format": 1, "dtype": np.dtype(dtype).name, "tokenizer_sha": sha,
                            "vocab_size": vocab, "arch": arch, "n_tokens": {}, "n_docs": {}}
    try:
        for split in SPLITS:
            texts = (d["text"] for d in iter_documents(corpus_dir, split))
            total = _count_lines(corpus_dir / f"{split}.jsonl")
            n_tok, n_doc = _write_split(tmp, split, texts, tok, prefix, suffix, dtype, total)
            if n_tok == 0:
                raise HarnessError(f"the {split} split of {corpus_dir} has no tokens",
                                   hint="rebuild the corpus with more text")
            meta["n_tokens"][split], meta["n_docs"][split] = n_tok, n_doc
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        try:
            os.replace(tmp, final)
        except OSError:  # another process (a DDP rank) finished first: keep theirs
            if not (final / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _write_split(folder: Path, split: str, texts: Iterator[str], tok: Tokenizer,
                 prefix: list[int], suffix: list[int], dtype: Any,
                 total: int | None = None) -> tuple[int, int]:
    """Stream-encode ``texts`` in batches into ``{split}.bin``; returns (tokens, docs)."""
    from harnesskit.progress import bar as progress_bar

    bar = progress_bar(desc=f"tokenizing {split}", unit="doc", total=total)
    starts: list[int] = []
    n = 0
    texts = iter(texts)
    with bar, open(folder / f"{split}.bin", "wb") as fh:
        while batch := list(itertools.islice(texts, _ENCODE_BATCH)):
            for enc in tok.encode_batch(batch, add_special_tokens=False):
                row = np.asarray(prefix + enc.ids + suffix, dtype=dtype)
                starts.append(n)
                n += len(row)
                fh.write(row.tobytes())
            bar.update(len(batch))
    np.save(folder / f"{split}.docs.npy", np.asarray(starts, dtype=np.int64))
    return n, len(starts)


@dataclass(frozen=True)
class Shards:
    """Opened shards: ``train``/``val`` token memmaps, per-split doc offsets, and meta."""

    path: Path
    train: np.ndarray
    val: np.ndarray
    docs: dict[str, np.ndarray]
    meta: dict[str, Any]

    def split(self, name: str) -> np.ndarray:
        """The token array of ``name`` ("train" or "val")."""
        if name not in SPLITS:
            raise HarnessError(f"unknown split {name!r}", hint="use train or val")
        return self.train if name == "train" else self.val


def open_shards(shard_dir: str | Path) -> Shards:
    """Memory-map a shard folder written by :func:`write_shards`; checks sizes against meta."""
    shard_dir = Path(shard_dir)
    meta_path = shard_dir / "meta.json"
    if not meta_path.is_file():
        raise HarnessError(f"no shards at {shard_dir} (meta.json missing)",
                           hint="build them with harness data build or harness pretrain")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{meta_path} is not valid JSON ({exc})",
                           hint="delete the shard folder and rebuild") from None
    dtype = np.dtype(meta["dtype"])
    arrays: dict[str, np.ndarray] = {}
    docs: dict[str, np.ndarray] = {}
    for split in SPLITS:
        path = shard_dir / f"{split}.bin"
        expected = int(meta["n_tokens"][split])
        if not path.is_file() or path.stat().st_size != expected * dtype.itemsize:
            raise HarnessError(f"shard {path} is missing or truncated",
                               hint="delete the shard folder and rebuild")
        arrays[split] = np.memmap(path, dtype=dtype, mode="r", shape=(expected,))
        docs[split] = np.load(shard_dir / f"{split}.docs.npy")
    return Shards(path=shard_dir, train=arrays["train"], val=arrays["val"], docs=docs, meta=meta)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A counter-based 64-bit hash (SplitMix64), vectorised; same numbers on every platform."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


class ShardReader:
    """Random training windows of ``block_size + 1`` tokens, deterministic and resumable.

    Order. The reader defines one infinite, fixed sequence of windows
    ``W_0, W_1, ...`` for a given (shards, split, block_size, seed): window ``g``
    starts at ``splitmix64(seed, g) mod (n_tokens - block_size)`` (random starts
    with replacement, as nanoGPT samples). ``batch_size`` is the per-process
    batch; one call of :meth:`next_batch` is one step of the *global* batch of
    ``batch_size * world_size`` windows ``W_c .. W_{c+bW-1}``, of which rank ``r``
    returns rows ``[r*b, (r+1)*b)``; the global cursor ``c`` then advances by
    ``b*W``. So two processes with b=16 see exactly the windows one process with
    b=32 (or two calls with b=16) sees, and gradient accumulation in micro
    batches reads the same windows in the same order.

    Resume. :meth:`state_dict` holds the global cursor (plus what it depends on);
    :meth:`load_state_dict` restores it, so the next batch starts at the same
    token. The cursor is global, so a run may resume with a different world size
    as long as ``batch_size * world_size`` covers the same windows.
    """

    def __init__(self, shard_dir: str | Path, split: str, block_size: int, batch_size: int,
                 seed: int, rank: int = 0, world_size: int = 1) -> None:
        if block_size < 1 or batch_size < 1:
            raise HarnessError("block_size and batch_size must be at least 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise HarnessError(f"rank {rank} is outside world_size {world_size}")
        self.shards = open_shards(shard_dir)
        self.tokens = self.shards.split(split)
        self.split, self.block_size, self.batch_size = split, block_size, batch_size
        self.seed, self.rank, self.world_size = int(seed), rank, world_size
        self.span = len(self.tokens) - block_size  # number of valid window starts
        if self.span < 1:
            raise HarnessError(
                f"the {split} split has {len(self.tokens)} tokens, fewer than block_size+1 "
                f"({block_size + 1})", hint="use a smaller model.block_size or a larger corpus")
        self.cursor = 0
        self._key = _splitmix64(np.asarray([self.seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]

    def starts(self, first: int, count: int) -> np.ndarray:
        """Start offsets of windows ``first .. first+count-1`` of the global sequence."""
        g = np.arange(first, first + count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _splitmix64(g ^ self._key)
        return (h % np.uint64(self.span)).astype(np.int64)

    def next_batch(self) -> torch.Tensor:
        """This rank's ``(batch_size, block_size + 1)`` LongTensor of the next global step."""
        import torch

        first = self.cursor + self.rank * self.batch_size
        starts = self.starts(first, self.batch_size)
        rows = np.stack([self.tokens[s:s + self.block_size + 1] for s in starts]).astype(np.int64)
        self.cursor += self.batch_size * self.world_size
        return torch.from_numpy(rows)

    def state_dict(self) -> dict[str, Any]:
        """The cursor and what its meaning depends on (JSON-serialisable)."""
        return {"version": 1, "split": self.split, "cursor": self.cursor, "seed": self.seed,
                "block_size": self.block_size, "n_tokens": int(len(self.tokens)),
                "tokenizer_sha": self.shards.meta.get("tokenizer_sha")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a cursor saved by :meth:`state_dict`; mismatched shards are an error."""
        current = self.state_dict()
        for key in ("split", "seed", "block_size", "n_tokens", "tokenizer_sha"):
            mine = current[key]
            if key in state and state[key] != mine:
                raise HarnessError(
                    f"data cursor does not match these shards: {key} was {state[key]!r}, "
                    f"now {mine!r}", hint="resume with the same corpus, tokenizer and config")
        self.cursor = int(state["cursor"])
