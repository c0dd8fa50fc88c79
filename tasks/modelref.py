"""One description of a model, resolved once: :class:`ModelRef` and :func:`resolve_model`.

A model is named by a checkpoint or run directory of ours, ``hf:PATH`` for a
local transformers directory, or ``baseline:NAME`` for one of a task's
baselines. :func:`resolve_model` reads the small files only (manifest, config,
training state, the safetensors header), never the weights, and gives the
evaluator, the tasks runner and the loaders one typed object to pass along:
nothing downstream parses the spec or opens the folder again to learn what it is.

:func:`content_hash` is the one content hash of a model folder, ours or hf:
sha256 over every file's relative name, size and sha256 (ours take the
sha256s from their verified ``MANIFEST.json``; hf folders are hashed file by
file, memoised per process on sizes and modification times).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import safe_name, sha256_file
from tasks.hfcheck import check_hf_folder

HASH_LEN = 16          # hex digits of a content hash
SHORT_HASH = 8         # hex digits shown beside a name that is not unique
GENERIC_DIR_NAMES = {"model", "models", "hf", "export", "checkpoint", "latest", "backbone"}
HF_KINDS = ("hf-encoder", "hf-causal")
# Head classes whose name says "encoder" (the base ``XModel`` class is decided by model_type).
_ENCODER_HEADS = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification",
                  "ForQuestionAnswering", "ForMultipleChoice", "ForPreTraining",
                  "ForNextSentencePrediction")
_CAUSAL_HEADS = ("ForCausalLM", "LMHeadModel")


@dataclass(frozen=True, kw_only=True)
class ModelRef:
    """A model named on the command line, resolved once (contract 1 of the helpers' brief)."""

    spec: str                       # as given (``runs/gpt``, ``hf:PATH``, ``baseline:NAME``)
    kind: str                       # gpt | bert | hf-encoder | hf-causal | baseline
    path: Path | None               # checkpoint directory (ours) or hf folder; None for baselines
    content_hash: str               # HASH_LEN hex digits of :func:`content_hash`
    name: str                       # readable, file-system safe
    id: str                         # unique among the models of one evaluation (name[-hash])
    config: dict[str, Any] = field(default_factory=dict)  # ours: config.json; hf: config.json
    step: int | None = None         # pretraining step (ours)
    tokens: int | None = None       # pretraining tokens seen (ours)
    params: int | None = None       # parameter count (from the config or safetensors header)
    run: Path | None = None         # the run directory holding metrics.jsonl, if any

    @property
    def is_baseline(self) -> bool:
        return self.kind == "baseline"

    @property
    def is_hf(self) -> bool:
        return self.kind in HF_KINDS

    @property
    def short_hash(self) -> str:
        return self.content_hash[:SHORT_HASH]

    @property
    def flops(self) -> float | None:
        """Estimated pretraining FLOPs, 6 * parameters * tokens (Kaplan et al. 2020)."""
        return 6.0 * self.params * self.tokens if self.params and self.tokens else None

    def with_id(self, new_id: str) -> ModelRef:
        """The same model under another (unique) id."""
        return dataclasses.replace(self, id=new_id)

    def to_dict(self) -> dict[str, Any]:
        """The ``model`` block of a results document."""
        info = {"id": self.id, "name": self.name, "params": self.params, "tokens": self.tokens,
                "flops": self.flops, "step": self.step,
                "arch": self.config.get("arch") or self.config.get("model_type"),
                "preset": (self.config.get("run") or {}).get("preset"),
                "run": str(self.run) if self.run else None}
        if self.is_baseline:
            info["baseline"] = self.spec.split(":", 1)[1]
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "content_hash": self.content_hash, "path": str(self.path or ""),
                "spec": self.spec, "info": info}


def resolve_model(spec: str | Path | ModelRef) -> ModelRef:
    """Resolve a model spec once: kind, path, content hash, config, size and provenance."""
    if isinstance(spec, ModelRef):
        return spec
    text = str(spec)
    if text.startswith("baseline:"):
        return _resolve_baseline(text)
    if text.startswith("hf:"):
        return _resolve_hf(text, Path(text[3:]).expanduser())
    return _resolve_ours(text, Path(text).expanduser())


def resolve_models(specs: Iterable[str | Path | ModelRef]) -> list[ModelRef]:
    """Resolve several models; the same content given twice is kept once, and names
    that collide (two runs both called ``gpt-tiny``) get their short hash in the id."""
    refs: list[ModelRef] = []
    for spec in specs:
        ref = resolve_model(spec)
        if all(r.content_hash != ref.content_hash for r in refs):
            refs.append(ref)
    return unique_ids(refs)


def unique_ids(refs: Sequence[ModelRef]) -> list[ModelRef]:
    """Give every model whose name another model shares the id ``name-<short hash>``."""
    counts: dict[str, int] = {}
    for r in refs:
        counts[r.id] = counts.get(r.id, 0) + 1
    return [r.with_id(f"{r.id}-{r.short_hash}") if counts[r.id] > 1 else r for r in refs]


# ----- the content hash -----------------------------------------------------
def content_hash(path: str | Path) -> str:
    """The content hash of a model folder (ours or hf): every file's name, size and sha256."""
    root = Path(path)
    manifest = root / "MANIFEST.json"
    if manifest.is_file():
        return _digest(_manifest_entries(manifest))
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    stamps = tuple((str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in files)
    return _hash_tree(root, stamps)


def _digest(entries: Iterable[tuple[str, int, str]]) -> str:
    h = hashlib.sha256()
    for name, size, sha in sorted(entries):
        h.update(f"{name}\0{size}\0{sha}\n".encode())
    return h.hexdigest()[:HASH_LEN]


def _manifest_entries(manifest: Path) -> list[tuple[str, int, str]]:
    """(name, size, sha256) of every file a checkpoint's manifest lists."""
    try:
        files = json.loads(manifest.read_text())["files"]
        return [(name, int(f["size"]), str(f["sha256"])) for name, f in files.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HarnessError(f"corrupt checkpoint manifest {manifest}: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None


@functools.lru_cache(maxsize=32)
def _hash_tree(root: Path, stamps: tuple[tuple[str, int, int], ...]) -> str:
    """Memoised on (name, size, mtime): the evaluator and every job hash the weights once."""
    return _digest((name, size, sha256_file(root / name)) for name, size, _ in stamps)


# ----- the three kinds ------------------------------------------------------
def _resolve_baseline(spec: str) -> ModelRef:
    name = spec.split(":", 1)[1]
    if not name:
        raise HarnessError(f"{spec!r} names no baseline", hint="write baseline:NAME, e.g. "
                           "baseline:majority (see `harness tasks show TASK`)")
    digest = hashlib.sha256(f"baseline:{name}".encode()).hexdigest()[:HASH_LEN]
    rid = f"baseline-{safe_name(name)}"
    return ModelRef(spec=spec, kind="baseline", path=None, content_hash=digest, name=rid, id=rid)


def _resolve_ours(spec: str, given: Path) -> ModelRef:
    """A checkpoint or run of ours from its small files; the parameter count comes from the
    weights file's header (no model is built and torch is not imported: a rerun whose
    results are all reused stays quick; the runner verifies every file when it loads)."""
    from pretrain.engine.checkpoint import read_config, resolve_checkpoint

    ckpt = resolve_checkpoint(given)
    cfg, raw = read_config(ckpt)
    try:
        state = json.loads((ckpt / "train_state.json").read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"checkpoint {ckpt} is not readable: {exc}",
                           hint="the checkpoint is damaged; use an earlier one") from None
    _check_sizes(ckpt)
    # written by the checkpoint itself; older ones: the weights file's header
    n_params = _int(raw.get("n_params")) or _safetensors_params(ckpt, ("model.safetensors",))
    name = _our_name(given, ckpt)
    return ModelRef(spec=spec, kind=cfg.model.arch, path=ckpt, content_hash=content_hash(ckpt),
                    name=name, id=name, config=raw, step=_int(state.get("step")),
                    tokens=_int(state.get("tokens")) or None, params=n_params,
                    run=_run_dir(given, ckpt))


def _check_sizes(ckpt: Path) -> None:
    """Every file the manifest lists, at its listed size: a truncated or missing file fails
    here, before any model work (the loader verifies the sha256s)."""
    if not (ckpt / "MANIFEST.json").is_file():
        return
    for name, size, _ in _manifest_entries(ckpt / "MANIFEST.json"):
        f = ckpt / name
        have = f.stat().st_size if f.is_file() else None
        if have != size:
            state = "missing" if have is None else f"truncated or altered ({have:,} bytes, " \
                                                   f"manifest says {size:,})"
            raise HarnessError(f"checkpoint file {f} is {state}",
                               hint="the checkpoint is damaged; use an earlier one")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def _our_name(given: Path, ckpt: Path) -> str:
    """Run name, or ``run@step-XXXXXXX`` when a specific checkpoint inside a run was named."""
    given = given.resolve()
    if given != ckpt.resolve():          # a run directory: its name
        return safe_name(given.name)
    if ckpt.parent.name == "checkpoints":
        return safe_name(f"{ckpt.parent.parent.name}@{ckpt.name}")
    if ckpt.name in GENERIC_DIR_NAMES:
        return safe_name(f"{ckpt.parent.name}-{ckpt.name}")
    return safe_name(ckpt.name)


def _run_dir(given: Path, ckpt: Path) -> Path | None:
    """The run directory holding ``metrics.jsonl``, if any."""
    for cand in (given, ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None):
        if cand is not None and (cand / "metrics.jsonl").is_file():
            return cand
    return None


def _resolve_hf(spec: str, path: Path) -> ModelRef:
    """A local transformers directory: its config decides encoder or causal LM."""
    # damaged folders fail here, before any model work; it returns the parsed config.json
    config = check_hf_folder(path)
    name = path.name if path.name not in GENERIC_DIR_NAMES else path.parent.name
    rid = f"hf-{safe_name(name)}"
    return ModelRef(spec=spec, kind=hf_kind(config, path), path=path,
                    content_hash=content_hash(path), name=rid, id=rid, config=config,
                    params=_safetensors_params(path))


def hf_kind(config: dict[str, Any], path: Path) -> str:
    """``hf-encoder`` or ``hf-causal`` from a transformers config (architectures, model_type)."""
    archs = [str(a) for a in config.get("architectures") or []]
    mtype = config.get("model_type")
    if config.get("is_encoder_decoder") or any(a.endswith("ForConditionalGeneration")
                                               for a in archs):
        raise HarnessError(f"hf:{path} is an encoder-decoder model ({', '.join(archs) or mtype}); "
                           "hf: takes encoders and causal language models",
                           hint="use an encoder (BERT-like) or decoder (GPT-like) folder")
    if config.get("is_decoder") or any(a.endswith(_CAUSAL_HEADS) for a in archs):
        return "hf-causal"
    if any(a.endswith(_ENCODER_HEADS) for a in archs):
        return "hf-encoder"
    causal, masked = _auto_model_types()
    if mtype in masked:
        return "hf-encoder"
    if mtype in causal:
        return "hf-causal"
    raise HarnessError(f"hf:{path} is neither an encoder nor a causal LM (model_type "
                       f"{mtype!r}, architectures {archs or 'none'})",
                       hint="hf: takes BERT-like encoders and GPT-like causal LMs")


@functools.cache
def _auto_model_types() -> tuple[frozenset[str], frozenset[str]]:
    """transformers' own lists of causal-LM and masked-LM model types (for configs without
    ``architectures``); imported lazily: transformers takes seconds to import."""
    from transformers.models.auto import modeling_auto as auto

    return (frozenset(auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES),
            frozenset(auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES))


def _safetensors_params(path: Path, names: Sequence[str] = ()) -> int | None:
    """Parameter count from the safetensors headers (no weights loaded): the files ``names``
    in ``path``, or every ``*.safetensors`` there."""
    from safetensors import SafetensorError, safe_open

    total = 0
    files = [path / n for n in names] if names else sorted(path.glob("*.safetensors"))
    for f in files:
        try:
            with safe_open(str(f), framework="numpy") as st:
                for key in st.keys():
                    n = 1
                    for d in st.get_slice(key).get_shape():
                        n *= d
                    total += n
        except (SafetensorError, OSError) as exc:
            raise HarnessError(f"{path}: cannot read {f.name}: {exc}",
                               hint="the weights file is damaged; re-save the model") from None
    return total if files else None
