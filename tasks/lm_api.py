"""One model interface for every task (contract 2): requests in, scores and texts out.

Modelled on lm-evaluation-harness's ``LM`` class. Every model kind answers the
same requests, so a task never branches on the kind and a new kind is one
adapter (:func:`load_lm` picks it):

    lm = load_lm("runs/gpt-tiny")                 # or "hf:PATH", or a ModelRef
    lm.loglikelihood([("Question: 2+2=", " 4"), ...])      -> [(logprob, is_greedy), ...]
    lm.loglikelihood_rolling(["a document", ...])          -> [{"token_logprobs", "token_correct",
                                                               "n_bytes", "n_words"}, ...]
    lm.generate_until([("Q: ...\\nA:", {"until": ["\\n"], "max_gen_toks": 32}), ...]) -> [str, ...]
    lm.hidden_states(idx, attention_mask, token_type_ids)  -> (B, T, C) tensor (task heads)

Adapters: :class:`CausalLM` (our ``gpt`` and ``hf:`` causal LMs through
:class:`tasks.hf_causal.HFCausal`), :class:`MaskedLM` (our ``bert``:
pseudo-log-likelihood, Salazar et al. 2020; it cannot generate) and
:class:`EncoderLM` (``hf:`` encoders: hidden states only). A request a kind
cannot answer raises :class:`NotApplicable` with the reason.

Conventions (those of lm-evaluation-harness unless said otherwise): log-probs
are natural logs computed by a float32 log-softmax whatever the weights' dtype;
a (context, continuation) pair is tokenised as ``encode(context + continuation)``
split after ``encode(context)`` (trailing spaces of the context move to the
continuation), an empty context becomes the end-of-text token; the first token
of a rolled document is conditioned on end-of-text. Speed: requests are sorted
by length (longest first) and batched with right padding for scoring and left
padding for generation; a context shared by several continuations (the
choices of a question) is run once and its KV cache reused (no cache is built
where nothing continues from it, as in rolling windows); logits are computed
only at the positions that are scored, a prompt's last position once for all
its choices, and reduced in one max pass plus an in-place log-sum-exp. See
``bench/eval.py`` for the speed against lm-evaluation-harness. None of this changes a
result: a request's numbers do not depend on the batch it shares (up to
float rounding, ~1e-6).
"""

from __future__ import annotations

from tasks.lm_base import DEFAULT_MAX_GEN_TOKS, LM, NotApplicable, rolling_windows
from tasks.lm_causal import CausalLM
from tasks.lm_masked import EncoderLM, MaskedLM
from tasks.modelref import ModelRef, resolve_model
from tasks.models import Backbone, load_backbone

__all__ = ["LM", "CausalLM", "EncoderLM", "MaskedLM", "NotApplicable", "load_lm", "wrap",
           "rolling_windows", "DEFAULT_MAX_GEN_TOKS"]


def load_lm(model: ModelRef | str, *, device: str | None = None, dtype: str = "float32") -> LM:
    """The adapter for ``model`` (a ModelRef, or a spec: checkpoint/run dir or ``hf:PATH``).

    ``device``: cpu, cuda, cuda:N (default: cuda when visible); ``dtype``:
    float32, bfloat16 or float16 (the weights; log-softmax stays float32).
    """
    return wrap(load_backbone(resolve_model(model), device=device, dtype=dtype))


def wrap(bb: Backbone) -> LM:
    """The adapter for an already loaded backbone: causal, masked (bert) or encoder."""
    if bb.causal:
        return CausalLM(bb)
    return EncoderLM(bb) if bb.kind == "hf-encoder" else MaskedLM(bb)  # ours: bert, plugins
