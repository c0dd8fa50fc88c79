"""Checkpoint directories (SPEC §5): safetensors, a checksummed manifest, atomic writes.

A checkpoint directory holds ``config.json``, ``model.safetensors``,
``tokenizer.json``, ``train_state.json``, optionally ``optimizer.safetensors``,
and ``MANIFEST.json`` with the sha256 and size of every other file. It is
written into a temporary sibling and renamed into place, so a reader sees a
whole checkpoint or none. A run directory holds ``checkpoints/step-XXXXXXX/``
and the pointer files ``latest`` and ``best``. Anything corrupt, truncated or
inconsistent raises :class:`HarnessError` naming the offending file.
"""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnesskit.config import from_dict, to_dict
from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir, sha256_file, temp_sibling, write_text_atomic
from pretrain.engine.presets import RunConfig

FORMAT = "harness-checkpoint/1"
CKPT_DIR = "checkpoints"


@dataclass
class Loaded:
    """A checkpoint read back: the model in eval mode and everything around it."""

    model: Any
    tokenizer: Any
    config: RunConfig
    train_state: dict
    path: Path


def unwrap(model: Any) -> Any:
    """The plain module under DDP and ``torch.compile`` wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif hasattr(model, "module") and type(model).__name__ == "DistributedDataParallel":
            model = model.module
        else:
            return model


def rng_to_json(state: Any) -> str:
    """A torch RNG state (uint8 tensor) as base64 text for train_state.json."""
    return base64.b64encode(bytes(state.numpy().tobytes())).decode("ascii")


def rng_from_json(text: str) -> Any:
    """The inverse of :func:`rng_to_json`."""
    import torch

    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8).clone()


def _optimizer_tensors(optimizer: Any, extra_meta: dict) -> tuple[dict, dict]:
    """Flatten an optimizer state_dict into safetensors tensors plus JSON metadata."""
    import torch

    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    meta = {"param_groups": sd["param_groups"], "scalars": scalars, **extra_meta}
    return tensors, {"harness": json.dumps(meta)}


def _optimizer_state(tensors: dict, meta: dict) -> dict:
    """Rebuild an optimizer state_dict from :func:`_optimizer_tensors` output."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = meta["param_groups"]
    for g in groups:
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def objective_weights(objective: Any) -> dict:
    """An objective's own tensors (not its model's): ELECTRA's generator, say; often none."""
    objective = unwrap(objective)
    return {k: v.detach().cpu().contiguous() for k, v in objective.state_dict().items()
            if not k.startswith("model.")}


def load_objective_weights(objective: Any, ckpt: Path) -> None:
    """Restore the objective's own tensors from ``objective.safetensors`` (if it has any)."""
    from safetensors.torch import load_file

    own = objective_weights(objective)
    path = ckpt / "objective.safetensors"
    if not own:
        return
    if not path.is_file():
        raise HarnessError(f"{path} is missing: this checkpoint was not trained with the "
                           f"{getattr(objective, 'name', 'chosen')} objective",
                           hint="resume with the run's original --objective")
    weights = load_file(str(path))
    if set(weights) != set(own) or any(weights[k].shape != own[k].shape for k in own):
        raise HarnessError(f"{path} does not match the {getattr(objective, 'name', '')} "
                           "objective's tensors", hint="resume with the run's original settings")
    objective.load_state_dict({**{f"model.{k}": v for k, v in objective.model.state_dict().items()},
                               **weights})


def write_checkpoint_dir(final: Path, model: Any, tokenizer: Any, run_config: RunConfig,
                         train_state: dict, optimizer: Any = None,
                         provenance: dict | None = None, objective: Any = None) -> Path:
    """Write one checkpoint directory atomically (temporary sibling, then rename).

    ``objective``: its own tensors, if any, go to ``objective.safetensors`` (for resume);
    the model alone stays in ``model.safetensors``, which is what tasks and export read.
    """
    from safetensors.torch import save_file

    model = unwrap(model)
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)  # leftovers of killed saves (dead PIDs) are removed here
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save(str(tmp / "tokenizer.json"))
    config = {"format": FORMAT, "arch": run_config.model.arch, "run": to_dict(run_config),
              "n_params": model.num_params(), "tokenizer_vocab_size": tokenizer.get_vocab_size(),
              "provenance": provenance or {}}
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (tmp / "train_state.json").write_text(json.dumps(train_state, indent=1) + "\n")
    extra = objective_weights(objective) if objective is not None else {}
    if extra:
        save_file(extra, str(tmp / "objective.safetensors"), metadata={"format": "pt"})
    if optimizer is not None:
        tensors, meta = _optimizer_tensors(optimizer, train_state.get("optimizer_meta", {}))
        save_file(tensors, str(tmp / "optimizer.safetensors"), metadata=meta)
    files = {p.name: {"sha256": sha256_file(p), "size": p.stat().st_size}
             for p in sorted(tmp.iterdir())}
    (tmp / "MANIFEST.json").write_text(json.dumps({"format": FORMAT, "files": files},
                                                  indent=2) + "\n")
    replace_dir(tmp, final)  # re-saving a step after a resume swaps the old one out
    return final


def save_model_checkpoint(out_dir: Path, model: Any, tokenizer: Any, run_config: RunConfig,
                          extra: dict | None = None) -> Path:
    """A weights-only checkpoint (no optimizer) at ``out_dir``, written atomically."""
    from harnesskit.config import config_hash

    state = {"step": 0, "tokens": 0, "config_hash": config_hash(run_config), **(extra or {})}
    return write_checkpoint_dir(Path(out_dir), model, tokenizer, run_config, state)


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory: ``path`` itself, or what a run directory's ``latest`` names."""
    p = Path(path)
    if not p.exists():
        raise HarnessError(f"checkpoint {p} does not exist",
                           hint="pass a run directory or a checkpoints/step-XXXXXXX directory")
    if (p / "MANIFEST.json").is_file():
        return p
    pointer = p / "latest"
    if pointer.is_file():
        target = p / pointer.read_text().strip()
        if not (target / "MANIFEST.json").is_file():
            raise HarnessError(f"{pointer} points to {target}, which is not a checkpoint",
                               hint="delete the pointer or resume from an existing step")
        return target
    raise HarnessError(f"{p} is not a checkpoint (no MANIFEST.json) nor a run (no latest)",
                       hint="train one with `harness pretrain --out DIR` first")


def verify_manifest(ckpt: Path) -> dict:
    """Check every file of the manifest for presence, size and sha256; return the manifest."""
    mpath = ckpt / "MANIFEST.json"
    try:
        manifest = json.loads(mpath.read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"corrupt checkpoint manifest {mpath}: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None
    for name, info in files.items():
        f = ckpt / name
        if not f.is_file():
            raise HarnessError(f"checkpoint file {f} is missing",
                               hint="the checkpoint is incomplete; use an earlier one")
        if f.stat().st_size != info["size"]:
            raise HarnessError(f"checkpoint file {f} is truncated or altered "
                               f"({f.stat().st_size} bytes, manifest says {info['size']})",
                               hint="the checkpoint is damaged; use an earlier one")
        if sha256_file(f) != info["sha256"]:
            raise HarnessError(f"checkpoint file {f} fails its sha256 check",
                               hint="the checkpoint is damaged; use an earlier one")
    return manifest


def read_config(ckpt: Path) -> tuple[RunConfig, dict]:
    """The run config and the raw config.json of a checkpoint."""
    path = ckpt / "config.json"
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT!r}")
        return from_dict(RunConfig, _migrate(raw["run"])), raw
    except (OSError, ValueError, KeyError, TypeError, HarnessError) as exc:
        raise HarnessError(f"checkpoint config {path} is not readable: {exc}",
                           hint="was it written by a different version of harness?") from None


def _migrate(run: dict) -> dict:
    """A config.json "run" of an earlier version in today's layout (same meaning)."""
    train = dict(run.get("train", {}))
    moved = {"optim": train.pop("optimizer", None), "schedule": train.pop("schedule", None)}
    run = {**run, "train": train}
    for section, name in moved.items():
        if name is not None:
            run[section] = {**run.get(section, {}), "name": name}
    return run


def load_weights(model: Any, path: Path, map_location: str = "cpu") -> None:
    """Load ``model.safetensors`` into ``model``, refusing any name or shape mismatch."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as exc:
        raise HarnessError(f"cannot read weights {path}: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    bad = [k for k in own.keys() & weights.keys() if own[k].shape != weights[k].shape]
    if missing or unexpected or bad:
        detail = (f"missing {missing[:3]}" if missing else
                  f"unexpected {unexpected[:3]}" if unexpected else
                  f"shape of {bad[0]} is {tuple(weights[bad[0]].shape)}, "
                  f"config says {tuple(own[bad[0]].shape)}")
        raise HarnessError(f"weights {path} do not match the checkpoint's config: {detail}",
                           hint="config.json and model.safetensors come from different models")
    model.load_state_dict(weights)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Loaded:
    """Verify and load a checkpoint (or a run's ``latest``) into an eval-mode model."""
    from tokenizers import Tokenizer

    from pretrain.engine.model import build_model

    ckpt = resolve_checkpoint(path)
    verify_manifest(ckpt)
    cfg, _ = read_config(ckpt)
    model = build_model(cfg.model)
    load_weights(model, ckpt / "model.safetensors", map_location)
    model.to(map_location).eval()
    tok_path = ckpt / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(tok_path))
    except Exception as exc:  # tokenizers raises a bare Exception for bad JSON
        raise HarnessError(f"cannot read tokenizer {tok_path}: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None
    if tokenizer.get_vocab_size() > cfg.model.vocab_size:
        raise HarnessError(f"tokenizer {tok_path} has {tokenizer.get_vocab_size()} tokens but "
                           f"the model only {cfg.model.vocab_size}",
                           hint="the checkpoint mixes files of different runs")
    state_path = ckpt / "train_state.json"
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"cannot read {state_path}: {exc}") from None
    return Loaded(model=model, tokenizer=tokenizer, config=cfg, train_state=state, path=ckpt)


def load_optimizer_state(ckpt: Path, optimizer: Any) -> dict:
    """Restore ``optimizer`` from ``optimizer.safetensors``; return the stored extra metadata."""
    from safetensors import SafetensorError, safe_open

    path = ckpt / "optimizer.safetensors"
    if not path.is_file():
        raise HarnessError(f"{path} is missing, so this checkpoint cannot be resumed",
                           hint="it is a weights-only checkpoint; start a new run from scratch")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["harness"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        optimizer.load_state_dict(_optimizer_state(tensors, meta))
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise HarnessError(f"cannot restore optimizer state from {path}: {exc}",
                           hint="the checkpoint is damaged or from a different optimizer") from None
    return {k: v for k, v in meta.items() if k not in ("param_groups", "scalars")}


def step_dir(run_dir: Path, step: int) -> Path:
    """``RUN/checkpoints/step-XXXXXXX``."""
    return Path(run_dir) / CKPT_DIR / f"step-{step:07d}"


def rotate(run_dir: Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` checkpoints, never the ``best`` one."""
    root = Path(run_dir) / CKPT_DIR
    keep = set()
    for name in ("best", "latest"):
        pointer = Path(run_dir) / name
        if pointer.is_file():
            keep.add(Path(pointer.read_text().strip()).name)
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    keep.update(p.name for p in steps[-keep_last:])
    for p in steps:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
    for stale in root.glob(".tmp-*"):  # left by a killed writer
        shutil.rmtree(stale, ignore_errors=True)


def point(run_dir: Path, name: str, ckpt: Path) -> None:
    """Atomically set the pointer file ``RUN/name`` (``latest`` or ``best``) to ``ckpt``."""
    write_text_atomic(Path(run_dir) / name, str(ckpt.relative_to(run_dir)) + "\n")
