"""The pretraining loop: data, model, optimizer, checkpoints, logs, DDP, exact resume.

Determinism. Everything random in a step is drawn from generators seeded by
(seed, step, rank): dropout from torch's global RNG and masking from the
trainer's own generator, both re-seeded at the start of every step; data order
is the counter-based :class:`~pretrain.data.shards.ShardReader`. A resumed run
therefore repeats exactly what the uninterrupted run would have done, bit for
bit, given the restored weights, optimizer state and data cursor.

Global batch. ``train.batch_size`` sequences per optimizer step, whatever the
number of processes: each of ``W`` ranks runs ``batch_size / W`` sequences in
micro batches of at most ``train.micro_batch_size``, with gradient accumulation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harnesskit.config import config_hash, to_dict
from harnesskit.errors import HarnessError
from pretrain.engine import checkpoint as ck
from pretrain.engine import distributed
from pretrain.engine.precision import resolve_precision
from pretrain.engine.presets import RunConfig

# OpenMP workers that spin while waiting starve everything else on a shared, busy CPU (2-3x
# slower steps, measured here); passive waits cost little. Only effective if set before torch
# loads, which is why the library sets it at import (callers may override it in the env).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class Result:
    """What a finished run reports."""

    run_dir: Path
    checkpoint: Path
    steps: int
    tokens: int
    val_loss: float
    val_bpb: float | None
    tokens_per_s: float
    elapsed_s: float
    n_params: int


@dataclass(frozen=True)
class StepEnd:
    """What a callback is told after an optimizer step (and the checkpoint saved at it, if any)."""

    step: int                  # optimizer steps done
    tokens: int                # training tokens seen so far
    last: bool                 # the run's final step
    checkpoint: Path | None    # the checkpoint written at this step, else None


# ``fn(trainer, event) -> dict | None``: called on every rank after each step. A returned
# dict is logged to metrics.jsonl as its own row (with step and tokens). Callbacks run with
# the RNG state forked and the model back in train mode afterwards, so they cannot change
# training; one that needs a checkpoint of this step may call ``trainer.save(step, None)``.
Callback = Callable[["Trainer", StepEnd], "dict[str, Any] | None"]


def step_seed(seed: int, step: int, rank: int) -> int:
    """A distinct 63-bit seed per (run seed, step, rank)."""
    return ((seed * 1_000_003 + step) * 10_007 + rank) % (2 ** 63 - 1)


def micro_batches(cfg: RunConfig, world_size: int) -> tuple[int, int]:
    """(micro batch per rank, accumulation steps) giving the global batch on ``world_size``."""
    b = cfg.train.batch_size
    if b % world_size:
        raise HarnessError(f"train.batch_size {b} is not divisible by {world_size} processes",
                           hint="choose a batch size that is a multiple of the process count")
    per_rank = b // world_size
    micro = min(cfg.train.micro_batch_size, per_rank)
    if per_rank % micro:
        raise HarnessError(f"{per_rank} sequences per process are not a multiple of "
                           f"train.micro_batch_size {micro}",
                           hint="set train.micro_batch_size to a divisor of the per-process batch")
    return micro, per_rank // micro


def check_run_dir(out: Path, resume: bool) -> None:
    """Refuse to overwrite an existing run, or to resume one that is not there."""
    has = (out / "latest").is_file()
    if has and not resume:
        raise HarnessError(f"{out} already holds a run",
                           hint="pass --resume to continue it, or choose a new --out")
    if resume and not has:
        raise HarnessError(f"nothing to resume in {out} (no latest checkpoint)",
                           hint="drop --resume to start a new run")


def check_resumable(ckpt: Path, cfg: RunConfig, tokenizer_sha: str) -> dict:
    """The checkpoint's train_state, after checking it matches this run's model and data."""
    import json

    ck.verify_manifest(ckpt)
    saved, raw = ck.read_config(ckpt)
    if saved.model != cfg.model:
        diff = [f"model.{k}={v} (checkpoint {getattr(saved.model, k)})"
                for k, v in to_dict(cfg.model).items() if getattr(saved.model, k) != v]
        raise HarnessError(f"checkpoint {ckpt / 'config.json'} does not match this run: "
                           f"{', '.join(diff)}", hint="resume with the run's original --set values")
    if raw["provenance"].get("tokenizer_sha") != tokenizer_sha:
        raise HarnessError(f"checkpoint {ckpt / 'config.json'} was trained with another tokenizer",
                           hint="resume with the same --corpus and tokenizer settings")
    return json.loads((ckpt / "train_state.json").read_text())


def last_validation(run_dir: Path) -> tuple[float | None, float | None]:
    """The last (val_loss, val_bpb) logged in a run's metrics.jsonl, or (None, None)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return None, None
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("val_loss") is not None:
            return row["val_loss"], row.get("val_bpb")
    return None, None


class Trainer:
    """One pretraining run; :meth:`run` trains to ``train.max_steps`` and returns a Result."""

    def __init__(self, cfg: RunConfig, corpus: str, out: Path, *, resume: bool = False,
                 teacher: str | None = None, dist: distributed.Dist | None = None,
                 callbacks: Sequence[Callback] = ()) -> None:
        self.cfg, self.corpus, self.out = cfg, corpus, Path(out)
        self.resume, self.teacher_path = resume, teacher
        self.callbacks = tuple(callbacks)
        self.dist = dist or distributed.Dist()
        self.state: dict[str, Any] = {"step": 0, "tokens": 0, "elapsed_s": 0.0,
                                      "best_val_loss": None, "best_step": None}

    # ---- set-up -------------------------------------------------------------------------
    def _setup_data(self) -> None:
        from pretrain.data.tokenizer import special_ids
        from pretrain.engine import loader

        teacher_tok = None
        if self.teacher_path:
            self.teacher = ck.load_checkpoint(self.teacher_path, self.dist.device)
            teacher_tok = self.teacher.tokenizer
            if self.teacher.config.model.arch != self.cfg.model.arch:
                raise HarnessError(f"teacher {self.teacher.path} is a "
                                   f"{self.teacher.config.model.arch}, the student a "
                                   f"{self.cfg.model.arch}", hint="distil within one arch")
        self.init = None
        if self.cfg.train.init_from:  # continue from a checkpoint: its weights and tokenizer
            self.init = ck.load_checkpoint(self.cfg.train.init_from)
            teacher_tok = teacher_tok or self.init.tokenizer
            shape = ("arch", "n_layer", "n_head", "n_embd", "block_size", "nsp")
            theirs, ours = ([getattr(m, k) for k in shape]
                            for m in (self.init.config.model, self.cfg.model))
            if theirs != ours:  # dropout may differ (simcse adds it)
                raise HarnessError(f"train.init_from {self.init.path} is a different model: "
                                   f"{dict(zip(shape, theirs))}, this run {dict(zip(shape, ours))}",
                                   hint="use the checkpoint's arch and model.* sizes")
        if self.dist.is_main:  # rank 0 builds corpus, tokenizer and shards; the rest reuse them
            self.data = loader.prepare(self.corpus, self.cfg, teacher_tok)
        distributed.barrier(self.dist)
        if not self.dist.is_main:
            self.data = loader.prepare(self.corpus, self.cfg, teacher_tok)
        vocab = (self.teacher.config.model.vocab_size if self.teacher_path else
                 self.init.config.model.vocab_size if self.init else
                 self.data.tokenizer.get_vocab_size())
        self.cfg = replace(self.cfg, model=replace(self.cfg.model, vocab_size=vocab))
        self.bytes_table = loader.byte_lengths(self.data.tokenizer, vocab)
        self.special_ids = special_ids(self.data.tokenizer)  # looked up once, for the objective

    def _setup_model(self) -> None:
        import torch

        from pretrain.data.shards import ShardReader
        from pretrain.engine.logging import hardware_peak_flops
        from pretrain.engine.model import build_model, flops_per_token
        from pretrain.engine.optim import Schedule, build_optimizer
        from pretrain.engine.plugins import ObjectiveContext, objective_for

        cfg, d = self.cfg, self.dist
        torch.manual_seed(cfg.train.seed)
        self.model = build_model(cfg.model)
        teacher = self.teacher.model if self.teacher_path else None
        # The objective may own trainable parts (ELECTRA's generator): built before the
        # optimizer, restored with the model, wrapped by DDP as one module.
        self.objective = objective_for(cfg)(
            self.model, ObjectiveContext(cfg=cfg, special=self.special_ids, teacher=teacher))
        if self.init is not None and not self.resume:
            # the weights load_checkpoint already verified and read: not read from disk again
            self.model.load_state_dict(self.init.model.state_dict())
        ckpt = None
        if self.resume:
            ckpt = ck.resolve_checkpoint(self.out)
            self.state.update(check_resumable(ckpt, cfg, self.data.provenance["tokenizer_sha"]))
            ck.load_weights(self.model, ckpt / "model.safetensors")
            ck.load_objective_weights(self.objective, ckpt)
        self.objective.to(d.device)
        self.optimizer = build_optimizer(self.objective, cfg)
        if ckpt is not None:
            ck.load_optimizer_state(ckpt, self.optimizer)
        self.schedule = Schedule.from_config(cfg)
        self.step_module = distributed.wrap(self.objective, d,
                                            getattr(self.objective, "unused_parameters", False))
        if cfg.train.compile:
            self.step_module = torch.compile(self.step_module)
        self.micro, self.accum = micro_batches(cfg, d.world_size)
        self.reader = ShardReader(self.data.shard_dir, "train", cfg.model.block_size, self.micro,
                                  cfg.train.seed, d.rank, d.world_size)
        self.mask_gen = torch.Generator().manual_seed(cfg.train.seed)
        if ckpt is not None:
            self.reader.load_state_dict(self.state["reader"])
            # Every step re-seeds from (seed, step, rank); restoring the saved states as well
            # keeps anything drawn outside a step (e.g. by user code) on the same stream.
            torch.set_rng_state(ck.rng_from_json(self.state["rng"]["torch"]))
            self.mask_gen.set_state(ck.rng_from_json(self.state["rng"]["mask"]))
        self.flops_per_token = flops_per_token(cfg.model, self.model.num_params(True))
        self.peak_flops = hardware_peak_flops(d.device)

    # ---- one step -----------------------------------------------------------------------
    def _inputs(self, batch: Any) -> dict:
        """The objective's inputs for one (micro, T + 1) window batch, on the device."""
        out = self.objective.inputs(batch, self.mask_gen)
        return {k: v.to(self.dist.device) for k, v in out.items()}

    def _autocast(self) -> Any:
        import torch

        kind = "cuda" if self.dist.device.startswith("cuda") else "cpu"
        return torch.autocast(kind, dtype=torch.bfloat16,
                              enabled=self.cfg.train.precision == "bf16")

    def train_step(self, step: int) -> tuple[float, float]:
        """One optimizer step (with accumulation); returns (mean loss, grad norm)."""
        import torch

        from pretrain.engine.optim import set_lr

        seed = step_seed(self.cfg.train.seed, step, self.dist.rank)
        torch.manual_seed(seed)
        self.mask_gen.manual_seed(seed + 1)
        set_lr(self.optimizer, self.schedule(step))
        total = torch.zeros((), dtype=torch.float64)
        for i in range(self.accum):
            kwargs = self._inputs(self.reader.next_batch())
            sync = (i == self.accum - 1 or not hasattr(self.step_module, "no_sync"))
            with (contextlib.nullcontext() if sync else self.step_module.no_sync()):
                with self._autocast():
                    loss, _ = self.step_module(**kwargs)
                (loss / self.accum).backward()
            total += loss.detach().double().cpu()
        clip = self.cfg.train.grad_clip if self.cfg.train.grad_clip > 0 else math.inf
        norm = torch.nn.utils.clip_grad_norm_(self.objective.parameters(), clip, foreach=True)
        loss_value = total.item() / self.accum
        bad = not (math.isfinite(loss_value) and math.isfinite(norm.item()))
        if distributed.any_true(self.dist, bad):
            self._diverged(step, loss_value)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, norm.item()

    def _diverged(self, step: int, loss: float) -> None:
        last = self.out / "latest"
        where = (f"the last good checkpoint is {self.out / last.read_text().strip()}"
                 if last.is_file() else "no checkpoint was written yet")
        raise HarnessError(f"training diverged: loss is {loss} at step {step + 1}; {where}",
                           hint="lower train.lr or raise train.warmup_steps, then --resume")

    # ---- evaluation ---------------------------------------------------------------------
    def evaluate(self, limit: int | None) -> tuple[float, float | None]:
        """(val loss in nats/token, bits per byte or None) on fixed val windows.

        ``limit`` caps the windows (None: the whole val split). BERT windows are
        masked with a generator of fixed seed, so every evaluation masks alike.
        """
        import torch

        from pretrain.engine import loader

        self.objective.eval()
        gen_state = self.mask_gen.get_state()
        self.mask_gen.manual_seed(self.cfg.train.seed + 7)
        nll, count, nbytes = 0.0, 0.0, 0.0
        windows = loader.val_windows(self.data.shard_dir, self.cfg.model.block_size, limit,
                                     self.dist.rank, self.dist.world_size)
        with torch.no_grad(), self._autocast():
            for rows in loader.batched(windows, self.micro):
                kwargs = self._inputs(torch.from_numpy(rows))
                losses = self.objective.eval_losses(**kwargs)
                nll += losses.float().sum().item()
                count += losses.numel()
                if self.bytes_table is not None and getattr(self.objective, "per_token", False):
                    nbytes += float(self.bytes_table[rows[:, 1:]].sum())
        self.mask_gen.set_state(gen_state)
        self.objective.train()
        nll, count, nbytes = distributed.total(self.dist, [nll, count, nbytes])
        bpb = nll / (math.log(2) * nbytes) if nbytes > 0 else None
        return nll / max(count, 1.0), bpb

    # ---- checkpoints --------------------------------------------------------------------
    def save(self, step: int, val_loss: float | None) -> Path:
        """Write ``checkpoints/step-XXXXXXX`` (rank 0), move ``latest``/``best``, rotate."""
        import torch

        self.state.update(step=step, reader=self.reader.state_dict(),
                          config_hash=config_hash(self.cfg), world_size=self.dist.world_size,
                          rng={"torch": ck.rng_to_json(torch.get_rng_state()),
                               "mask": ck.rng_to_json(self.mask_gen.get_state())})
        path = ck.step_dir(self.out, step)
        best = self.state["best_val_loss"]
        is_best = val_loss is not None and (best is None or val_loss < best)
        if is_best:
            self.state.update(best_val_loss=val_loss, best_step=step)
        if self.dist.is_main:
            ck.write_checkpoint_dir(path, self.model, self.data.tokenizer, self.cfg,
                                    dict(self.state), self.optimizer, self.data.provenance,
                                    objective=self.objective)
            if is_best:
                ck.point(self.out, "best", path)
            ck.point(self.out, "latest", path)
            ck.rotate(self.out, self.cfg.train.keep_last)
        distributed.barrier(self.dist)
        return path

    def _callbacks(self, event: StepEnd, log: Any) -> None:
        """Run the callbacks without letting them touch training's RNG or mode; log their rows."""
        import torch

        row: dict[str, Any] = {}
        with torch.random.fork_rng(devices=[]):
            for fn in self.callbacks:
                row.update(fn(self, event) or {})
        self.objective.train()
        distributed.barrier(self.dist)
        if row and log is not None:
            log.write({"step": event.step, "tokens": event.tokens, **row})

    # ---- the loop -----------------------------------------------------------------------
    def setup(self) -> None:
        """Prepare data, model, optimizer and (on --resume) the saved state."""
        from pretrain.engine.presets import check_names

        check_names(self.cfg)  # an unknown arch/objective/optimizer/schedule fails before any work
        created = False
        if self.dist.is_main:
            check_run_dir(self.out, self.resume)
            created = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
        distributed.barrier(self.dist)
        try:
            self._setup_data()
            self._setup_model()
        except BaseException:
            if created and not any(self.out.iterdir()):
                self.out.rmdir()  # a run that never started leaves no empty folder behind
            raise

    def run(self) -> Result:
        """Train from the current step to ``train.max_steps``; returns the final figures."""
        from pretrain.engine.logging import Meter, RunLog, progress_bar

        self.setup()
        t, start = self.cfg.train, self.state["step"]
        log = (RunLog(self.out, start if self.resume else None, t.tensorboard)
               if self.dist.is_main else None)
        meter = Meter(self.flops_per_token, self.peak_flops)
        tokens_per_step = t.batch_size * self.cfg.model.block_size
        bar = progress_bar(total=t.max_steps, initial=start, desc=f"pretrain {self.cfg.model.arch}")
        t0, base = time.perf_counter(), self.state["elapsed_s"]
        self.objective.train()
        # A finished run resumed does no step: report its last validation, not nan.
        val_loss, val_bpb = last_validation(self.out) if start >= t.max_steps else (None, None)
        tps = 0.0
        try:
            for step in range(start, t.max_steps):
                meter.start()
                loss, norm = self.train_step(step)
                meter.stop(tokens_per_step)
                done = step + 1
                self.state["tokens"] += tokens_per_step
                self.state["elapsed_s"] = base + time.perf_counter() - t0
                last = done == t.max_steps
                evaluated = done % t.eval_every == 0 or last
                row = None
                if done % t.log_every == 0 or evaluated:
                    tps, mfu = meter.report()
                    loss = distributed.mean(self.dist, [loss])[0]
                    row = {"step": done, "tokens": self.state["tokens"], "loss": loss,
                           "lr": self.schedule(step), "grad_norm": norm, "tokens_per_s": tps,
                           "mfu": mfu, "elapsed_s": self.state["elapsed_s"]}
                    bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tps:,.0f}", mfu=f"{mfu:.1%}")
                if evaluated:
                    val_loss, val_bpb = self.evaluate(None if last else
                                                      t.eval_batches * self.micro)
                    row.update(val_loss=val_loss, val_bpb=val_bpb)
                    self.state["elapsed_s"] = base + time.perf_counter() - t0
                if row is not None and log is not None:
                    log.write(row)
                saved = None
                if done % t.ckpt_every == 0 or last:
                    saved = self.save(done, val_loss if evaluated else None)
                if self.callbacks:
                    self._callbacks(StepEnd(done, self.state["tokens"], last, saved), log)
                if evaluated and log is not None:
                    log.plot()
                bar.update(1)
        finally:
            bar.close()
            if log is not None:
                log.close()
        return Result(run_dir=self.out, checkpoint=ck.step_dir(self.out, t.max_steps),
                      steps=t.max_steps, tokens=self.state["tokens"], val_loss=val_loss or math.nan,
                      val_bpb=val_bpb, tokens_per_s=tps, elapsed_s=self.state["elapsed_s"],
                      n_params=self.model.num_params())


def pretrain(cfg: RunConfig, *, corpus: str | None = None, out: str | Path,
             resume: bool = False, teacher: str | None = None,
             callbacks: Sequence[Callback] = ()) -> Result:
    """Pretrain ``cfg`` on ``corpus`` (default: the preset's) into the run directory ``out``.

    Works the same under ``torchrun`` (DDP): ranks join the process group here.
    ``callbacks`` (see :data:`Callback`) run after every step, e.g. evaluations.
    """
    import torch

    dist = distributed.setup()
    # `auto` is decided here, once, so the run's config (and its hash) names what was used.
    cfg = replace(cfg, train=replace(cfg.train, precision=resolve_precision(
        cfg.train.precision, dist.device)))
    torch.set_float32_matmul_precision("high")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return Trainer(cfg, corpus or cfg.corpus, Path(out), resume=resume, teacher=teacher,
                       dist=dist, callbacks=callbacks).run()
    finally:
        distributed.teardown(dist)
