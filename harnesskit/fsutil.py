"""Small file-system helpers shared by every writer: hashing and atomic folder swaps."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safe_name(text: str) -> str:
    """A file-system-safe version of a model or task name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, then rename it over ``path``.

    Readers see the old file or the new one, never a partial write; the
    temporary file is removed if the write fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_jsonl(path: str | Path, *, missing_hint: str, broken_hint: str) -> list[dict[str, Any]]:
    """One JSON object a line (blank lines skipped); a missing file or broken line is a
    :class:`HarnessError` naming the file and line, with the caller's hint."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"file not found: {path}", hint=missing_hint) from None
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                           hint=broken_hint) from None
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{path}:{i} is not valid JSON ({exc.msg})",
                               hint=broken_hint) from None
    return rows


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
