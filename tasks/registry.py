"""One registry for tasks, three ways in: decorated classes, YAML files, entry points.

Everything lands in the same table, filled lazily on the first lookup: the
built-in modules listed in :data:`BUILTIN_MODULES` (their classes use
:func:`register_task`), the YAML files in ``tasks/builtin/*.yaml`` and any folder
passed to :func:`include`, and the entry-point group ``harness.tasks`` (each
entry point names a :class:`~tasks.base.Task` subclass or a YAML file path).
A duplicate name is refused; an unknown name is answered with close matches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.registry import Registry
from tasks.base import FAMILIES, Task
from tasks.lmeval import PREFIX as LMEVAL_PREFIX
from tasks.lmeval import index as lmeval_index
from tasks.lmeval import is_lmeval_name
from tasks.lmeval import task as lmeval_task
from tasks.yaml_task import load_yaml_task, read_yaml_name

ENTRY_POINT_GROUP = "harness.tasks"
BUILTIN_MODULES = (
    "tasks.builtin.bbc", "tasks.builtin.debian", "tasks.builtin.faq", "tasks.builtin.ding",
    "tasks.builtin.dialogue", "tasks.builtin.lm", "tasks.builtin.choice",
)
BUILTIN_YAML = Path(__file__).parent / "builtin"


class TaskRegistry(Registry[Callable[[], Task]]):
    """Tasks by name -> a factory (the class, or a YAML loader); instances are cached.

    Besides built-in modules and entry points naming classes, it takes YAML files:
    ``tasks/builtin/*.yaml``, folders passed to :func:`include`, and entry points whose
    value is a ``.yaml`` path.
    """

    def _load_extras(self) -> None:
        for path in sorted(BUILTIN_YAML.glob("*.yaml")):
            _add_yaml(path, f"built-in {path.name}")

    def _add_entry_point(self, ep: Any, origin: str) -> None:
        if ":" not in ep.value and ep.value.endswith((".yaml", ".yml")):
            _add_yaml(Path(ep.value), origin)
            return
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not hide the other tasks
            raise HarnessError(f"cannot load task plugin {origin}: {exc}",
                               hint="reinstall or uninstall that package") from None
        if not (isinstance(obj, type) and issubclass(obj, Task)):
            raise HarnessError(f"task plugin {origin} is not a Task subclass",
                               hint="point the entry point at a class deriving tasks.base.Task")
        self.add(obj.name or ep.name, obj, origin)


TASKS = TaskRegistry("task", group=ENTRY_POINT_GROUP, builtins=BUILTIN_MODULES,
                     hint="see `harness tasks list`")
_INSTANCES: dict[str, Task] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: add a :class:`Task` subclass to the registry under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task expects a Task subclass, got {cls!r}")
    if cls.family not in FAMILIES:
        raise ValueError(f"task {cls.name!r}: family {cls.family!r} is not one of {FAMILIES}")
    TASKS.add(cls.name, cls, f"{cls.__module__}.{cls.__qualname__}")
    return cls


def _add_yaml(path: Path, origin: str) -> None:
    name = read_yaml_name(path)
    TASKS.add(name, lambda: load_yaml_task(path), origin)


def include(folder: str | Path) -> list[str]:
    """Register every ``*.yaml``/``*.yml`` task in ``folder``; returns their names.

    A folder of lm-evaluation-harness YAMLs (their layout: ``task:``/``group:`` keys,
    ``include:`` chains, ``utils.py`` beside them) adds ``lmeval:NAME`` tasks instead.
    """
    folder = Path(folder)
    if not folder.exists():
        raise HarnessError(f"task folder {folder} does not exist", hint="pass an existing folder")
    if lmeval_index.is_lmeval_folder(folder):
        return [LMEVAL_PREFIX + n for n in lmeval_index.add_include(folder)]
    before = set(TASKS.load())
    files = [folder] if folder.is_file() else sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for path in files:
        try:
            _add_yaml(path, str(path))
        except ValueError as exc:
            raise HarnessError(str(exc), hint="rename one of the tasks") from None
    return sorted(set(TASKS.load()) - before)


def list_tasks(family: str | None = None) -> list[str]:
    """Names of every registered task (optionally of one family), sorted."""
    names = TASKS.names()
    if family is None:
        return names
    return [n for n in names if get_task(n).family == family]


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name is a HarnessError with close matches.

    ``lmeval:NAME`` is an lm-evaluation-harness task or group (:mod:`tasks.lmeval`).
    """
    if is_lmeval_name(name):
        return lmeval_task.get_lmeval_task(name)
    factory = TASKS.get(name)
    if name not in _INSTANCES:
        _INSTANCES[name] = factory()
    return _INSTANCES[name]


def origin_of(name: str) -> str:
    """Where a task was registered from (module, YAML file or entry point)."""
    return TASKS.origin(name)


def reset() -> None:
    """Forget every registration but the built-in classes (tests; the next lookup reloads
    the YAML files and plugins)."""
    TASKS.reset()
    _INSTANCES.clear()
    lmeval_index.reset_includes()
    lmeval_task.reset()
