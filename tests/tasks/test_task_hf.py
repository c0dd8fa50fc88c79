"""``hf:PATH`` encoders through transformers AutoModel: classification and span heads."""

from __future__ import annotations

import pytest
from task_fixtures import ALL, TinyClassification, TinyQA, TinyTranslation

from tasks.modelref import resolve_model
from tasks.runner import NotApplicable, predict


@pytest.fixture(scope="module")
def tiny_hf(tmp_path_factory) -> str:
    """A randomly initialised 2-layer BertModel saved as a transformers directory."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from pretrain.data.tokenizer import train_tokenizer

    texts = [str(e.input) + " " + " ".join(e.references)
             for cls in ALL for split in cls().build().values() for e in split]
    tok = train_tokenizer(texts * 3, "bert", 200, min_frequency=1)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    out = tmp_path_factory.mktemp("hf") / "tiny-bert"
    BertModel(cfg).save_pretrained(out)
    fast.save_pretrained(out)
    return f"hf:{out}"


def test_hf_encoder_classification_and_span(tiny_hf):
    clf = predict(resolve_model(tiny_hf), TinyClassification(), seed=0, batch_size=3)
    assert clf.info["model_kind"] == "hf-encoder" and {r["prediction"] for r in clf.rows} <= {"sport", "tech"}
    qa1 = predict(resolve_model(tiny_hf), TinyQA(), seed=0, batch_size=1)
    qa2 = predict(resolve_model(tiny_hf), TinyQA(), seed=0, batch_size=4)
    assert [r["prediction"] for r in qa1.rows] == [r["prediction"] for r in qa2.rows]
    assert all(r["prediction"] in r["input"]["context"] for r in qa1.rows)
    with pytest.raises(NotApplicable):
        predict(resolve_model(tiny_hf), TinyTranslation())


def test_hf_content_hash_is_shared_and_tracks_every_file(tiny_hf, tmp_path):
    """The reference the CLI resolves carries the one content hash; any file change shows."""
    import shutil
    from pathlib import Path

    from tasks.modelref import content_hash
    from tasks.models import load_backbone

    copy = tmp_path / "copy"
    shutil.copytree(Path(str(tiny_hf).removeprefix("hf:")), copy)
    before = content_hash(copy)
    ref = resolve_model(f"hf:{copy}")
    assert ref.content_hash == before and ref.kind == "hf-encoder"
    assert load_backbone(ref, device="cpu").ref is ref
    (copy / "tokenizer_config.json").write_text('{"model_max_length": 7}')
    assert content_hash(copy) != before
