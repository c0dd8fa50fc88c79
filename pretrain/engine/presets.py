"""Run configuration sections and the presets ``tiny``, ``small``, ``base``.

A preset is a function returning a :class:`RunConfig` for an architecture;
``--set section.key=value`` then adjusts it (see :mod:`harnesskit.config`).
Names of architectures, objectives, optimizers and schedules are checked against
their registries (:mod:`pretrain.engine.plugins`) when a run is built, so a
plugin's names are valid wherever a built-in's are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from harnesskit.config import field
from harnesskit.errors import ConfigError
from pretrain.engine.plugins import ARCHS, OBJECTIVES, OPTIMIZERS, SCHEDULES, objective_for


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Transformer sizes; shared by every architecture (built-in or plugin)."""

    arch: str = field("gpt", "architecture: gpt, llama (decoders), bert (encoder) or a "
                      "plugin's (harness config show lists them)")
    n_layer: int = field(4, "number of transformer blocks")
    n_head: int = field(4, "attention heads per block")
    n_embd: int = field(128, "model width (must be divisible by n_head)")
    block_size: int = field(256, "context length in tokens")
    vocab_size: int = field(4096, "vocabulary size (set from the tokenizer)")
    dropout: float = field(0.0, "dropout probability")
    nsp: bool = field(False, "bert only: add a next-sentence-prediction head")

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be at least 1")
        if self.n_embd % self.n_head:
            raise ValueError(f"model.n_embd ({self.n_embd}) must be divisible by "
                             f"model.n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("model.dropout must be in [0, 1)")


@dataclass(frozen=True, kw_only=True)
class TokenizerConfig:
    """The tokenizer trained on the corpus when none is given."""

    vocab_size: int = field(4096, "vocabulary size to train (BPE for gpt, WordPiece for bert)")
    min_frequency: int = field(2, "minimum pair frequency for a merge")

    def __post_init__(self) -> None:
        if self.vocab_size < 64:
            raise ValueError("tokenizer.vocab_size must be at least 64")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation and bookkeeping."""

    seed: int = field(1337, "random seed for weights, data order and masking")
    lr: float = field(1e-3, "peak learning rate")
    min_lr: float = field(1e-4, "final learning rate of the decay")
    batch_size: int = field(32, "sequences per optimizer step (global, across processes)")
    micro_batch_size: int = field(32, "sequences per forward pass per process")
    max_steps: int = field(1000, "optimizer steps")
    warmup_steps: int = field(50, "linear warmup steps")
    weight_decay: float = field(0.1, "decoupled weight decay (not on norms, biases, embeddings)")
    beta1: float = field(0.9, "AdamW beta1")
    beta2: float = field(0.99, "AdamW beta2")
    grad_clip: float = field(1.0, "clip the global gradient norm to this (0 = off)")
    init_from: str = field("", "start from this checkpoint's weights and tokenizer (same arch "
                           "and sizes), e.g. simcse after mlm; empty: random init")
    objective: str = field("", "training objective: clm, mlm, simcse, electra or a plugin's "
                           "(empty: the architecture's default)")
    precision: Literal["auto", "fp32", "bf16"] = field(
        "auto", "autocast precision; auto: bf16 where the hardware has fast bf16 (CUDA, or a CPU "
        "with AVX512-BF16/AMX), else fp32 (the run records the one it used)")
    compile: bool = field(False, "wrap the model in torch.compile")
    log_every: int = field(10, "steps between metrics.jsonl lines")
    eval_every: int = field(200, "steps between validation passes")
    eval_batches: int = field(20, "validation batches per pass")
    ckpt_every: int = field(500, "steps between checkpoints")
    keep_last: int = field(2, "checkpoints kept besides the best")
    mlm_prob: float = field(0.15, "bert: fraction of tokens masked")
    cycle_steps: int = field(200, "period in steps of cosine_restarts and cyclic schedules")
    distill_alpha: float = field(0.5, "with --teacher: weight of the hard loss (1 - alpha on KL)")
    distill_temperature: float = field(2.0, "with --teacher: softmax temperature of the KL term")
    tensorboard: bool = field(False, "also write TensorBoard event files (needs tensorboard)")

    def __post_init__(self) -> None:
        for name in ("batch_size", "micro_batch_size", "max_steps", "log_every",
                     "eval_every", "ckpt_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be at least 1")
        if self.lr <= 0:
            raise ValueError("train.lr must be positive")
        if not 0.0 < self.mlm_prob < 1.0:
            raise ValueError("train.mlm_prob must be in (0, 1)")
        if self.min_lr < 0:
            raise ValueError("train.min_lr must be non-negative")
        if self.warmup_steps < 0 or self.eval_batches < 1 or self.keep_last < 1:
            raise ValueError("train.warmup_steps must be >= 0, train.eval_batches and "
                             "train.keep_last >= 1")
        if self.batch_size % self.micro_batch_size and self.micro_batch_size < self.batch_size:
            raise ValueError(f"train.batch_size ({self.batch_size}) must be a multiple of "
                             f"train.micro_batch_size ({self.micro_batch_size})")
        if not 0.0 <= self.distill_alpha <= 1.0 or self.distill_temperature <= 0:
            raise ValueError("train.distill_alpha must be in [0, 1] and "
                             "train.distill_temperature positive")
        if self.cycle_steps < 1:
            raise ValueError("train.cycle_steps must be at least 1")
        if self.grad_clip < 0:
            raise ValueError("train.grad_clip must be non-negative")


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """The optimizer (registry ``harness.optimizers``); its rates and betas are in ``train``."""

    name: str = field("adamw", "optimizer: adamw, rmsprop, adagrad or a plugin's")


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """The learning-rate schedule after warmup (registry ``harness.schedules``)."""

    name: str = field("cosine", "schedule: cosine, cosine_restarts, cyclic, linear, constant "
                      "or a plugin's")


@dataclass(frozen=True, kw_only=True)
class ObjectiveConfig:
    """Options of the built-in contrastive (simcse) and replaced-token (electra) objectives."""

    temperature: float = field(0.05, "simcse: softmax temperature of the cosine similarities")
    pooling: Literal["cls", "mean"] = field(
        "mean", "simcse: sentence vector, the mean over tokens or [CLS] (a briefly trained "
        "small encoder's [CLS] barely depends on the text: mean is the default)")
    sentence_tokens: int = field(32, "simcse: tokens per training sentence (cut from the stream)")
    generator_ratio: int = field(4, "electra: the generator is this many times narrower")
    disc_weight: float = field(50.0, "electra: weight of the discriminator loss (the paper's 50)")

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.disc_weight < 0:
            raise ValueError("objective.temperature must be positive, objective.disc_weight >= 0")
        if self.generator_ratio < 1 or self.sentence_tokens < 4:
            raise ValueError("objective.generator_ratio must be >= 1, "
                             "objective.sentence_tokens >= 4")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that determines a pretraining run."""

    model: ModelConfig = field(ModelConfig(), "model sizes")
    tokenizer: TokenizerConfig = field(TokenizerConfig(), "tokenizer training")
    train: TrainConfig = field(TrainConfig(), "optimisation")
    optim: OptimConfig = field(OptimConfig(), "optimizer choice")
    schedule: ScheduleConfig = field(ScheduleConfig(), "learning-rate schedule choice")
    objective: ObjectiveConfig = field(ObjectiveConfig(), "objective options")
    preset: str = field("tiny", "the preset this config started from")
    corpus: str = field("shakespeare", "default corpus (a source name or a built corpus directory)")


def _tiny(arch: str) -> RunConfig:
    # Tuned on Shakespeare (gpt): 360 steps of 32 x 128 tokens (1.5M tokens) reach 2.44 val
    # bits per byte in under 3 minutes on 2 cores. At 300 steps, context 128 beat 256 at equal
    # tokens (2.488 vs 2.510), and lr 3e-3 beat 2e-3 (2.520) and 5e-3 (2.579).
    return RunConfig(
        preset="tiny",
        corpus="shakespeare",
        model=ModelConfig(arch=arch, n_layer=4, n_head=4, n_embd=128, block_size=128,
                          vocab_size=2048),
        tokenizer=TokenizerConfig(vocab_size=2048),
        # Post-norm BERT prefers a lower peak rate (val MLM loss 6.13 vs 6.16 at 120 steps).
        train=TrainConfig(max_steps=360, batch_size=32, micro_batch_size=32,
                          lr=3e-3 if arch == "gpt" else 1e-3,
                          min_lr=3e-4 if arch == "gpt" else 1e-4, warmup_steps=30,
                          eval_every=120, eval_batches=4, ckpt_every=120, log_every=10),
    )


def _small(arch: str) -> RunConfig:
    return RunConfig(
        preset="small",
        corpus="mix",
        model=ModelConfig(arch=arch, n_layer=6, n_head=6, n_embd=384, block_size=256,
                          vocab_size=8192),
        tokenizer=TokenizerConfig(vocab_size=8192),
        train=TrainConfig(max_steps=2000, batch_size=32, micro_batch_size=16, lr=1e-3,
                          warmup_steps=100, eval_every=250, ckpt_every=500),
    )


def _base(arch: str) -> RunConfig:
    return RunConfig(
        preset="base",
        corpus="mix",
        model=ModelConfig(arch=arch, n_layer=12, n_head=12, n_embd=768, block_size=1024,
                          vocab_size=32768),
        tokenizer=TokenizerConfig(vocab_size=32768),
        train=TrainConfig(max_steps=20000, batch_size=256, micro_batch_size=16, lr=6e-4,
                          min_lr=6e-5, warmup_steps=1000, eval_every=1000, ckpt_every=2000,
                          weight_decay=0.1, beta2=0.95),
    )


PRESETS = {"tiny": _tiny, "small": _small, "base": _base}


def preset(name: str, arch: str = "gpt") -> RunConfig:
    """The named preset for ``arch`` (any registered architecture).

    The generic preset of the architecture's kind (``gpt``'s for decoders,
    ``bert``'s for encoders) is adjusted by the architecture's own ``presets``
    entry, if it has one. Unknown names are a :class:`ConfigError`.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}", hint=f"choose one of {', '.join(PRESETS)}")
    spec = ARCHS.get(arch)  # unknown: one line with the close matches
    cfg = PRESETS[name](spec.tokenizer)
    cfg = replace(cfg, model=replace(cfg.model, arch=arch))
    adjust = spec.presets.get(name)
    return adjust(cfg) if adjust else cfg


def check_names(cfg: RunConfig) -> None:
    """Every registry name in ``cfg`` exists (unknown: a HarnessError with close matches)."""
    arch = ARCHS.get(cfg.model.arch)
    problem = arch.check(cfg.model) if arch.check else None
    if problem:
        raise ConfigError(f"--arch {arch.name}: {problem}", hint="change the model sizes (--set)")
    OPTIMIZERS.get(cfg.optim.name)
    SCHEDULES.get(cfg.schedule.name)
    if cfg.train.objective:
        OBJECTIVES.get(cfg.train.objective)
    objective_for(cfg)
