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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from harnesskit.errors import HarnessError

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
    if arch == "gpt":
        tok, trainer = _gpt(vocab_size, min_frequency)
        tok.train_from_iterator(counted, trainer=trainer)
    else:
        tok = _bert()
        _train_wordpiece(tok, counted, vocab_size, min_frequency)
    if counted.n == 0:
        raise HarnessError("cannot train a tokenizer on an empty corpus",
                           hint="check the corpus has documents (harness data report DIR)")
    return tok


# Word-internal characters are moved to Unicode's supplementary private-use planes
# (15 and 16) while training, so that "continues a word" is part of the symbol itself.
_PUA = 0xF0000


def _mark(word: str) -> str:
    return word[:1] + "".join(chr(_PUA + ord(c)) if ord(c) <= 0x1FFFD else c for c in word[1:])


def _unmark(token: str) -> str:
    out = "".join(chr(ord(c) - _PUA) if ord(c) >= _PUA else c for c in token)
    return "##" + out if ord(token[0]) >= _PUA else out


def _train_wordpiece(tok: Tokenizer, texts: Iterable[str], vocab_size: int,
                     min_frequency: int) -> None:
    """Train the WordPiece vocabulary of ``tok`` deterministically.

    Hugging Face's WordPiece trainer adds the ``##`` continuation pieces while
    walking a Rust hash map, so their ids, and with them the tie-breaking
    between equally frequent merges, change from process to process: the same
    corpus gave a different vocabulary on every run. The WordPiece trainer is a
    BPE trainer with a continuation prefix, so we run the (deterministic) BPE
    trainer on the normalised, pre-tokenised words with each word-internal
    character marked as a distinct symbol, map the learned tokens back
    (a token starting with a marked character becomes ``##...``), and number
    them: specials first, then code-point order. Segmentation is WordPiece's
    greedy longest match, exactly as with the stock trainer's vocabulary.
    """
    from tokenizers import Tokenizer as _Tok
    from tokenizers import models, pre_tokenizers, trainers

    def words() -> Iterator[str]:
        for text in texts:
            if not text:
                continue
            norm = tok.normalizer.normalize_str(text)
            yield " ".join(_mark(w) for w, _ in tok.pre_tokenizer.pre_tokenize_str(norm))

    bpe = _Tok(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(BERT_SPECIALS),
                                  show_progress=_show_progress())
    bpe.train_from_iterator(words(), trainer=trainer)
    learned = {_unmark(t) for t in bpe.get_vocab() if t not in BERT_SPECIALS}
    ordered = {t: i for i, t in enumerate([*BERT_SPECIALS, *sorted(learned)])}
    tok.model = models.WordPiece(vocab=ordered, unk_token="[UNK]", continuing_subword_prefix="##")
    tok.add_special_tokens(list(BERT_SPECIALS))  # as the trainer does: kept whole, skipped on decode


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
    """The trainer's own progress bars: off under --quiet, on non-zero ranks, and unless
    both stdout and stderr are terminals (off a terminal the trainer writes blank lines
    to stdout, which must hold results only)."""
    import sys

    from harnesskit.progress import on_terminal, quiet

    return not quiet() and on_terminal(sys.stdout) and on_terminal(sys.stderr)


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


def _bert() -> Tokenizer:
    """An untrained BERT tokenizer: lowercasing normaliser, pre-tokenizer, decoder, template.

    Its WordPiece vocabulary comes from :func:`_train_wordpiece`, which puts the
    specials first, so ``[CLS]`` and ``[SEP]`` have the ids the template names.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", BERT_SPECIALS.index("[CLS]")),
                        ("[SEP]", BERT_SPECIALS.index("[SEP]"))])
    return tok


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
