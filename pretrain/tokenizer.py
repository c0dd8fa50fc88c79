"""Tokenizers trained with Hugging Face ``tokenizers``: byte-level BPE or WordPiece.

``gpt`` gets a byte-level BPE (GPT-2 style: every byte is in the alphabet, so
any text round-trips exactly) with one special token, ``<|endoftext|>`` at id 0,
used both as end-of-document and as padding. ``bert`` gets a lowercasing
WordPiece with ``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4`` and BERT's
``[CLS] A [SEP] (B [SEP])`` post-processor. Both are saved as one
``tokenizer.json`` that ``transformers`` can load too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pretrain.errors import HarnessError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tokenizers import Tokenizer

EOS = "<|endoftext|>"
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_SPECIAL_NAMES = {
    "eos": EOS, "pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]",
}


def train_tokenizer(texts: Iterable[str], arch: str, vocab_size: int,
                    min_frequency: int = 2) -> Tokenizer:
    """Train a tokenizer for ``arch`` ("gpt": byte-level BPE, "bert": WordPiece) on ``texts``.

    ``vocab_size`` counts the special tokens. Raises :class:`HarnessError` for an
    unknown arch, a vocabulary too small for the byte alphabet, or no text at all.
    """
    if arch not in ("gpt", "bert"):
        raise HarnessError(f"unknown arch {arch!r} for the tokenizer", hint="choose gpt or bert")
    if arch == "gpt" and vocab_size < 257:
        raise HarnessError(f"vocab_size {vocab_size} is too small for a byte-level BPE",
                           hint="use at least 257 (256 bytes + <|endoftext|>)")
    if vocab_size < 16:
        raise HarnessError(f"vocab_size {vocab_size} is too small", hint="use at least 64")
    counted = _CountingIter(texts)
    tok, trainer = _gpt(vocab_size, min_frequency) if arch == "gpt" else _bert(vocab_size,
                                                                               min_frequency)
    tok.train_from_iterator(counted, trainer=trainer)
    if counted.n == 0:
        raise HarnessError("cannot train a tokenizer on an empty corpus",
                           hint="check the corpus has documents (harness data report DIR)")
    return tok


class _CountingIter:
    """Wraps an iterable of texts, counting the non-empty ones seen."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._it = iter(texts)
        self.n = 0

    def __iter__(self) -> _CountingIter:
        return self

    def __next__(self) -> str:
        text = next(self._it)
        if text:
            self.n += 1
        return text


def _show_progress() -> bool:
    """The trainer's own progress bars, off under --quiet and on non-zero ranks."""
    return not (os.environ.get("HARNESS_QUIET") == "1" or os.environ.get("RANK", "0") != "0")


def _gpt(vocab_size: int, min_frequency: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps offsets pointing at the exact bytes (spaces included).
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=_show_progress())
    return tok, trainer


def _bert(vocab_size: int, min_frequency: int):  # type: ignore[no-untyped-def]
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    # Special ids are fixed by their order in the trainer's list.
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency,
        special_tokens=list(BERT_SPECIALS), show_progress=_show_progress())
    return tok, trainer


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a ``tokenizer.json`` (or the one inside a directory); clear error if absent or bad."""
    from tokenizers import Tokenizer

    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise HarnessError(f"no tokenizer at {path}",
                           hint="build a corpus (harness data build) or give a tokenizer.json")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
        raise HarnessError(f"cannot read tokenizer {path}: {exc}",
                           hint="the file is corrupt; delete it and rebuild") from None


def special_ids(tok: Tokenizer) -> dict[str, int]:
    """Ids of the special tokens this tokenizer has: keys among eos, pad, unk, cls, sep, mask.

    For the byte-level BPE, ``pad`` is ``<|endoftext|>`` (GPT-2 has no pad token).
    """
    out: dict[str, int] = {}
    for key, token in _SPECIAL_NAMES.items():
        idx = tok.token_to_id(token)
        if idx is not None:
            out[key] = idx
    if "eos" in out and "pad" not in out:
        out["pad"] = out["eos"]
    return out


def tokenizer_arch(tok: Tokenizer) -> str:
    """``gpt`` when the tokenizer has ``<|endoftext|>``, ``bert`` when it has ``[CLS]``."""
    if tok.token_to_id(EOS) is not None:
        return "gpt"
    if tok.token_to_id("[CLS]") is not None:
        return "bert"
    raise HarnessError("tokenizer has neither <|endoftext|> nor [CLS]",
                       hint="train one with harness data build or pretrain")


def tokenizer_sha(tok: Tokenizer) -> str:
    """16 hex digits of the sha256 of the tokenizer's canonical JSON."""
    return hashlib.sha256(tok.to_str().encode("utf-8")).hexdigest()[:16]


def save_tokenizer(tok: Tokenizer, path: Path) -> Path:
    """Write ``tok`` to ``path`` atomically (temporary sibling, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tok.save(str(tmp))
    os.replace(tmp, path)
    return path
