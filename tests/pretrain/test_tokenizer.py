"""Tokenizer training, round trips, special tokens, save/load."""

from __future__ import annotations

import pytest

from harnesskit.errors import HarnessError
from pretrain.data.tokenizer import (
    load_tokenizer,
    save_tokenizer,
    special_ids,
    tokenizer_arch,
    tokenizer_sha,
    train_tokenizer,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "To be, or not to be, that is the question: whether 'tis nobler in the mind.",
    "Now is the winter of our discontent made glorious summer by this sun of York.",
    "Python's tokenizers split text into pieces; numbers like 3.14159 survive!",
] * 20


def test_gpt_bpe_round_trips_any_text_and_has_eos_at_zero():
    tok = train_tokenizer(TEXTS, "gpt", vocab_size=300)
    assert special_ids(tok) == {"eos": 0, "pad": 0}
    assert tok.get_vocab_size() <= 300
    for text in ["Hello,  world!\n\tTabs and  spaces ", "Grüße, 東京 🙂 naïve café"]:
        ids = tok.encode(text).ids
        assert 0 not in ids  # no special added when encoding plain text
        assert tok.decode(ids) == text
    assert tokenizer_arch(tok) == "gpt"


def test_bert_wordpiece_specials_and_post_processor():
    tok = train_tokenizer(TEXTS, "bert", vocab_size=200)
    ids = special_ids(tok)
    assert ids == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    enc = tok.encode("the question", "the dog")
    assert enc.ids[0] == 2 and enc.ids.count(3) == 2
    assert enc.type_ids[-1] == 1 and enc.type_ids[0] == 0
    assert tok.decode(tok.encode("The Quick Fox").ids) == "the quick fox"  # lowercased
    assert tokenizer_arch(tok) == "bert"


def test_save_load_and_sha_are_stable(tmp_path):
    tok = train_tokenizer(TEXTS, "gpt", vocab_size=280)
    path = save_tokenizer(tok, tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path)
    assert tokenizer_sha(again) == tokenizer_sha(tok) and len(tokenizer_sha(tok)) == 16
    assert again.encode("the lazy dog").ids == tok.encode("the lazy dog").ids
    path.write_text("{not json")
    with pytest.raises(HarnessError, match="cannot read tokenizer"):
        load_tokenizer(path)
    with pytest.raises(HarnessError, match="no tokenizer"):
        load_tokenizer(tmp_path / "missing")


def test_bad_arguments_are_user_errors():
    with pytest.raises(HarnessError, match="unknown arch"):
        train_tokenizer(TEXTS, "t5", vocab_size=300)
    with pytest.raises(HarnessError, match="too small"):
        train_tokenizer(TEXTS, "gpt", vocab_size=100)
    with pytest.raises(HarnessError, match="empty corpus"):
        train_tokenizer([], "gpt", vocab_size=300)



def test_wordpiece_is_identical_across_processes() -> None:
    """HF's WordPiece trainer breaks merge ties in hash order; ours must not vary by process."""
    import subprocess
    import sys

    code = (
        "import random, sys\n"
        "from pretrain.data.tokenizer import train_tokenizer\n"
        "rng = random.Random(0)\n"
        "words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9)))"
        " for _ in range(400)]\n"
        "w = [1 / (i + 1) for i in range(len(words))]\n"
        "texts = [' '.join(rng.choices(words, w, k=50)) for _ in range(400)]\n"
        "t = train_tokenizer(texts, 'bert', 300, min_frequency=2)\n"
        "sys.stdout.write(t.to_str())\n")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"HARNESS_QUIET": "1", "PATH": ""}).stdout
            for _ in range(4)]
    assert len(set(outs)) == 1
    assert '"##' in outs[0] and '"[MASK]":4' in outs[0].replace(" ", "")
