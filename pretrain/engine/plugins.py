"""The pluggable parts of pretraining, and what a plugin must implement (one place).

Every table below is a :class:`harnesskit.registry.Registry`: built-ins register
from the modules named in ``builtins``, plugins through an entry-point group, and
both land in the same table, looked up lazily. A duplicate name is a
``ValueError``; an unknown name is one line listing the close matches.

=================  ============================  ===========================================
table              entry-point group             what is registered
=================  ============================  ===========================================
``ARCHS``          ``harness.architectures``     an :class:`Architecture` (below)
``OBJECTIVES``     ``harness.objectives``        an ``nn.Module`` subclass (protocol below)
``OPTIMIZERS``     ``harness.optimizers``        ``factory(param_groups, train_cfg) -> Optimizer``
``SCHEDULES``      ``harness.schedules``         ``decay(schedule, steps_after_warmup) -> lr``
``SOURCES``        ``harness.sources``           ``pretrain.data.sources.NamedSource`` (data)
``STEPS``          ``harness.cleaning_steps``    a step factory (``pretrain.data.step``)
=================  ============================  ===========================================

Architecture protocol. An :class:`Architecture` names a ``module`` class built as
``module(cfg: ModelConfig)`` (the ``model`` section of the run config; ``cfg.arch``
is the architecture's name) and a ``kind``:

``decoder`` (causal LM; byte-level BPE tokenizer with ``<|endoftext|>``) must define
    ``hidden(idx, past=None) -> (h, present)``: ``idx`` (B, T) long; ``h`` (B, T, C)
    after the final norm; ``past``/``present`` a per-layer list of (k, v) caches,
    positions continuing after ``past`` (decoding, zero-shot and the task heads use it);
    ``logits(h) -> (..., V)``: the LM head;
    ``forward(idx, targets=None) -> (logits, loss)`` (targets -100 = ignored).
``encoder`` (masked LM; WordPiece tokenizer with [CLS] [SEP] [MASK] [PAD])
    ``hidden(idx, attention_mask=None, token_type_ids=None) -> h`` (B, T, C);
    ``mlm_logits(h) -> (..., V)``; ``forward(idx, targets=None, attention_mask=None,
    token_type_ids=None) -> (logits, loss)``.
Both: a ``config`` attribute (the ModelConfig) and ``num_params(non_embedding=False)``.

With that, the engine gives a plugin architecture what a built-in gets:
checkpoints (safetensors of ``state_dict()``), exact resume, DDP, bf16 autocast,
``torch.compile``, the task heads (a classifier on the last token of a decoder or
the first of an encoder, span extraction, generation), zero-shot, evaluation, and
``harness export --format hf`` when ``hf_export`` is given.

Objective protocol. An objective is an ``nn.Module`` subclass with class
attributes ``name`` and ``kinds`` (the architecture kinds it trains), built as
``Objective(model, ctx)`` where ``ctx`` is an :class:`ObjectiveContext`. It must define

``inputs(window, generator) -> dict``: model inputs for one micro batch from a
    (B, T + 1) long tensor of corpus tokens; all randomness from ``generator``
    (a ``torch.Generator`` the trainer seeds per step, so resume is exact);
``forward(**inputs) -> (loss, reported)``: the loss to optimise, and a detached
    scalar to report (often the same);
``eval_losses(**inputs) -> Tensor``: per-item validation losses (nats). When the
    class sets ``per_token = True`` these are per-token LM losses and the trainer
    also reports bits per byte.

Its own parameters (submodules other than ``model``, e.g. ELECTRA's generator)
are trained, checkpointed in ``objective.safetensors`` and restored on resume.
Optionally ``check(cfg) -> str | None`` (a static or class method): what is wrong
with the run config for this objective, checked before any data or model work.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harnesskit.registry import Registry

KINDS = ("decoder", "encoder")
_NEEDS = {"decoder": ("hidden", "logits", "forward", "num_params"),
          "encoder": ("hidden", "mlm_logits", "forward", "num_params")}


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """A model architecture as the engine sees it (register one instance per name)."""

    name: str
    kind: str
    module: type
    objective: str = ""
    presets: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    hf_export: Callable[[Any], Any] | None = None
    description: str = ""
    # cfg.model -> a problem (one line) or None: checked before any data or model work
    check: Callable[[Any], str | None] | None = None

    @property
    def default_objective(self) -> str:
        """The objective used when none is chosen: ``clm`` for decoders, ``mlm`` for encoders."""
        return self.objective or ("clm" if self.kind == "decoder" else "mlm")

    @property
    def tokenizer(self) -> str:
        """The tokenizer family: ``gpt`` (byte-level BPE) or ``bert`` (WordPiece)."""
        return "gpt" if self.kind == "decoder" else "bert"


@dataclass
class ObjectiveContext:
    """What an objective may read when it is built: the run config and the tokenizer's ids."""

    cfg: Any  # RunConfig
    special: dict[str, int]
    teacher: Any = None  # a loaded model to distil from, or None


def check_architecture(name: str, obj: Any) -> str | None:
    """Why ``obj`` is not a valid architecture called ``name`` (None when it is)."""
    if not isinstance(obj, Architecture):
        return ("must be a pretrain.engine.plugins.Architecture(name=, kind=, module=), "
                f"not {type(obj).__name__}")
    if obj.name != name:
        return f"is registered as {name!r} but calls itself {obj.name!r}"
    if obj.kind not in KINDS:
        return f"kind {obj.kind!r} is not one of {', '.join(KINDS)}"
    if not inspect.isclass(obj.module):
        return "module must be an nn.Module class built as module(cfg)"
    missing = [m for m in _NEEDS[obj.kind] if not callable(getattr(obj.module, m, None))]
    if missing:
        return (f"{obj.module.__name__} lacks {', '.join(missing)} (see the {obj.kind} "
                "protocol in pretrain/engine/plugins.py)")
    if obj.kind == "decoder" and "past" not in inspect.signature(obj.module.hidden).parameters:
        return f"{obj.module.__name__}.hidden must take past= (the KV cache) for decoding"
    return None


def check_objective(name: str, obj: Any) -> str | None:
    """Why ``obj`` is not a valid objective class (None when it is)."""
    import torch

    if not (inspect.isclass(obj) and issubclass(obj, torch.nn.Module)):
        return "must be an nn.Module subclass (see the objective protocol in pretrain/engine/plugins.py)"
    bad = [k for k in getattr(obj, "kinds", ()) if k not in KINDS]
    if not getattr(obj, "kinds", ()) or bad:
        return f"needs kinds, a tuple drawn from {', '.join(KINDS)}"
    missing = [m for m in ("inputs", "eval_losses") if not callable(getattr(obj, m, None))]
    if missing:
        return f"{obj.__name__} lacks {', '.join(missing)}"
    return None


def _check_callable(name: str, obj: Any) -> str | None:
    return None if callable(obj) else "must be a callable factory"


ARCHS: Registry[Architecture] = Registry(
    "architecture", group="harness.architectures", builtins=("pretrain.engine.archs",),
    check=check_architecture)
OBJECTIVES: Registry[type] = Registry(
    "objective", group="harness.objectives",
    builtins=("pretrain.engine.objectives", "pretrain.engine.contrastive",
              "pretrain.engine.electra"), check=check_objective)
OPTIMIZERS: Registry[Callable[..., Any]] = Registry(
    "optimizer", group="harness.optimizers", builtins=("pretrain.engine.optim",),
    check=_check_callable)
SCHEDULES: Registry[Callable[..., Any]] = Registry(
    "schedule", group="harness.schedules", builtins=("pretrain.engine.optim",),
    check=_check_callable)


def architecture(name: str) -> Architecture:
    """The registered architecture ``name`` (an unknown name lists close matches)."""
    return ARCHS.get(name)


def objective_for(cfg: Any) -> type:
    """The objective class a run config selects (``train.objective`` or the arch's default)."""
    from harnesskit.errors import HarnessError

    arch = architecture(cfg.model.arch)
    cls = OBJECTIVES.get(cfg.train.objective or arch.default_objective)
    if arch.kind not in cls.kinds:
        raise HarnessError(f"objective {cls.name!r} trains {'/'.join(cls.kinds)} models, "
                           f"not the {arch.kind} {arch.name!r}",
                           hint=f"choose an objective for {arch.kind}s: " + ", ".join(
                               n for n in OBJECTIVES.names()
                               if arch.kind in OBJECTIVES.get(n).kinds))
    problem = cls.check(cfg) if hasattr(cls, "check") else None
    if problem:
        raise HarnessError(f"objective {cls.name!r}: {problem}", hint="change it with --set")
    return cls


def installed() -> dict[str, list[tuple[str, str]]]:
    """Every pluggable table: (name, origin) rows, for ``harness config show``."""
    from pretrain.data.sources import SOURCES
    from pretrain.data.step import STEPS

    tables = {"architectures": ARCHS, "objectives": OBJECTIVES, "optimizers": OPTIMIZERS,
              "schedules": SCHEDULES, "sources": SOURCES, "cleaning steps": STEPS}
    return {k: [(n, reg.origin(n)) for n in reg.names()] for k, reg in tables.items()}
