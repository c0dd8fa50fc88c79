"""One registry for tasks, three ways in: decorated classes, YAML files, entry points.

Everything lands in the same table, filled lazily on the first lookup: the
built-in modules listed in :data:`BUILTIN_MODULES` (their classes use
:func:`register_task`), the YAML files in ``tasks/builtin/*.yaml`` and any folder
passed to :func:`include`, and the entry-point group ``harness.tasks`` (each
entry point names a :class:`~tasks.base.Task` subclass or a YAML file path).
A duplicate name is refused; an unknown name is answered with close matches.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from pathlib import Path

from pretrain.errors import HarnessError
from tasks.base import FAMILIES, Task

ENTRY_POINT_GROUP = "harness.tasks"
BUILTIN_MODULES = (
    "tasks.builtin.bbc", "tasks.builtin.debian", "tasks.builtin.faq", "tasks.builtin.ding",
    "tasks.builtin.dialogue", "tasks.builtin.lm",
)
BUILTIN_YAML = Path(__file__).parent / "builtin"

_FACTORIES: dict[str, tuple[str, Callable[[], Task]]] = {}
_INSTANCES: dict[str, Task] = {}
_LOADED = False
_INCLUDED: list[Path] = []


def _add(name: str, origin: str, factory: Callable[[], Task]) -> None:
    if not name:
        raise ValueError(f"a task from {origin} has no name")
    if name in _FACTORIES:
        raise ValueError(f"duplicate task name {name!r}: from {origin} and {_FACTORIES[name][0]}")
    _FACTORIES[name] = (origin, factory)


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: add a :class:`Task` subclass to the registry under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task expects a Task subclass, got {cls!r}")
    if cls.family not in FAMILIES:
        raise ValueError(f"task {cls.name!r}: family {cls.family!r} is not one of {FAMILIES}")
    _add(cls.name, f"{cls.__module__}.{cls.__qualname__}", cls)
    return cls


def _add_yaml(path: Path, origin: str) -> None:
    from tasks.yaml_task import load_yaml_task, read_yaml_name

    name = read_yaml_name(path)
    _add(name, origin, lambda: load_yaml_task(path))


def include(folder: str | Path) -> list[str]:
    """Register every ``*.yaml``/``*.yml`` task in ``folder``; returns their names."""
    folder = Path(folder)
    if not folder.exists():
        raise HarnessError(f"task folder {folder} does not exist", hint="pass an existing folder")
    _ensure_loaded()
    before = set(_FACTORIES)
    files = [folder] if folder.is_file() else sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for path in files:
        try:
            _add_yaml(path, str(path))
        except ValueError as exc:
            raise HarnessError(str(exc), hint="rename one of the tasks") from None
    _INCLUDED.append(folder)
    return sorted(set(_FACTORIES) - before)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {ep.name} = {ep.value}"
        if ":" not in ep.value and ep.value.endswith((".yaml", ".yml")):
            _add_yaml(Path(ep.value), origin)
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not hide the other tasks
            raise HarnessError(f"cannot load task plugin {origin}: {exc}",
                               hint="reinstall or uninstall that package") from None
        if not (isinstance(obj, type) and issubclass(obj, Task)):
            raise HarnessError(f"task plugin {origin} is not a Task subclass",
                               hint="point the entry point at a class deriving tasks.base.Task")
        _add(obj.name or ep.name, origin, obj)


def _ensure_loaded() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for path in sorted(BUILTIN_YAML.glob("*.yaml")):
        _add_yaml(path, f"built-in {path.name}")
    _load_entry_points()


def list_tasks(family: str | None = None) -> list[str]:
    """Names of every registered task (optionally of one family), sorted."""
    _ensure_loaded()
    names = sorted(_FACTORIES)
    if family is None:
        return names
    return [n for n in names if get_task(n).family == family]


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name is a HarnessError with close matches."""
    _ensure_loaded()
    if name not in _FACTORIES:
        close = difflib.get_close_matches(name, list(_FACTORIES), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see `harness tasks list`"
        raise HarnessError(f"unknown task {name!r}", hint=hint)
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name][1]()
    return _INSTANCES[name]


def origin_of(name: str) -> str:
    """Where a task was registered from (module, YAML file or entry point)."""
    _ensure_loaded()
    return _FACTORIES[name][0]


def reset() -> None:
    """Forget every registration (tests; the next lookup reloads built-ins and plugins).

    Built-in modules register at import, so they are re-imported on reload.
    """
    import sys

    global _LOADED
    _FACTORIES.clear()
    _INSTANCES.clear()
    _INCLUDED.clear()
    _LOADED = False
    for module in BUILTIN_MODULES:
        sys.modules.pop(module, None)
