"""Results on disk (SPEC §5): ``OUT/<model-id>/<task>/seed-<k>.json`` and ``predictions.jsonl``.

A result document holds the metric values with their 95% bootstrap CIs and
signatures, the task (name, version, family, data hash), the model (id, content
hash, kind, parameters, pretraining tokens), the full evaluation config and its
key, timings and library versions. ``predictions.jsonl`` beside it holds one line
per example: id, input, prediction, references and, once scored, the
per-example ``scores``. Both are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import read_jsonl, safe_name, write_text_atomic

SCHEMA_VERSION = 1
LIBRARIES = ("pretrain-harness", "torch", "transformers", "tokenizers", "sacrebleu",
             "rouge-score", "nltk", "bert-score", "scikit-learn", "numpy", "lm-eval")


@dataclass(frozen=True)
class Result:
    """One (model, task, seed) evaluation: the results document and where it lives."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def model_id(self) -> str:
        return self.data["model"]["id"]

    @property
    def task(self) -> str:
        return self.data["task"]["name"]

    @property
    def seed(self) -> int:
        return int(self.data["seed"])

    @property
    def status(self) -> str:
        """``ok``, ``not_applicable`` or ``unavailable``."""
        return self.data["status"]

    @property
    def reason(self) -> str | None:
        return self.data.get("reason")

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """name -> {score, ci, signature, details}."""
        return self.data.get("metrics", {})

    def score(self, name: str) -> float:
        """The value of one metric."""
        return float(self.metrics[name]["score"])

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}={v['score']:.4g}" for k, v in self.metrics.items())
        return f"Result({self.model_id}, {self.task}, seed={self.seed}, {self.status}: {scores})"


def stable_hash(obj: Any, n: int = 16) -> str:
    """sha256 (first ``n`` hex digits) of the canonical JSON of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def result_dir(out: Path, model_id: str, task: str, mode: str = "finetune") -> Path:
    """``OUT/<model-id>/<task>`` (zero-shot results go to ``<task>.zeroshot`` so both modes keep)."""
    leaf = task if mode == "finetune" else f"{task}.{mode}"
    return Path(out) / safe_name(model_id) / safe_name(leaf)


def result_path(out: Path, model_id: str, task: str, seed: int, mode: str = "finetune") -> Path:
    """The results JSON of one (model, task, seed)."""
    return result_dir(out, model_id, task, mode) / f"seed-{seed}.json"


def predictions_path(out: Path, model_id: str, task: str, seed: int,
                     mode: str = "finetune") -> Path:
    """The ``predictions.jsonl`` of one (model, task, seed); one file per seed keeps seeds apart."""
    name = "predictions.jsonl" if seed == 0 else f"predictions-seed-{seed}.jsonl"
    return result_dir(out, model_id, task, mode) / name


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


def write_result(path: Path, data: dict[str, Any]) -> Result:
    """Atomically write one results document and return it as a :class:`Result`."""
    data = {"schema": SCHEMA_VERSION, **data}
    write_json(path, data)
    return Result(data, Path(path))


def read_result(path: Path) -> Result:
    """Read a results document written by :func:`write_result`."""
    data = read_json(path)
    if not isinstance(data, dict) or not {"model", "task", "status", "key"} <= data.keys():
        raise HarnessError(f"{path} is not a harness results file",
                           hint="results files are written by `harness eval`")
    return Result(data, Path(path))


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
