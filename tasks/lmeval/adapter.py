"""lm-evaluation-harness's ``LM`` interface answered through our model interface (:mod:`tasks.lm_api`).

:class:`HarnessLM` subclasses lm-eval's ``TemplateLM``, so that a (context,
continuation) request is split into tokens by lm-eval's own code (trailing
spaces moved to the continuation, the prefix token for an empty context), and
hands the token pairs to :meth:`tasks.lm_api.LM.loglikelihood_tokens`
(batched, length-sorted, a shared context run once). ``loglikelihood_rolling``
uses the interface's ``disjoint`` windows, which are lm-eval's
(``get_rolling_token_windows`` + ``make_disjoint_window``), and sums each
document's token log-probabilities. ``generate_until`` passes lm-eval's
``until`` (with the end-of-text text added, as lm-eval's ``hf`` model does) and
``max_gen_toks`` to the interface's batched greedy decoding, then cuts the text
with lm-eval's own post-processing. Works for every kind the interface loads as
a causal LM: our ``gpt`` checkpoints and ``hf:`` decoders; other kinds are not
applicable. lm-eval's cache hook stays a no-op (no ``CachingLM``): our results
cache keys the work.

lm-eval is imported at module level here: this module is imported only when an
``lmeval:`` task runs (:func:`tasks.lmeval.run.predict`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lm_eval.api.model import TemplateLM
from lm_eval.models.utils import (
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)

from harnesskit.errors import HarnessError
from tasks import lm_api
from tasks.modelref import ModelRef

MAX_GEN_TOKS = 256  # lm-eval's HFLM default
def load_lm(ref: ModelRef, *, batch_size: int = 16, device: str | None = None,
            dtype: str = "float32") -> HarnessLM:
    """The lm-eval ``LM`` for a checkpoint of ours or an ``hf:`` decoder, on ``device`` with
    weights in ``dtype`` (as every other task gets them; log-softmax stays float32)."""
    lm = lm_api.load_lm(ref, device=device, dtype=dtype)
    if not lm.bb.causal:
        raise lm_api.NotApplicable(f"lm-eval tasks need a causal LM (gpt or hf: decoder), "
                                   f"not {ref.kind}")
    return HarnessLM(lm, batch_size=batch_size)


class HarnessLM(TemplateLM):
    """lm-eval's LM interface over one of our models; see the module docstring."""

    def __init__(self, lm: lm_api.LM, *, batch_size: int = 16) -> None:
        super().__init__()
        self.lm = lm
        self.kind = lm.kind
        self.batch_size = max(1, int(batch_size))
        self.counts: Counter[str] = Counter()
        self._hf_tok = lm.bb.extra.get("hf_tokenizer")

    # -- what lm-eval asks of a model ------------------------------------------------
    @property
    def eot_token_id(self) -> int:
        return int(self.lm.eot_id)

    @property
    def max_length(self) -> int:
        return int(self.lm.max_length)

    @property
    def device(self) -> str:
        return str(self.lm.device)

    @property
    def tokenizer_name(self) -> str:
        return self.kind

    def has_chat_template(self) -> bool:
        return bool(self.lm.bb.extra.get("chat_template"))

    def apply_chat_template(self, chat_history: list[dict[str, str]],
                            add_generation_prompt: bool = True) -> str:
        return self._hf_tok.apply_chat_template(chat_history, tokenize=False,
                                                add_generation_prompt=add_generation_prompt,
                                                continue_final_message=not add_generation_prompt)

    def info(self) -> dict[str, Any]:
        return {**self.lm.info(), "requests": dict(self.counts), "batch_size": self.batch_size}

    def tok_encode(self, string: str, add_special_tokens: bool | None = None,
                   left_truncate_len: int | None = None, **kwargs: Any) -> list[int]:
        ids = self.lm.tok_encode(string)
        return ids[-left_truncate_len:] if left_truncate_len else ids

    def _loglikelihood_tokens(self, requests: list[tuple[Any, list[int], list[int]]],
                              disable_tqdm: bool = False, **kwargs: Any) -> list[tuple[float, bool]]:
        """(log-probability, greedy?) of each continuation, through the model interface."""
        self.counts["loglikelihood"] += len(requests)
        return self.lm.loglikelihood_tokens([(ctx, cont) for _, ctx, cont in requests],
                                            batch_size=self.batch_size)

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Whole-document log-likelihood in lm-eval's disjoint windows of the full context."""
        self.counts["loglikelihood_rolling"] += len(requests)
        docs = self.lm.loglikelihood_rolling([req.args[0] for req in requests], window="disjoint",
                                             batch_size=self.batch_size)
        return [float(sum(d["token_logprobs"])) for d in docs]

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """Greedy continuations, cut at the first stop sequence as lm-eval cuts them."""
        self.counts["generate_until"] += len(requests)
        eos = self.lm.bb.tokenizer.decode([self.eot_token_id], skip_special_tokens=False)
        asks, stops = [], []
        for ctx, gen_kwargs in (req.args for req in requests):
            kwargs = normalize_gen_kwargs(dict(gen_kwargs), MAX_GEN_TOKS)
            until = handle_stop_sequences(kwargs.pop("until", None), eos=eos)
            max_gen = int(kwargs.pop("max_gen_toks"))
            if max_gen >= self.max_length:
                raise HarnessError(f"max_gen_toks {max_gen} must be below the model's context "
                                   f"{self.max_length}", hint="lower max_gen_toks in the task")
            asks.append((ctx, {"until": until, "max_gen_toks": max_gen,
                               **{k: v for k, v in kwargs.items()
                                  if k in ("do_sample", "temperature", "num_beams")}}))
            stops.append(until)
        try:
            texts = self.lm.generate_until(asks, batch_size=self.batch_size)
        except ValueError as exc:  # sampling or an option the interface does not know
            raise HarnessError(f"lmeval: generation options not supported here: {exc}",
                               hint="use greedy generation (do_sample: false)") from None
        return [postprocess_generated_text(generation=t, stop=u, think_end_token=None)
                for t, u in zip(texts, stops)]
