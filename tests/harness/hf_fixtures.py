"""A tiny real transformers encoder folder for the hf: tests (random weights, WordPiece)."""

from __future__ import annotations

from pathlib import Path

WORDS = "the quick brown fox jumps over lazy dog . a cat sat on mat".split()


def tiny_hf_encoder(out: Path, *, tokenizer: bool = True) -> Path:
    """A real (tiny, random) BertModel saved by transformers, with a WordPiece vocab."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(out))
    if tokenizer:
        # (transformers 5 ignores vocab_file=: pass the vocabulary itself)
        BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(str(out))
    return out
