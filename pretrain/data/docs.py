"""Reading a built corpus back: its documents, one split at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from harnesskit.errors import HarnessError


def iter_documents(corpus_dir: str | Path, split: str) -> Iterator[dict]:
    """The documents of one split (``train`` or ``val``) of a built corpus, in file order."""
    path = Path(corpus_dir) / f"{split}.jsonl"
    if split not in ("train", "val"):
        raise HarnessError(f"unknown split {split!r}", hint="use train or val")
    if not path.is_file():
        raise HarnessError(f"no {split}.jsonl in {corpus_dir}",
                           hint="build the corpus first: harness data build SOURCE --out DIR")
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise HarnessError(f"{path}:{lineno} is not valid JSON",
                                       hint="the corpus is corrupt; rebuild it") from None


def is_corpus_dir(path: Path) -> bool:
    """True for a folder that holds a built corpus."""
    return (path / "train.jsonl").is_file() and (path / "val.jsonl").is_file()
