"""One registry mechanism for everything pluggable: tasks, metrics, cleaning steps, ...

A :class:`Registry` maps names to objects (classes or factories). It fills
itself lazily on the first lookup, in a fixed order: the built-in modules it was
given (imported by name; their decorators call :meth:`Registry.add`), then every
entry point of its group (``importlib.metadata``), so a plugin package lands in
the same table as a built-in. A duplicate name is a ``ValueError``; an unknown
name is a :class:`~harnesskit.errors.HarnessError` listing close matches.

    STEPS = Registry("cleaning step", group="harness.cleaning_steps",
                     builtins=("pretrain.data.dedup",), check=is_step_class)

    @STEPS.register("exact_dedup")
    class ExactDedup(Step): ...

    STEPS.get("exact_dedup"); STEPS.names()
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from harnesskit.errors import HarnessError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of ``T`` filled from built-in modules and an entry-point group."""

    def __init__(self, kind: str, *, group: str, builtins: Iterable[str] = (),
                 check: Callable[[str, Any], str | None] | None = None,
                 hint: str = "") -> None:
        self.kind = kind
        self.group = group
        self.builtins = tuple(builtins)
        self._check = check
        self._hint = hint
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loading = False
        self._loaded = False

    # ----- adding -------------------------------------------------------------------
    def add(self, name: str, obj: T, origin: str = "") -> T:
        """Register ``obj`` under ``name``; a name already taken is a ValueError."""
        if not name:
            raise ValueError(f"a {self.kind} from {origin or obj!r} has no name")
        problem = self._check(name, obj) if self._check else None
        if problem:
            raise ValueError(f"{self.kind} {name!r}: {problem}")
        if name in self._items:
            raise ValueError(f"duplicate {self.kind} name {name!r}: registered twice "
                             f"(from {origin or _origin(obj)} and {self._origins[name]})")
        self._items[name] = obj
        self._origins[name] = origin or _origin(obj)
        return obj

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name")`` (or the object's ``name`` attribute)."""
        def deco(obj: T) -> T:
            self.add(name or getattr(obj, "name", ""), obj)
            return obj
        return deco

    # ----- lookup -------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The object called ``name``; an unknown name lists the close matches."""
        items = self.load()
        if name not in items:
            close = difflib.get_close_matches(name, list(items), n=3, cutoff=0.5)
            near = f"did you mean {' or '.join(close)}? " if close else ""
            known = ", ".join(sorted(items)) or "none"
            raise HarnessError(f"unknown {self.kind} {name!r}",
                               hint=f"{near}{self._hint or f'known {self.kind}s: {known}'}")
        return items[name]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self.load())

    def origin(self, name: str) -> str:
        """Where ``name`` was registered from (module, file or entry point)."""
        self.get(name)
        return self._origins[name]

    def __contains__(self, name: object) -> bool:
        return name in self.load()

    # Mapping-style reads, so a registry can replace a plain dict of built-ins.
    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.load()))

    def values(self) -> list[T]:
        """Every registered object, in registration order."""
        return list(self.load().values())

    def load(self) -> dict[str, T]:
        """Fill the table once: built-in modules, then the entry-point group."""
        if self._loaded or self._loading:
            return self._items
        self._loading = True
        try:
            for module in self.builtins:
                importlib.import_module(module)
            self._load_extras()
            self._load_entry_points()
            self._loaded = True
        finally:
            self._loading = False
        return self._items

    def _load_extras(self) -> None:
        """Hook for subclasses: more built-ins (files, say) between modules and plugins."""

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            origin = f"entry point {ep.name} = {ep.value}"
            try:
                self._add_entry_point(ep, origin)
            except ValueError as exc:
                raise HarnessError(str(exc), hint="rename or uninstall one of them") from None

    def _add_entry_point(self, ep: Any, origin: str) -> None:
        """Load one entry point and add what it names (subclasses may accept other forms)."""
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            raise HarnessError(f"cannot load {self.kind} plugin {origin}: {exc}",
                               hint="reinstall or uninstall that package") from None
        name = getattr(obj, "name", None) or ep.name
        if self._items.get(name) is not obj:  # a plugin's own decorator may have added it
            self.add(name, obj, origin)

    def reset(self) -> None:
        """Forget every registration but those the built-in modules made at import (tests);
        the next lookup loads extras and entry points again."""
        keep = {n for n, o in self._items.items()
                if getattr(o, "__module__", "") in self.builtins  # classes, functions
                or self._origins[n] in self.builtins}  # instances added with origin=__name__
        for name in set(self._items) - keep:
            del self._items[name]
            del self._origins[name]
        self._loaded = False


def _origin(obj: Any) -> str:
    mod, qual = getattr(obj, "__module__", ""), getattr(obj, "__qualname__", "")
    return f"{mod}.{qual}" if mod and qual else repr(obj)
