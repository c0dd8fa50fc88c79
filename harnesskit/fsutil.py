"""Small file-system helpers shared by every writer: hashing and atomic folder swaps."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
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


def check_writable_dir(path: str | Path, what: str = "folder") -> None:
    """Create ``path`` if needed and prove a file can be written in it (then removed);
    a read-only or full place is a one-line :class:`HarnessError` before any work starts."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".harness-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HarnessError(f"cannot write to {what} {path}: {exc.strerror or exc}",
                           hint="choose a writable place or fix its permissions") from None


def umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(old)
    return old


def temp_sibling(out: Path) -> Path:
    """A new, empty folder beside ``out`` to build it in, named after this process
    (``.NAME.tmpPID.XXXX``) with the user's umask (mkdtemp alone gives 0700).
    Leftovers of killed processes (dead PIDs) beside ``out`` are removed first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp{os.getpid()}.", dir=out.parent))
    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def remove_stale_temps(out: Path) -> list[Path]:
    """Remove ``.NAME.tmpPID*`` siblings of ``out`` whose process no longer runs."""
    removed = []
    for cand in out.parent.glob(f".{glob.escape(out.name)}.tmp*"):
        m = re.fullmatch(rf"\.{re.escape(out.name)}\.tmp(\d+)(\..*)?", cand.name)
        if m and not pid_alive(int(m.group(1))):
            if cand.is_dir():
                shutil.rmtree(cand, ignore_errors=True)
            else:
                cand.unlink(missing_ok=True)
            removed.append(cand)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary sibling (``.NAME.tmpPID.*``, the user's umask) to write ``path`` through:
    renamed over ``path`` when the block ends, removed if it fails. Readers see the old file
    or the new one, never a partial write; leftovers of killed writers are recognised by
    :func:`remove_stale_temps`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp{os.getpid()}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp alone would make it owner-only
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


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
