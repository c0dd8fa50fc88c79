"""Export to transformers: the loaded GPT2LMHeadModel / BertForMaskedLM gives our logits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from harnesskit.errors import HarnessError
from pretrain.engine.checkpoint import save_model_checkpoint
from pretrain.engine.export import export_hf
from pretrain.engine.model import build_model
from pretrain.engine.presets import ModelConfig, preset


def _tokenizer(arch: str):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    text = ["to be or not to be, that is the question", "whether tis nobler in the mind"] * 20
    if arch == "gpt":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(
            vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(text, trainer)
    if arch == "bert":
        tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return tok


@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_export_logits_match(tmp_path: Path, arch: str) -> None:
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    torch.manual_seed(0)
    tok = _tokenizer(arch)
    cfg = replace(preset("tiny", arch), model=ModelConfig(
        arch=arch, n_layer=2, n_head=4, n_embd=32, block_size=32, vocab_size=320))
    model = build_model(cfg.model)
    with torch.no_grad():  # random norms and biases too, so every tensor's mapping is tested
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ckpt = save_model_checkpoint(tmp_path / "ckpt", model, tok, cfg)
    out = export_hf(ckpt, tmp_path / "hf")
    auto = AutoModelForCausalLM if arch == "gpt" else AutoModelForMaskedLM
    hf = auto.from_pretrained(str(out)).eval()
    assert type(hf).__name__ == ("GPT2LMHeadModel" if arch == "gpt" else "BertForMaskedLM")
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    text = "to be or not to be, whether tis nobler"
    ids = hf_tok(text, return_tensors="pt")["input_ids"]
    assert ids[0].tolist() == tok.encode(text).ids
    ids = torch.cat([ids, ids.flip(1)], 0)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        if arch == "gpt":
            ours = model.eval()(ids)[0]
            theirs = hf(input_ids=ids).logits
        else:
            mask[1, -3:] = 0
            ours = model.eval()(ids, attention_mask=mask)[0]
            theirs = hf(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(theirs[mask.bool()], ours[mask.bool()], atol=1e-4, rtol=0)
    with pytest.raises(HarnessError, match="not empty"):
        export_hf(ckpt, out)
