"""The names of lm-evaluation-harness tasks, groups and tags, read from their YAML files.

lm-eval's own ``TaskManager`` parses every one of its ~14,000 YAML files with
their include chains (about 25 s here) before it can name a task. This index
reads the same files without importing lm-eval: most files are read with one
regular expression over their top-level keys, and only files whose structure
needs it (groups, list-valued keys, and every file of a user's ``--include``
folder) go through a YAML parser; ``include:`` chains are merged as lm-eval
merges them (included keys first, the file's own keys win). The index of the
installed lm-eval is cached per version under the data home; ``--include``
folders are read each time. ``tests/tasks/test_lmeval_vs_lmeval.py`` (slow) checks the
names against ``TaskManager``'s.

Availability is decided from the YAML alone: local data files named in the
YAML must exist; hub datasets must be in the local datasets or hub cache
(nothing is downloaded at run time here).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harnesskit.fsutil import write_text_atomic
from harnesskit.paths import data_home

# Builders of `datasets` that read local files (dataset_path: json + data_files).
LOCAL_BUILDERS = {"json", "csv", "parquet", "text", "arrow", "pandas", "xml", "webdataset",
                  "imagefolder", "audiofolder"}
_TOP = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?:[ \t]*(.*?)[ \t]*$", re.M)
_IGNORE_DIRS = {"__pycache__", ".ipynb_checkpoints"}
INDEX_FORMAT = 2
# The top-level keys the index reads; a file whose other keys are complex needs no parse.
_KEYS = {"task", "group", "tag", "class", "include", "dataset_path", "dataset_name",
         "output_type", "dataset_kwargs", "task_list", "custom_dataset"}


@dataclass
class Entry:
    """One name of the index: a task (YAML or Python class), a group or a tag."""

    name: str
    kind: str                      # "task" | "group" | "tag"
    path: str | None = None        # the YAML file that defines it (None for tags)
    output_type: str | None = None
    dataset_path: str | None = None
    dataset_name: str | None = None
    data_files: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)   # group: its task list; tag: its tasks
    python_class: bool = False
    custom_dataset: bool = False   # data made by a Python function (``custom_dataset:``)


# ----- reading one file -----------------------------------------------------------
def _loader() -> type:
    """A YAML loader that keeps ``!function x.y`` as a string (nothing is imported)."""
    import yaml

    base = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    Loader.add_constructor("!function",
                           lambda loader, node: "!function " + loader.construct_scalar(node))
    return Loader


_LOADER: type | None = None


def parse_yaml(path: Path) -> dict[str, Any]:
    """Parse one lm-eval YAML file (no includes resolved, ``!function`` kept as text)."""
    import yaml

    global _LOADER
    _LOADER = _LOADER or _loader()
    data = yaml.load(Path(path).read_bytes(), Loader=_LOADER)  # noqa: S506 (safe loader subclass)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def _quick(path: Path) -> dict[str, Any]:
    """Top-level scalar keys by regular expression; a full parse when the file needs it."""
    text = path.read_text(encoding="utf-8", errors="replace")
    out: dict[str, Any] = {}
    for key, raw in _TOP.findall(text):
        if key not in _KEYS:
            continue
        value = raw.split(" #", 1)[0].strip()
        if key in ("group", "dataset_kwargs") or value == "" or value[0] in "[{|>&*!-":
            return parse_yaml(path)
        out[key] = _str(value)
    return out


# ----- merging include chains ------------------------------------------------------
def merged_config(path: Path, memo: dict[Path, dict[str, Any]], full: bool,
            seen: frozenset[Path] = frozenset()) -> dict[str, Any]:
    """The file's config with its ``include:`` chain merged as lm-eval merges it."""
    path = Path(os.path.normpath(os.path.abspath(path)))  # no realpath: 20x fewer stats
    if path in memo:
        return memo[path]
    if path in seen:
        raise ValueError(f"include cycle at {path}")
    cfg = dict(parse_yaml(path) if full else _quick(path))
    includes = cfg.pop("include", None)
    if includes is not None:
        merged: dict[str, Any] = {}
        for inc in includes if isinstance(includes, list) else [includes]:
            inc_path = Path(inc) if Path(inc).is_absolute() else path.parent / str(inc)
            sub = dict(merged_config(inc_path, memo, full, seen | {path}))
            sub.pop("task_list", None)
            merged.update(sub)
        merged.update(cfg)
        cfg = merged
    memo[path] = cfg
    return cfg


def _entry_of(cfg: dict[str, Any], path: Path) -> Entry | None:
    """The index entry of one merged config (lm-eval's ``TaskIndex._kind_of``)."""
    kwargs = cfg.get("dataset_kwargs") if isinstance(cfg.get("dataset_kwargs"), dict) else {}
    files = kwargs.get("data_files") if kwargs else None
    data_files = ([files] if isinstance(files, str) else list(files.values())
                  if isinstance(files, dict) else list(files or []))
    common = {"path": str(path), "output_type": _str(cfg.get("output_type")),
              "dataset_path": _str(cfg.get("dataset_path")),
              "dataset_name": _str(cfg.get("dataset_name")),
              "custom_dataset": "custom_dataset" in cfg,
              "data_files": [str(f) for fs in data_files
                             for f in (fs if isinstance(fs, list) else [fs])]}
    if "class" in cfg and isinstance(cfg.get("task"), str):
        return Entry(name=cfg["task"], kind="task", python_class=True, **common)
    if "group" in cfg and isinstance(cfg["group"], str):
        tasks = cfg.get("task") if isinstance(cfg.get("task"), list) else []
        members = [t if isinstance(t, str) else str(t.get("task") or t.get("group"))
                   for t in tasks if isinstance(t, (str, dict))]
        return Entry(name=cfg["group"], kind="group", members=members, **common)
    if isinstance(cfg.get("task"), str):
        return Entry(name=cfg["task"], kind="task", **common)
    return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text


def _tags(cfg: dict[str, Any]) -> list[str]:
    tag = cfg.get("tag")
    return [str(t) for t in (tag if isinstance(tag, list) else [tag] if tag else [])]


def scan(root: Path, *, full: bool = False) -> dict[str, Entry]:
    """Every task, group and tag defined under ``root`` (first definition of a name wins)."""
    memo: dict[Path, dict[str, Any]] = {}
    index: dict[str, Entry] = {}
    files = sorted((p for p in Path(root).glob("**/*.yaml")
                    if not _IGNORE_DIRS & set(p.parts)), key=lambda p: p.as_posix())
    for path in files:
        try:
            cfg = merged_config(path, memo, full)
            entry = _entry_of(cfg, path)
        except Exception:  # lm-eval's own index skips files it cannot read; so do we
            continue
        if entry is None or entry.name in index:
            continue
        index[entry.name] = entry
        if entry.kind == "task":
            for tag in _tags(cfg):
                index.setdefault(tag, Entry(name=tag, kind="tag")).members.append(entry.name)
    return index


# ----- the whole index -------------------------------------------------------------
def builtin_root() -> Path | None:
    """lm-eval's own task folder, found without importing lm-eval (None when not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def cache_path() -> Path | None:
    """Where the installed lm-eval's index is cached (None when lm-eval is not installed)."""
    from tasks.lmeval import lmeval_version

    version = lmeval_version()
    return None if version is None else data_home() / "lmeval" / f"index-{version}.json"


def ensure_index() -> Path | None:
    """Build the cached index of the installed lm-eval unless it exists (``make setup``)."""
    cache = cache_path()
    if cache is not None and not cache.is_file():
        _builtin_index()
    return cache


_MEMO: dict[Path, dict[str, Entry]] = {}


def _builtin_index() -> dict[str, Entry]:
    """The installed lm-eval's index, cached per version in the data home (and per process)."""
    root, cache = builtin_root(), cache_path()
    if root is None or cache is None:
        return {}
    if cache not in _MEMO:
        _MEMO[cache] = _read_or_build(root, cache)
    return _MEMO[cache]


def _read_or_build(root: Path, cache: Path) -> dict[str, Entry]:
    try:
        data = json.loads(cache.read_text())
        if data.get("format") == INDEX_FORMAT and data.get("root") == str(root):
            return {e["name"]: Entry(**e) for e in data["entries"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    index = scan(root)
    payload = {"format": INDEX_FORMAT, "root": str(root),
               "entries": [asdict(e) for e in index.values()]}
    try:
        write_text_atomic(cache, json.dumps(payload))
    except OSError:  # a read-only data home only costs the next listing a rescan
        pass
    return index


_INCLUDES: list[Path] = []


def add_include(folder: str | Path) -> list[str]:
    """Add a folder of lm-eval YAMLs (their layout) to the index; returns the names it defines."""
    folder = Path(folder).resolve()
    if folder not in _INCLUDES:
        _INCLUDES.append(folder)
    return sorted(scan(folder, full=True))


def includes() -> list[Path]:
    """The ``--include`` folders added so far (in order)."""
    return list(_INCLUDES)


def reset_includes() -> None:
    """Forget the ``--include`` folders (tests)."""
    _INCLUDES.clear()


def is_lmeval_folder(folder: str | Path) -> bool:
    """Whether a folder holds lm-eval YAMLs (``task:``/``group:`` keys) rather than ours."""
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(folder.glob("**/*.yaml"))[:50]
    for path in files:
        try:
            cfg = _quick(path)
        except Exception:
            continue
        if ("task" in cfg or "group" in cfg or "include" in cfg) and "family" not in cfg:
            return True
    return False


def included_index() -> dict[str, Entry]:
    """The names defined by the ``--include`` folders (later folders win)."""
    index: dict[str, Entry] = {}
    for folder in _INCLUDES:
        index.update(scan(folder, full=True))
    return index


def load_index() -> dict[str, Entry]:
    """Every lm-eval name: the installed package's, then ``--include`` folders (which win)."""
    return {**_builtin_index(), **included_index()}


def index_for(name: str) -> dict[str, Entry]:
    """An index that defines ``name`` and everything under it: the ``--include`` folders alone
    when they do (a rerun of one's own YAMLs never reads the 14,000-name index), else all."""
    own = included_index()
    if name in own and all(m in own for n in _under(name, own) for m in own[n].members):
        return own
    return load_index()


def _under(name: str, index: dict[str, Entry]) -> set[str]:
    """``name`` and every group or tag below it."""
    out, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n in out or n not in index:
            continue
        out.add(n)
        todo.extend(index[n].members)
    return out


def entry(name: str, index: dict[str, Entry] | None = None) -> Entry:
    """The entry for a bare lm-eval name; unknown names are a HarnessError with close matches."""
    from harnesskit.errors import HarnessError

    index = load_index() if index is None else index
    if name in index:
        return index[name]
    import difflib

    close = difflib.get_close_matches(name, list(index), n=3)
    hint = (f"did you mean {', '.join('lmeval:' + c for c in close)}?" if close
            else "see `harness tasks list --lmeval`")
    raise HarnessError(f"unknown lm-eval task or group {name!r}", hint=hint)


def leaves(name: str, index: dict[str, Entry], _seen: frozenset[str] = frozenset()) -> list[str]:
    """The leaf task names under a task, group or tag (in order, without repeats)."""
    e = index.get(name)
    if e is None or name in _seen:
        return [name] if e is None else []
    if e.kind == "task":
        return [name]
    out: list[str] = []
    for member in e.members:
        for leaf in leaves(member, index, _seen | {name}):
            if leaf not in out:
                out.append(leaf)
    return out


def folders(name: str, index: dict[str, Entry]) -> list[Path]:
    """The folders whose YAMLs lm-eval must index to build ``name`` and everything under it."""
    out: list[Path] = []

    def visit(n: str, seen: frozenset[str]) -> None:
        e = index.get(n)
        if e is None or n in seen:
            return
        if e.path and Path(e.path).parent not in out:
            out.append(Path(e.path).parent)
        for member in e.members:
            visit(member, seen | {n})

    visit(name, frozenset())
    return out


# ----- availability ----------------------------------------------------------------
def _hf_cache_dirs() -> tuple[Path, Path]:
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")).expanduser()
    ds = Path(os.environ.get("HF_DATASETS_CACHE", home / "datasets")).expanduser()
    hub = Path(os.environ.get("HF_HUB_CACHE", home / "hub")).expanduser()
    return ds, hub


def cached_names() -> frozenset[str]:
    """Folder names in the datasets cache and the hub cache (read once per call of a listing)."""
    names: set[str] = set()
    for d in _hf_cache_dirs():
        try:
            names.update(os.listdir(d))
        except OSError:
            continue
    return frozenset(names)


def dataset_available(e: Entry, cached: frozenset[str] | None = None) -> tuple[bool | None, str]:
    """Whether a task's data can be read here without a network, and why not."""
    path = e.dataset_path
    if e.custom_dataset:
        return None, "its data is made by a Python function (custom_dataset): not checked offline"
    if not path:
        if e.python_class:
            return None, "a Python task class: its data source is not declared in YAML"
        return False, "no dataset_path in its YAML"
    if path in LOCAL_BUILDERS:
        missing = [f for f in e.data_files if not os.path.exists(f)]
        if not e.data_files:
            return False, f"dataset_path {path} without data_files"
        return (False, f"data file {missing[0]} not found") if missing else (True, "")
    if os.path.exists(os.path.expanduser(path)):
        return True, ""
    cached = cached_names() if cached is None else cached
    flat = path.replace("/", "___")
    if {flat, flat.lower(), f"datasets--{path.replace('/', '--')}"} & cached:
        return True, ""
    return False, (f"dataset {path} is not in the local datasets cache and cannot be "
                   "downloaded here (offline)")


def availability(name: str, index: dict[str, Entry],
                 memo: dict[str, tuple[bool | None, str]] | None = None,
                 cached: frozenset[str] | None = None) -> tuple[bool | None, str]:
    """(available, reason) for a task, group or tag; a group needs every leaf task.

    ``memo`` and ``cached`` (:func:`cached_names`) let a listing check thousands of names
    with one read of the cache folders.
    """
    memo = {} if memo is None else memo
    cached = cached_names() if cached is None else cached
    e = index.get(name)
    if e is None:
        return False, f"unknown task {name!r}"
    if e.kind == "task":
        if name not in memo:
            memo[name] = dataset_available(e, cached)
        return memo[name]
    for leaf in leaves(name, index):
        if leaf not in index:
            return False, f"member {leaf!r} is not defined"
        ok, why = availability(leaf, index, memo, cached)
        if not ok:
            return ok, f"{leaf}: {why}"
    return True, ""
