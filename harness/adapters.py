"""What the evaluator knows of a model before running it: id, kind, content hash, size.

A model is named by a checkpoint or run directory of ours (``gpt`` or ``bert``),
``hf:PATH`` for a local transformers directory, or, internally, a task baseline.
:func:`describe_model` reads just enough to key results (the content hash), to
fill the leaderboard's size columns (parameters, pretraining tokens, estimated
training FLOPs = 6 * N * tokens) and to draw the run's loss curve from its
``metrics.jsonl``. Running the model is the tasks runner's job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import safe_name
from harnesskit.errors import HarnessError
from tasks.models import hf_content_hash

CURVE_POINTS = 200  # loss-curve points kept per run (evenly thinned)
GENERIC_DIR_NAMES = {"model", "models", "hf", "export", "checkpoint", "latest"}


@dataclass(frozen=True)
class ModelRef:
    """A model as the evaluator records it."""

    spec: str                 # what is passed to the tasks runner
    id: str                   # readable, file-system-safe name (results folder)
    kind: str                 # gpt | bert | hf | baseline
    content_hash: str         # 16 hex; keys every result of this model
    path: str = ""
    info: dict[str, Any] = field(default_factory=dict)  # params, tokens, flops, curve, ...

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "content_hash": self.content_hash,
                "path": self.path, "spec": self.spec, "info": self.info}


def describe_model(spec: str | Path) -> ModelRef:
    """Describe one model named on the command line (checkpoint/run dir or ``hf:PATH``)."""
    text = str(spec)
    if text.startswith("hf:"):
        return _describe_hf(Path(text[3:]).expanduser())
    return _describe_ours(Path(text).expanduser())


def baseline_ref(task_name: str, name: str) -> ModelRef:
    """A task baseline as a reference 'model' (no parameters, no pretraining)."""
    digest = hashlib.sha256(f"baseline:{name}".encode()).hexdigest()[:16]
    return ModelRef(spec=f"baseline:{name}", id=f"baseline-{safe_name(name)}", kind="baseline",
                    content_hash=digest, info={"id": f"baseline-{name}", "baseline": name})


def _describe_ours(path: Path) -> ModelRef:
    """A checkpoint of ours, from its small files: manifest hash, config and training state.

    No weights are read and no file is hashed here (a rerun that reuses every result
    should not pay for that): the parameter count comes from the model built on the
    meta device, and the tasks runner verifies the checkpoint when it loads it to run.
    """
    import torch

    from pretrain.engine.checkpoint import read_config, resolve_checkpoint
    from pretrain.engine.model import build_model

    ckpt = resolve_checkpoint(path)
    cfg, _ = read_config(ckpt)
    try:
        content_hash = hashlib.sha256((ckpt / "MANIFEST.json").read_bytes()).hexdigest()[:16]
        state = json.loads((ckpt / "train_state.json").read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"checkpoint {ckpt} is not readable: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None
    with torch.device("meta"):
        n_params = int(build_model(cfg.model).num_params())
    tokens = state.get("tokens")
    tokens = int(tokens) if tokens else None
    run_dir = _run_dir(path, ckpt)
    info = {"id": _our_id(path, ckpt), "arch": cfg.model.arch,
            "preset": cfg.preset, "params": n_params, "tokens": tokens,
            "flops": 6.0 * n_params * tokens if tokens else None,
            "step": state.get("step"), "checkpoint": str(ckpt),
            "curve": read_curve(run_dir / "metrics.jsonl") if run_dir else None}
    return ModelRef(spec=str(path), id=info["id"], kind=cfg.model.arch,
                    content_hash=content_hash, path=str(ckpt), info=info)


def _our_id(given: Path, ckpt: Path) -> str:
    """Run name, or ``run@step-XXXXXXX`` when a specific checkpoint inside a run was named."""
    given = given.resolve()
    if given != ckpt.resolve():          # a run directory: its name
        return safe_name(given.name)
    if ckpt.parent.name == "checkpoints":
        return safe_name(f"{ckpt.parent.parent.name}@{ckpt.name}")
    return safe_name(ckpt.name)


def _run_dir(given: Path, ckpt: Path) -> Path | None:
    """The run directory holding ``metrics.jsonl``, if any."""
    for cand in (given, ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None):
        if cand is not None and (cand / "metrics.jsonl").is_file():
            return cand
    return None


def read_curve(path: Path) -> dict[str, list] | None:
    """Training and validation loss by step from a run's ``metrics.jsonl`` (thinned)."""
    steps, loss, val = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a run interrupted mid-line leaves a partial last line
        if "step" not in rec or ("loss" not in rec and "val_loss" not in rec):
            continue
        steps.append(rec["step"])
        loss.append(rec.get("loss"))
        val.append(rec.get("val_loss"))
    if not steps:
        return None
    keep = _thin(len(steps), CURVE_POINTS, [i for i, v in enumerate(val) if v is not None])
    return {"step": [steps[i] for i in keep], "loss": [loss[i] for i in keep],
            "val_loss": [val[i] for i in keep]}


def _thin(n: int, k: int, always: list[int]) -> list[int]:
    """About ``k`` evenly spaced indices of ``range(n)``, plus ``always`` and the last one."""
    stride = max(1, n // k)
    return sorted(set(range(0, n, stride)) | set(always) | {n - 1})


def _describe_hf(path: Path) -> ModelRef:
    """A local transformers directory: hash of its files, parameters from the weights header."""
    if not (path / "config.json").is_file():
        raise HarnessError(f"hf:{path} is not a transformers model directory (no config.json)",
                           hint="pass hf:PATH to a folder saved with save_pretrained")
    config = json.loads((path / "config.json").read_text())
    name = path.name if path.name not in GENERIC_DIR_NAMES else path.parent.name
    info = {"id": f"hf-{safe_name(name)}", "arch": config.get("model_type"),
            "params": _safetensors_params(path), "tokens": None, "flops": None, "curve": None}
    return ModelRef(spec=f"hf:{path}", id=info["id"], kind="hf", content_hash=hf_content_hash(path),
                    path=str(path), info=info)



def _safetensors_params(path: Path) -> int | None:
    """Parameter count from the safetensors header (no weights loaded)."""
    from safetensors import safe_open

    files = sorted(path.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for f in files:
        with safe_open(str(f), framework="numpy") as st:
            for key in st.keys():
                n = 1
                for d in st.get_slice(key).get_shape():
                    n *= d
                total += n
    return total
