"""Building, caching and hashing task data; deterministic splits by document.

Built splits live in ``data_home()/tasks/<name>-v<version>/`` as
``{train,validation,test}.jsonl`` plus ``meta.json`` (sizes and content hash),
written atomically (a temporary sibling directory, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir, temp_sibling
from harnesskit.paths import data_home
from tasks.example import SPLITS, Example

if TYPE_CHECKING:  # type hints only: Task calls into this module
    from tasks.base import Task

T = TypeVar("T")
FORMAT = 2  # bump when the on-disk layout or order of built splits changes
_META: dict[str, dict[str, Any]] = {}
_SPLITS: dict[str, list[Example]] = {}


def task_dir(task: Task) -> Path:
    """The cache directory of one task version."""
    return data_home() / "tasks" / f"{task.name}-v{task.version}"


def split_of(key: str, *, val: float = 0.1, test: float = 0.1, salt: str = "") -> str:
    """A deterministic split for a document key: hash -> train / validation / test."""
    h = int(hashlib.sha256(f"{salt}{key}".encode()).hexdigest()[:12], 16) / float(16**12)
    if h < test:
        return "test"
    if h < test + val:
        return "validation"
    return "train"


def split_by_document(groups: dict[str, Sequence[T]], *, val: float = 0.1, test: float = 0.1,
                      salt: str = "") -> dict[str, list[T]]:
    """Split items grouped by document so each split gets about its share of items.

    For few, uneven documents (plays, FAQ files) a per-document coin flip gives
    wildly uneven splits; instead documents are ordered by a salted hash and
    dealt to test, then validation, until each holds its share, the rest to train.
    """
    total = sum(len(v) for v in groups.values())
    order = sorted(groups, key=lambda k: hashlib.sha256(f"{salt}{k}".encode()).hexdigest())
    out: dict[str, list[T]] = {s: [] for s in SPLITS}
    for key in order:
        if len(out["test"]) < test * total:
            out["test"].extend(groups[key])
        elif len(out["validation"]) < val * total:
            out["validation"].extend(groups[key])
        else:
            out["train"].extend(groups[key])
    return out


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def _hash_dir(root: Path) -> str:
    h = hashlib.sha256()
    for split in SPLITS:
        h.update(split.encode())
        h.update((root / f"{split}.jsonl").read_bytes())
    return h.hexdigest()[:16]


def _shuffled(examples: list[Example]) -> list[Example]:
    """Examples in a fixed pseudo-random order (sha256 of the id).

    Builders read sources in file order (BBC by topic folder, Ding alphabetically),
    so the first N examples, what ``--limit`` and ``max_train`` keep, would be one
    topic or one letter; a hash order makes every prefix a fair sample.
    """
    return sorted(examples, key=lambda ex: hashlib.sha256(ex.id.encode()).hexdigest())


def write_splits(root: Path, splits: dict[str, list[Example]], extra: dict | None = None) -> dict:
    """Write the splits (in hash order) and ``meta.json`` atomically into ``root``."""
    splits = {s: _shuffled(list(splits.get(s, []))) for s in SPLITS}
    for split in SPLITS:
        ids = [ex.id for ex in splits[split]]
        assert len(ids) == len(set(ids)), f"duplicate example ids in {split}"
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(root)
    try:
        for split in SPLITS:
            _write_jsonl(tmp / f"{split}.jsonl", (ex.to_dict() for ex in splits[split]))
        meta = {"sizes": {s: len(splits[s]) for s in SPLITS}, "hash": _hash_dir(tmp),
                "format": FORMAT, **(extra or {})}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        replace_dir(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return meta


def ensure_built(task: Task) -> Path:
    """Build the task's data into its cache directory unless it is already there."""
    root = task_dir(task)
    if built_meta(task) is not None:  # a damaged or older cache is rebuilt below
        return root
    ok, why = task.available()
    if not ok:
        raise HarnessError(f"task {task.name!r} is not available here: {why}",
                           hint="see `harness tasks list` for what this machine has")
    splits = task.build()
    if not any(splits.get(s) for s in SPLITS):
        raise HarnessError(f"task {task.name!r} built no examples",
                           hint="check that its data source is installed (`make setup`)")
    write_splits(root, splits, {"task": task.name, "version": task.version,
                                "source": task.source})
    return root


def built_meta(task: Task) -> dict[str, Any] | None:
    """``meta.json`` of the task when its data is already built here, else None (never builds)."""
    path = task_dir(task) / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == FORMAT else None


def cached_meta(task: Task) -> dict[str, Any]:
    """``meta.json`` of the built task (building it first if needed)."""
    key = str(task_dir(task))
    if key not in _META:  # memoised: read once per process, not once per call
        root = ensure_built(task)
        _META[key] = json.loads((root / "meta.json").read_text())
    return _META[key]


def load_split(task: Task, split: str) -> list[Example]:
    """The examples of one split, read from the cache (building it first if needed)."""
    if split not in SPLITS:
        raise HarnessError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
    key = f"{task_dir(task)}/{split}"
    if key not in _SPLITS:  # memoised: per-example callers (few-shot) do not re-check the cache
        root = ensure_built(task)
        with (root / f"{split}.jsonl").open(encoding="utf-8") as f:
            _SPLITS[key] = [Example.from_dict(json.loads(line)) for line in f if line.strip()]
    return list(_SPLITS[key])


def clear_memo() -> None:
    """Forget split contents read in this process (tests that rebuild data use it)."""
    _META.clear()
    _SPLITS.clear()


def dedupe(items: Iterable[T], key: Callable[[T], Any]) -> list[T]:
    """Items in order, keeping the first of each ``key``."""
    seen: set[Any] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
