"""Results on disk (SPEC §5): ``OUT/<model-id>/<task>[@<setting>]/seed-<k>.json`` and
``predictions.jsonl``.

A result document (:class:`ResultDoc`, typed) holds the metric values with
their 95% bootstrap CIs, signatures, direction, level and recipe
(:class:`MetricResult`), the task (name, version, family, data hash), the model
(id, name, content hash, kind, parameters, pretraining tokens), the setting
(non-default limit, fine-tuning values, precision), the full evaluation config
and its key, timings and library versions. ``predictions.jsonl`` beside it holds
one line per example: id, input, prediction, references and, once scored, the
per-example ``scores`` and sufficient ``stats`` of every metric. Both are written
atomically. ``<model-id>`` is the model's folder, owned through ``model.json`` by
one content hash (:func:`claim_model_dir`), so different models never share one.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import platform
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import read_jsonl, safe_name, write_text_atomic

SCHEMA_VERSION = 2  # 2: setting, model name, metric direction/level/recipe/unit
LIBRARIES = ("pretrain-harness", "torch", "transformers", "tokenizers", "sacrebleu",
             "rouge-score", "nltk", "bert-score", "scikit-learn", "numpy", "lm-eval")


@dataclass(frozen=True, kw_only=True)
class MetricResult:
    """One metric of one result: the number, how it was made, and how to read it.

    ``direction`` (``higher``/``lower`` is better) and ``level`` (``corpus``: made
    from pooled statistics, so not the mean of the per-example scores;
    ``example``: that mean) come from the metric class, and ``recipe`` (how the
    corpus score is made from the per-example ``stats`` rows saved in
    ``predictions.jsonl``, see :mod:`harnesskit.resample`) lets ``leaderboard
    compare`` recompute it on resamples. ``unit`` names the scale where it differs
    between models (perplexity: per token of one tokenizer).
    """

    score: float | None
    ci: list[float] | None = None
    signature: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    direction: str = "higher"
    level: str = "corpus"
    recipe: dict[str, Any] | None = None
    unit: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        return {k: v for k, v in out.items() if v is not None or k in ("score", "ci", "recipe")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricResult:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """The task a result was scored on: its data is identified by version and data hash."""

    name: str
    version: str
    family: str
    data_hash: str
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # lm-eval tasks: version, shots ...

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskInfo:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: (str(v) if k == "version" else v) for k, v in data.items() if k in names},
                   extra={k: v for k, v in data.items() if k not in names})


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """The model block (``tasks.modelref.ModelRef.to_dict`` plus the run's loss curve)."""

    id: str
    content_hash: str
    kind: str = ""
    name: str = ""
    path: str = ""
    spec: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ResultDoc:
    """A results document (SPEC §5), typed; :meth:`to_dict` is its JSON layout."""

    key: str
    score_key: str | None
    config_hash: str
    setting: dict[str, Any]       # the non-default settings that change numbers (limit, ft.*, ...)
    status: str                   # ok | not_applicable
    reason: str | None
    model: ModelInfo
    task: TaskInfo
    mode: str
    seed: int
    metrics: dict[str, MetricResult]
    metric_order: list[str]
    config: dict[str, Any]
    timings: dict[str, float]
    versions: dict[str, str]
    created: float
    predictions: str | None = None
    n_examples: int | None = None
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["model"] = dataclasses.asdict(self.model)
        out["task"] = self.task.to_dict()
        out["metrics"] = {k: v.to_dict() for k, v in self.metrics.items()}
        return {k: v for k, v in out.items()
                if v is not None or k in ("reason", "score_key")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultDoc:
        """Read a document (older ones lack ``setting`` and the metrics' direction/level)."""
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["model"] = ModelInfo(**{k: v for k, v in data["model"].items()
                                   if k in {f.name for f in dataclasses.fields(ModelInfo)}})
        kw["task"] = TaskInfo.from_dict(data["task"])
        kw["metrics"] = {k: MetricResult.from_dict(v) for k, v in data.get("metrics", {}).items()}
        kw.setdefault("setting", {})
        for name in ("metric_order",):
            kw.setdefault(name, list(kw["metrics"]))
        for name in ("config", "timings", "versions"):
            kw.setdefault(name, {})
        kw.setdefault("created", 0.0)
        kw.setdefault("score_key", None)
        kw.setdefault("reason", None)
        return cls(**kw)


@dataclass(frozen=True)
class Result:
    """One (model, task, setting, seed) evaluation: the typed document and where it lives."""

    doc: ResultDoc
    path: Path | None = None

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        """The document as JSON-ready dicts (what the store and the files hold)."""
        return self.doc.to_dict()

    @property
    def model_id(self) -> str:
        return self.doc.model.id

    @property
    def task(self) -> str:
        return self.doc.task.name

    @property
    def seed(self) -> int:
        return int(self.doc.seed)

    @property
    def status(self) -> str:
        """``ok`` or ``not_applicable``."""
        return self.doc.status

    @property
    def reason(self) -> str | None:
        return self.doc.reason

    @property
    def metrics(self) -> dict[str, MetricResult]:
        return self.doc.metrics

    def score(self, name: str) -> float:
        """The value of one metric."""
        return float(self.metrics[name].score)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}={v.score:.4g}" for k, v in self.metrics.items()
                           if v.score is not None)
        return f"Result({self.model_id}, {self.task}, seed={self.seed}, {self.status}: {scores})"


def stable_hash(obj: Any, n: int = 16) -> str:
    """sha256 (first ``n`` hex digits) of the canonical JSON of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def setting_tag(setting: dict[str, Any]) -> str:
    """A readable, file-system-safe and one-to-one name for a setting (``""`` for the defaults).

    ``{"limit": 200, "ft.epochs": 1}`` -> ``limit-200_ft.epochs-1``; a value that the
    file system would alter (a space, a slash) is replaced by its hash, so that two
    different settings never share a folder.
    """
    parts = []
    for key, value in sorted(setting.items()):
        text = json.dumps(value) if not isinstance(value, str) else value
        if safe_name(text) != text:
            text = "h" + stable_hash(value, 8)
        parts.append(f"{key}-{text}")
    return "_".join(parts)


def result_dir(out: Path, model_id: str, task: str, mode: str = "finetune",
               setting: str = "") -> Path:
    """``OUT/<model-id>/<task>[.zeroshot][@<setting>]``: one folder per model, task, mode and
    setting, so that no evaluation overwrites another."""
    leaf = safe_name(task if mode == "finetune" else f"{task}.{mode}")
    if setting:
        leaf += f"@{setting}"
    return Path(out) / safe_name(model_id) / leaf


def result_path(out: Path, model_id: str, task: str, seed: int, mode: str = "finetune",
                setting: str = "") -> Path:
    """The results JSON of one (model, task, setting, seed)."""
    return result_dir(out, model_id, task, mode, setting) / f"seed-{seed}.json"


def predictions_path(out: Path, model_id: str, task: str, seed: int,
                     mode: str = "finetune", setting: str = "") -> Path:
    """The ``predictions.jsonl`` of one (model, task, setting, seed)."""
    name = "predictions.jsonl" if seed == 0 else f"predictions-seed-{seed}.jsonl"
    return result_dir(out, model_id, task, mode, setting) / name


MODEL_FILE = "model.json"  # in OUT/<model-id>/: which model (content hash) owns the folder


def claim_model_dir(out: Path, ref: Any) -> str:
    """The results folder name of a model in ``out``: the one it already owns, else its id
    (or ``<name>-<short hash>`` when another model owns that), claimed atomically.

    A model's folder is marked by ``model.json`` (its content hash), so two different
    models that share a name (two runs called ``gpt-tiny``) never share a folder.
    """
    out = Path(out)
    for marker in sorted(out.glob(f"*/{MODEL_FILE}")):
        if _owner(marker.parent) == ref.content_hash:
            return marker.parent.name
    for cand in dict.fromkeys([safe_name(ref.id), safe_name(f"{ref.name}-{ref.short_hash}"),
                               safe_name(f"{ref.name}-{ref.content_hash}")]):
        owner = _owner(out / cand)
        if owner in (None, ref.content_hash) and _claim(out / cand, ref, owner):
            return cand
    raise HarnessError(f"cannot claim a results folder for {ref.id} in {out}",
                       hint="another model owns every candidate name; use another --out")


def _owner(folder: Path) -> str | None:
    """The content hash of the model a results folder belongs to (None: free)."""
    try:
        return str(json.loads((folder / MODEL_FILE).read_text())["content_hash"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for path in sorted(folder.glob("*/seed-*.json"))[:1]:  # a folder from before model.json
        try:
            return str(json.loads(path.read_text())["model"]["content_hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return "unreadable"
    return None


def _claim(folder: Path, ref: Any, owner: str | None) -> bool:
    """Write ``model.json`` unless a concurrent process claimed the folder first (the file
    is written aside, then hard-linked into place: linking fails if the name exists)."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    if owner is not None and (folder / MODEL_FILE).is_file():
        return True
    tmp = folder / f".{MODEL_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"content_hash": ref.content_hash, "name": ref.name,
                               "kind": ref.kind, "spec": ref.spec}, indent=2) + "\n")
    try:
        os.link(tmp, folder / MODEL_FILE)
    except FileExistsError:
        return _owner(folder) == ref.content_hash
    finally:
        tmp.unlink()
    return True


def write_json(path: Path, data: Any) -> None:
    """Atomically write pretty JSON."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(path: Path) -> Any:
    """Read JSON; a malformed file is a user error naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HarnessError(f"no such file: {path}", hint="check the path") from exc
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})",
                           hint="delete it and re-run the evaluation") from exc


def write_result(path: Path, doc: ResultDoc) -> Result:
    """Atomically write one results document and return it as a :class:`Result`."""
    result = Result(doc, Path(path))
    write_json(path, result.data)
    return result


def read_result(path: Path) -> Result:
    """Read a results document written by :func:`write_result`."""
    return result_from_dict(read_json(path), path)


def result_from_dict(data: Any, path: Path) -> Result:
    """A :class:`Result` from a results document already read from ``path``."""
    try:
        return Result(ResultDoc.from_dict(data), Path(path))
    except (KeyError, TypeError, AttributeError) as exc:
        raise HarnessError(f"{path} is not a harness results file ({exc})",
                           hint="results files are written by `harness eval`") from None


def iter_results(out: Path) -> Iterator[Result]:
    """Every results document under an output folder."""
    for path in sorted(Path(out).glob("*/*/seed-*.json")):
        yield read_result(path)


def write_predictions(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write one JSON object per line."""
    lines = (json.dumps(r, ensure_ascii=False, sort_keys=True, default=_jsonable) for r in rows)
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Read ``predictions.jsonl``; a broken line is a user error naming the line."""
    return read_jsonl(path, missing_hint="run `harness eval` first",
                      broken_hint="delete the file and re-run the evaluation")


def library_versions() -> dict[str, str]:
    """Versions of Python and of every library that changes a number."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def _jsonable(obj: Any) -> Any:
    """JSON fallback for numpy scalars, tuples inside dataclasses, paths."""
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
