"""Small file-system helpers shared by every writer: hashing and atomic folder swaps."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def replace_dir(tmp: Path, out: Path) -> None:
    """Move a finished folder ``tmp`` to ``out`` atomically.

    An existing ``out`` is first renamed aside and removed only after the new
    one is in place, so a crash at any point leaves either the old or the new
    folder complete, never a half-written one.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = out.with_name(f".{out.name}.old{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
