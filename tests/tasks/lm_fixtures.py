"""Tiny transformers causal LMs written with save_pretrained (random weights, no download)."""

from __future__ import annotations

from pathlib import Path

TEXTS = ["The cat sat on the mat.", "A dog ran in the park.", "Question: what is two plus two?",
         "Answer: four.", "Python is a programming language.", "Shakespeare wrote plays."]


def tiny_tokenizer():  # type: ignore[no-untyped-def]
    """A byte-level BPE of ~300 tokens as a transformers fast tokenizer (eos = id 0)."""
    from transformers import PreTrainedTokenizerFast

    from pretrain.data.tokenizer import train_tokenizer

    tok = train_tokenizer(TEXTS * 20, "gpt", 300, min_frequency=1)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", pad_token="<|endoftext|>")


def save_tiny(out: Path, arch: str, seed: int = 0) -> Path:
    """A 2-layer ``llama`` or ``gpt2`` causal LM with random weights, saved to ``out``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    fast = tiny_tokenizer()
    torch.manual_seed(seed)
    vocab = len(fast)
    if arch == "llama":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=64, bos_token_id=0, eos_token_id=0,
                          pad_token_id=0, tie_word_embeddings=False)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                         bos_token_id=0, eos_token_id=0)
        model = GPT2LMHeadModel(cfg)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out
