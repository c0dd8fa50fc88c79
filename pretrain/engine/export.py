"""Export a checkpoint to a ``transformers`` directory: GPT2LMHeadModel, BertForMaskedLM,
LlamaForCausalLM, or what a plugin architecture's ``hf_export`` builds.

The architectures in :mod:`pretrain.engine.model` were laid out so that this is a
renaming of tensors (plus GPT-2's transposed ``Conv1D`` weights and BERT's
separate Q, K, V projections), not an approximation: the exported model's
logits equal ours to float precision. The tokenizer goes along as a
``PreTrainedTokenizerFast`` built from our ``tokenizer.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir, temp_sibling
from pretrain.engine.plugins import architecture

GPT_SPECIALS = {"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
BERT_SPECIALS = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
                 "sep_token": "[SEP]", "mask_token": "[MASK]"}


def gpt2_state_dict(sd: dict) -> dict:
    """Our GPT weights under GPT2LMHeadModel's names (Conv1D weights are (in, out))."""
    out = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"],
           "transformer.ln_f.weight": sd["ln_f.weight"], "transformer.ln_f.bias": sd["ln_f.bias"],
           "lm_head.weight": sd["wte.weight"]}
    for key, value in sd.items():
        if not key.startswith("h."):
            continue
        conv = key.endswith(".weight") and any(
            f".{n}.weight" in key for n in ("c_attn", "c_proj", "c_fc"))
        out[f"transformer.{key}"] = value.t().contiguous() if conv else value
    return out


def bert_state_dict(sd: dict, n_layer: int) -> dict:
    """Our BERT weights under BertForMaskedLM's names (Q, K, V split apart)."""
    e, p = "bert.embeddings.", "cls.predictions."
    out = {e + "word_embeddings.weight": sd["word.weight"],
           e + "position_embeddings.weight": sd["pos.weight"],
           e + "token_type_embeddings.weight": sd["tok_type.weight"],
           e + "LayerNorm.weight": sd["ln_emb.weight"], e + "LayerNorm.bias": sd["ln_emb.bias"],
           p + "transform.dense.weight": sd["head_dense.weight"],
           p + "transform.dense.bias": sd["head_dense.bias"],
           p + "transform.LayerNorm.weight": sd["head_ln.weight"],
           p + "transform.LayerNorm.bias": sd["head_ln.bias"],
           p + "bias": sd["head_bias"], p + "decoder.bias": sd["head_bias"],
           p + "decoder.weight": sd["word.weight"]}
    names = {"attn.out": "attention.output.dense", "ln_attn": "attention.output.LayerNorm",
             "fc_in": "intermediate.dense", "fc_out": "output.dense",
             "ln_ffn": "output.LayerNorm"}
    for i in range(n_layer):
        src, dst = f"layers.{i}.", f"bert.encoder.layer.{i}."
        for kind in ("weight", "bias"):
            q, k, v = sd[f"{src}attn.qkv.{kind}"].chunk(3, dim=0)
            for name, t in (("query", q), ("key", k), ("value", v)):
                out[f"{dst}attention.self.{name}.{kind}"] = t.contiguous()
            for ours, theirs in names.items():
                out[f"{dst}{theirs}.{kind}"] = sd[f"{src}{ours}.{kind}"]
    return out


def load_into(hf: Any, weights: dict) -> Any:
    """Copy ``weights`` (transformers names) into ``hf``; every learned tensor must be given.

    Only non-learned buffers (causal masks, position ids, rotary tables) may be
    absent. Returns ``hf`` in eval mode. For plugins' ``hf_export`` functions too.
    """
    import torch

    own = hf.state_dict()
    missing = [k for k in own if k not in weights]
    assert all(k.endswith(("attn.bias", "attn.masked_bias", "position_ids", "inv_freq"))
               for k in missing), missing
    with torch.no_grad():
        for key, value in weights.items():
            assert own[key].shape == value.shape, (key, own[key].shape, value.shape)
            own[key].copy_(value)
    return hf.eval()


def _fp32_state(model: Any) -> dict:
    return {k: v.detach().float().cpu() for k, v in model.state_dict().items()}


def gpt2_hf(model: Any) -> Any:
    """Our GPT as a GPT2LMHeadModel carrying exactly its weights (fp32, eval mode)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from pretrain.engine.model import GPT_LN_EPS

    cfg = model.config
    hf_cfg = GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size,
                        n_embd=cfg.n_embd, n_layer=cfg.n_layer, n_head=cfg.n_head,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, layer_norm_epsilon=GPT_LN_EPS, bos_token_id=0,
                        eos_token_id=0, pad_token_id=0, tie_word_embeddings=True)
    return load_into(GPT2LMHeadModel(hf_cfg), gpt2_state_dict(_fp32_state(model)))


def bert_hf(model: Any) -> Any:
    """Our BERT as a BertForMaskedLM carrying exactly its weights (fp32, eval mode)."""
    from transformers import BertConfig, BertForMaskedLM

    from pretrain.engine.model import BERT_LN_EPS

    cfg = model.config
    hf_cfg = BertConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd,
                        num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
                        intermediate_size=4 * cfg.n_embd, hidden_act="gelu",
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        max_position_embeddings=cfg.block_size, type_vocab_size=2,
                        layer_norm_eps=BERT_LN_EPS, pad_token_id=0, tie_word_embeddings=True)
    return load_into(BertForMaskedLM(hf_cfg), bert_state_dict(_fp32_state(model), cfg.n_layer))


def llama_state_dict(sd: dict, n_layer: int) -> dict:
    """Our Llama weights under LlamaForCausalLM's names (fused Q/K/V and gate/up split)."""
    out = {"model.embed_tokens.weight": sd["embed_tokens.weight"],
           "model.norm.weight": sd["norm.weight"], "lm_head.weight": sd["embed_tokens.weight"]}
    for i in range(n_layer):
        src, dst = f"layers.{i}.", f"model.layers.{i}."
        q, k, v = sd[src + "self_attn.qkv_proj.weight"].chunk(3, dim=0)
        gate, up = sd[src + "gate_up_proj.weight"].chunk(2, dim=0)
        out.update({dst + "self_attn.q_proj.weight": q, dst + "self_attn.k_proj.weight": k,
                    dst + "self_attn.v_proj.weight": v,
                    dst + "self_attn.o_proj.weight": sd[src + "self_attn.o_proj.weight"],
                    dst + "mlp.gate_proj.weight": gate, dst + "mlp.up_proj.weight": up,
                    dst + "mlp.down_proj.weight": sd[src + "down_proj.weight"],
                    dst + "input_layernorm.weight": sd[src + "input_layernorm.weight"],
                    dst + "post_attention_layernorm.weight":
                        sd[src + "post_attention_layernorm.weight"]})
    return {k: v.contiguous() for k, v in out.items()}


def llama_hf(model: Any) -> Any:
    """Our Llama as a LlamaForCausalLM carrying exactly its weights (fp32, eval mode)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from pretrain.engine.llama import RMS_EPS, ROPE_THETA, ffn_width

    cfg = model.config
    hf_cfg = LlamaConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd,
                         intermediate_size=ffn_width(cfg.n_embd), num_hidden_layers=cfg.n_layer,
                         num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_head,
                         max_position_embeddings=cfg.block_size, rms_norm_eps=RMS_EPS,
                         rope_theta=ROPE_THETA, attention_bias=False, mlp_bias=False,
                         tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
                         pad_token_id=0, hidden_act="silu", attention_dropout=0.0)
    return load_into(LlamaForCausalLM(hf_cfg), llama_state_dict(_fp32_state(model), cfg.n_layer))


def hf_model(model: Any) -> Any:
    """A transformers model carrying exactly our weights (fp32, eval mode), through the
    architecture's ``hf_export``; one without a transformers mapping is a HarnessError."""
    spec = architecture(model.config.arch)
    if spec.hf_export is None:
        raise HarnessError(f"architecture {spec.name!r} declares no transformers mapping",
                           hint="its plugin must set Architecture(hf_export=...) to export")
    return spec.hf_export(model)


def hf_tokenizer(tokenizer: Any, arch: str, max_length: int) -> Any:
    """Our ``tokenizers.Tokenizer`` wrapped as a transformers fast tokenizer."""
    from transformers import PreTrainedTokenizerFast

    specials = GPT_SPECIALS if architecture(arch).tokenizer == "gpt" else BERT_SPECIALS
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_length,
                                   **specials)


def export_hf(checkpoint: str | Path, out: str | Path) -> Path:
    """Write a transformers directory for ``checkpoint`` at ``out`` (atomically)."""
    from pretrain.engine.checkpoint import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise HarnessError(f"export directory {out} already exists and is not empty",
                           hint="choose a new --out or delete it first")
    arch = loaded.config.model.arch
    tmp = temp_sibling(out)  # leftovers of killed exports (dead PIDs) are removed here
    hf_model(loaded.model).save_pretrained(str(tmp))
    hf_tokenizer(loaded.tokenizer, arch, loaded.config.model.block_size).save_pretrained(str(tmp))
    replace_dir(tmp, out)  # an empty ``out`` is swapped out
    return out
