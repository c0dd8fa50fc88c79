"""The base of the model interface: :class:`LM`, :class:`NotApplicable`, rolling windows.

See :mod:`tasks.lm_api` for the interface as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from harnesskit.errors import HarnessError
from tasks.models import Backbone

__all__ = ["LM", "NotApplicable", "rolling_windows", "DEFAULT_MAX_GEN_TOKS"]

DEFAULT_MAX_GEN_TOKS = 256
WINDOWS = ("overlap", "disjoint")


class NotApplicable(Exception):  # noqa: N818 - the contract's name
    """The model kind cannot do this request or task (e.g. a bert model asked to generate)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class LM:
    """The requests every model kind answers; the base answers each with NotApplicable.

    ``batch_size`` only changes speed. Attributes: ``bb`` (the loaded
    :class:`~tasks.models.Backbone`), ``kind``, ``max_length`` (context in
    tokens), ``device``, ``dtype``, ``eot_id`` (end-of-text / prefix token).
    """

    def __init__(self, bb: Backbone) -> None:
        self.bb = bb
        self.kind = bb.kind
        self.max_length = bb.block_size
        self.device = bb.device
        self.dtype = bb.dtype
        self.eot_id = bb.special.get("eos", bb.special.get("sep", 0))

    # -- tokens --------------------------------------------------------------
    def tok_encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return self.bb.encode(text)

    def tok_decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (special tokens dropped)."""
        return self.bb.decode(list(ids))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """(context ids, continuation ids) as lm-evaluation-harness splits them."""
        n_space = len(context) - len(context.rstrip(" "))
        if n_space:
            context, continuation = context[:-n_space], context[-n_space:] + continuation
        if not context:
            return [self.eot_id], self.tok_encode(continuation)
        whole = self.tok_encode(context + continuation)
        ctx = self.tok_encode(context)
        return ctx, whole[len(ctx):]

    def info(self) -> dict[str, Any]:
        """What the results record about how the model ran."""
        return {"model_kind": self.kind, "device": self.device, "dtype": self.dtype,
                "scoring_precision": f"weights {self.dtype}, log-softmax float32",
                "max_length": self.max_length}

    # -- requests --------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[tuple[str, str]], *, batch_size: int = 16
                      ) -> list[tuple[float, bool]]:
        """For each (context, continuation): (sum of the continuation's token log-probs,
        whether every continuation token is the argmax)."""
        pairs = [self.encode_pair(c, x) for c, x in requests]
        return self.loglikelihood_tokens(pairs, batch_size=batch_size)

    def loglikelihood_tokens(self, requests: Sequence[tuple[list[int], list[int]]], *,
                             batch_size: int = 16) -> list[tuple[float, bool]]:
        """:meth:`loglikelihood` on token ids (context ids, continuation ids)."""
        raise NotApplicable(f"a {self.kind} model has no language-modelling head here")

    def loglikelihood_rolling(self, texts: Sequence[str], *, window: str = "overlap",
                              stride: int | None = None, batch_size: int = 16
                              ) -> list[dict[str, Any]]:
        """Per-document dicts of docs/INTERNAL_API.md section D (token_logprobs, token_correct,
        n_bytes, n_words) for whole documents; see :func:`rolling_windows` for ``window``."""
        raise NotApplicable(f"a {self.kind} model has no language-modelling head here")

    def generate_until(self, requests: Sequence[tuple[str, dict[str, Any]]], *,
                       batch_size: int = 16) -> list[str]:
        """For each (context, options): the generated text, cut before the first ``until`` string.

        Options: ``until`` (list of stop strings; end-of-text always stops),
        ``max_gen_toks`` (default 256), ``num_beams`` (1 = greedy),
        ``length_penalty`` (beam ranking, default 1.0).
        """
        raise NotApplicable(f"a {self.kind} model cannot generate text")

    def hidden_states(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None,
                      token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Last-layer hidden states (B, T, C) of token ids (B, T), for task heads."""
        return self.bb.encode_hidden(idx, attention_mask, token_type_ids)


def rolling_windows(ids: list[int], prefix: int, max_length: int, *, window: str = "overlap",
                    stride: int | None = None) -> list[tuple[list[int], list[int]]]:
    """(input ids, target ids) windows that score every token of ``ids`` exactly once.

    Targets are the last ``len(targets)`` positions' next tokens of the input.
    ``overlap`` (our default): windows of ``max_length`` tokens over
    ``[prefix] + ids`` advancing by ``stride`` (default half the context), each
    scoring only tokens not scored before, so later tokens keep at least
    ``max_length - stride`` tokens of context. ``disjoint``: lm-evaluation-harness's
    ``get_rolling_token_windows`` + ``make_disjoint_window`` (windows of the full
    context that do not overlap; the last one reaches back to a full context).
    """
    if window not in WINDOWS:
        raise HarnessError(f"unknown window {window!r}", hint=f"choose one of {', '.join(WINDOWS)}")
    if not ids:
        return []
    if window == "disjoint":
        return _disjoint_windows(ids, prefix, max_length)
    seq = [prefix] + ids  # target t is seq[t + 1]; its input ends at seq[t]
    spans = sliding_windows(len(ids), max_length - 1, stride or max(1, max_length // 2))
    return [(seq[start:end], seq[scored + 1:end + 1]) for start, end, scored in spans]


def sliding_windows(n_tokens: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """Spans ``(start, end, score_from)`` covering a document of ``n_tokens`` tokens.

    Token positions are the document's targets ``0..n_tokens-1``. For a span,
    the model's input is the token *before* each target, that is
    ``([eos] + doc)[start:end]`` (at most ``context`` tokens), and the
    log-probabilities of targets ``score_from..end-1`` are kept; earlier ones
    were scored by a previous window with less context. ``stride`` is how far
    each window moves; smaller strides give every scored token more context
    (the Hugging Face perplexity guide). :func:`rolling_windows` with
    ``window="overlap"`` scores these spans with ``context = max_length - 1``.
    """
    if context < 1:
        raise HarnessError(f"sliding window context must be >= 1, got {context}")
    if not 1 <= stride <= context:
        raise HarnessError(f"sliding window stride must be in 1..{context} (the context), "
                           f"got {stride}")
    if n_tokens < 0:
        raise HarnessError(f"n_tokens must be >= 0, got {n_tokens}")
    spans: list[tuple[int, int, int]] = []
    start = scored = 0
    while scored < n_tokens:
        end = min(start + context, n_tokens)
        spans.append((start, end, scored))
        scored = end
        start += stride
    return spans


def _disjoint_windows(ids: list[int], prefix: int, max_len: int) -> list[tuple[list[int], list[int]]]:
    first = min(max_len, len(ids))
    out = [([prefix] + ids[:first - 1], ids[:first])]
    done = first
    while done < len(ids):
        n_pred = min(len(ids) - done, max_len)
        end = done + n_pred
        inp = ids[max(0, end - max_len - 1):end - 1]
        out.append((inp, ids[end - n_pred:end]))
        done = end
    return out
