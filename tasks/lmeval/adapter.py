"""lm-evaluation-harness's ``LM`` interface answered by our models (our ``gpt``, ``hf:`` decoders).

:class:`HarnessLM` subclasses lm-eval's ``TemplateLM``, so that context and
continuation are split into tokens by lm-eval's own code (trailing spaces
moved to the continuation, the prefix token for an empty context) exactly as
its ``hf`` model does; it then scores the tokens with our model, batched
(requests sorted by length, right padding, one forward per batch), and cuts
windows for ``loglikelihood_rolling`` with lm-eval's own window functions.
``generate_until`` decodes greedily with a KV cache until a stop sequence,
end of text or ``max_gen_toks``, and cuts the text with lm-eval's own
post-processing. Tokenizers are transformers fast tokenizers: for our
checkpoints, the very wrapper ``harness export --format hf`` writes, so that
``hf`` on the export and ``HarnessLM`` on the checkpoint see the same tokens.
lm-eval's cache hook stays a no-op (no ``CachingLM``): our results cache keys
the work.

TODO(lm_api): the model calls here (``_Backend``) are to move onto
``tasks/lm_api.py`` (the model interface of issue 12) once it is in main;
until then this module loads our gpt checkpoints and ``hf:`` causal LMs itself.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from lm_eval.api.model import TemplateLM
from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs, postprocess_generated_text
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

from harnesskit.errors import HarnessError
from tasks.modelref import ModelRef

MAX_GEN_TOKS = 256  # lm-eval's HFLM default


@dataclass
class _Backend:
    """What the adapter needs of a causal LM: logits for a batch, one cached decoding step."""

    kind: str                 # "gpt" | "hf-causal"
    module: Any               # torch.nn.Module in eval mode
    tokenizer: Any            # a transformers fast tokenizer
    max_length: int
    device: str

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits."""
        if self.kind == "gpt":
            return self.module.logits(self.module.hidden(ids)[0])
        return self.module(input_ids=ids).logits

    def step(self, ids: torch.Tensor, past: Any) -> tuple[torch.Tensor, Any]:
        """Logits of the next token after ``ids`` (1, T) given the cache, and the new cache."""
        if self.kind == "gpt":
            h, present = self.module.hidden(ids, past)
            return self.module.logits(h[:, -1:])[:, -1], present
        out = self.module(input_ids=ids, past_key_values=past, use_cache=True)
        return out.logits[:, -1], out.past_key_values


def _load_backend(ref: ModelRef, device: str) -> _Backend:
    if ref.kind == "hf-causal":
        from lm_eval.models.utils import resolve_max_length
        from transformers import AutoModelForCausalLM, AutoTokenizer

        module = AutoModelForCausalLM.from_pretrained(str(ref.path), torch_dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(str(ref.path))
        return _Backend("hf-causal", module.eval().to(device), tok,
                        resolve_max_length(module.config, tok), device)
    if ref.kind != "gpt":
        from tasks.finetune import NotApplicable

        raise NotApplicable(f"lm-eval tasks need a causal LM (gpt or hf: decoder), not {ref.kind}")
    from pretrain.engine.export import hf_tokenizer
    from tasks.models import load_backbone

    bb = load_backbone(ref, device=device)
    return _Backend("gpt", bb.module.eval(), hf_tokenizer(bb.tokenizer, "gpt", bb.block_size),
                    bb.block_size, bb.device)


def load_lm(ref: ModelRef, *, batch_size: int = 16, precision: str = "fp32",
            device: str | None = None) -> HarnessLM:
    """The lm-eval ``LM`` for a checkpoint of ours or an ``hf:`` decoder (bf16 autocast if asked)."""
    from tasks.models import default_device

    return HarnessLM(_load_backend(ref, device or default_device()), batch_size=batch_size,
                     precision=precision)


class HarnessLM(TemplateLM):
    """lm-eval's LM interface over one of our models; see the module docstring."""

    def __init__(self, backend: _Backend, *, batch_size: int = 16, precision: str = "fp32") -> None:
        super().__init__()
        self.backend_model = backend
        self.tokenizer = backend.tokenizer
        self.kind = backend.kind
        self.batch_size = max(1, int(batch_size))
        self.precision = precision
        self.counts: Counter[str] = Counter()

    # -- what lm-eval asks of a model ------------------------------------------------
    @property
    def eot_token_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def prefix_token_id(self) -> int:
        bos = self.tokenizer.bos_token_id
        return int(bos if bos is not None else self.tokenizer.eos_token_id)

    @property
    def max_length(self) -> int:
        return self.backend_model.max_length

    @property
    def device(self) -> str:
        return self.backend_model.device

    @property
    def tokenizer_name(self) -> str:
        return str(getattr(self.tokenizer, "name_or_path", "") or self.kind).replace("/", "__")

    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def apply_chat_template(self, chat_history: list[dict[str, str]],
                            add_generation_prompt: bool = True) -> str:
        return self.tokenizer.apply_chat_template(chat_history, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt,
                                                  continue_final_message=not add_generation_prompt)

    def tok_encode(self, string: str, add_special_tokens: bool | None = None,
                   left_truncate_len: int | None = None, **kwargs: Any) -> list[int]:
        """As lm-eval's HFLM: the tokenizer's defaults unless told, none before a leading BOS."""
        kw = {} if add_special_tokens is None else {"add_special_tokens": add_special_tokens}
        bos = self.tokenizer.bos_token
        if add_special_tokens is None and bos and string.startswith(bos):
            kw = {"add_special_tokens": False}
        ids = list(self.tokenizer.encode(string, **kw))
        return ids[-left_truncate_len:] if left_truncate_len else ids

    def _autocast(self) -> Any:
        if self.precision == "bf16":
            return torch.autocast(device_type=str(self.device).split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.no_grad()
    def _loglikelihood_tokens(self, requests: list[tuple[Any, list[int], list[int]]],
                              disable_tqdm: bool = False, **kwargs: Any) -> list[tuple[float, bool]]:
        """(log-probability, greedy?) of each continuation; batched, longest first."""
        self.counts["loglikelihood_tokens"] += len(requests)
        order = sorted(range(len(requests)),
                       key=lambda i: -len(requests[i][1]) - len(requests[i][2]))
        out: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
        width = self.max_length
        for b in range(0, len(order), self.batch_size):
            chunk = order[b:b + self.batch_size]
            inps, conts = [], []
            for i in chunk:
                _, ctx, cont = requests[i]
                assert ctx and cont and len(cont) <= width
                inps.append((ctx + cont)[-(width + 1):][:-1])  # as lm-eval: truncate from the left
                conts.append(cont)
            pad = max(len(x) for x in inps)
            batch = torch.zeros(len(inps), pad, dtype=torch.long)
            for r, x in enumerate(inps):
                batch[r, :len(x)] = torch.tensor(x)  # right padding: a causal LM never sees it
            with self._autocast():
                logits = self.backend_model.logits(batch.to(self.device))
            logp = torch.log_softmax(logits.float(), dim=-1).cpu()  # (B, T, V)
            for r, i in enumerate(chunk):
                n, cont = len(inps[r]), torch.tensor(conts[r])
                rows = logp[r, n - len(conts[r]):n]           # (len(cont), V)
                greedy = bool((rows.argmax(-1) == cont).all())
                out[i] = (float(rows.gather(-1, cont[:, None]).squeeze(-1).sum()), greedy)
        return out

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Whole-document log-likelihood in lm-eval's disjoint windows of the full context."""
        self.counts["loglikelihood_rolling"] += len(requests)
        windows, owner = [], []
        for n, (string,) in enumerate(req.args for req in requests):
            for w in map(make_disjoint_window, get_rolling_token_windows(
                    token_list=self.tok_encode(string), prefix_token=self.prefix_token_id,
                    max_seq_len=self.max_length, context_len=1)):
                windows.append((None, *w))
                owner.append(n)
        totals = [0.0] * len(requests)
        for n, (ll, _) in zip(owner, self._loglikelihood_tokens(windows)):
            totals[n] += ll
        return totals

    @torch.no_grad()
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """Greedy continuations, cut at the first stop sequence as lm-eval cuts them."""
        self.counts["generate_until"] += len(requests)
        eos = self.tokenizer.decode([self.eot_token_id], skip_special_tokens=False)
        return [self._generate(ctx, gen_kwargs, eos) for ctx, gen_kwargs in
                (req.args for req in requests)]

    def _generate(self, context: str, gen_kwargs: dict[str, Any], eos: str) -> str:
        kwargs = normalize_gen_kwargs(dict(gen_kwargs), MAX_GEN_TOKS)
        until = handle_stop_sequences(kwargs.pop("until", None), eos=eos)
        max_gen = int(kwargs.pop("max_gen_toks"))
        if kwargs.get("do_sample"):
            raise HarnessError("lmeval: sampled generation is not supported here",
                               hint="use a task with greedy generation (do_sample: false)")
        if max_gen >= self.max_length:
            raise HarnessError(f"max_gen_toks {max_gen} must be below the model's context "
                               f"{self.max_length}", hint="lower max_gen_toks in the task")
        ids = self.tok_encode(context, left_truncate_len=self.max_length - max_gen)
        new: list[int] = []
        past, step_in = None, torch.tensor([ids], device=self.device)
        while len(new) < max_gen:
            with self._autocast():
                logits, past = self.backend_model.step(step_in, past)
            tok = int(logits.float().argmax(-1)[0])
            if tok == self.eot_token_id:
                break
            new.append(tok)
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            if any(s in text for s in until):
                break
            step_in = torch.tensor([[tok]], device=self.device)
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return postprocess_generated_text(generation=text, stop=until, think_end_token=None)
