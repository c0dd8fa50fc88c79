"""The built-in architectures, registered exactly as a plugin registers its own.

``gpt``    GPT-2 layout decoder (:class:`pretrain.engine.model.GPT`), exports to GPT2LMHeadModel
``bert``   BERT layout encoder (:class:`pretrain.engine.model.BERT`), exports to BertForMaskedLM
``llama``  Llama layout decoder (:class:`pretrain.engine.llama.Llama`), exports to LlamaForCausalLM
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pretrain.engine import export
from pretrain.engine.llama import Llama
from pretrain.engine.model import BERT, GPT
from pretrain.engine.plugins import ARCHS, Architecture


# tiny: gpt's sizes and rates as they are (the SwiGLU MLP keeps the parameter count within 2%)
def _llama_small(cfg: Any) -> Any:
    return replace(cfg, train=replace(cfg.train, lr=2e-3, min_lr=2e-4))


def _llama_check(model: Any) -> str | None:  # a ModelConfig
    head = model.n_embd // model.n_head
    return None if head % 2 == 0 else (
        f"rotary positions need an even head size; model.n_embd / model.n_head = {head}")


for _arch in (
    Architecture(name="gpt", kind="decoder", module=GPT, hf_export=export.gpt2_hf,
                 description="GPT-2 layout decoder (learned positions, LayerNorm, GELU)"),
    Architecture(name="bert", kind="encoder", module=BERT, hf_export=export.bert_hf,
                 description="BERT layout encoder (post-norm, MLM head, optional NSP)"),
    Architecture(name="llama", kind="decoder", module=Llama, hf_export=export.llama_hf,
                 presets={"small": _llama_small}, check=_llama_check,
                 description="Llama layout decoder (RMSNorm, rotary, SwiGLU, no biases)"),
):
    ARCHS.add(_arch.name, _arch, origin=__name__)
