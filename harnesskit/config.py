"""Typed run configuration: frozen dataclasses, presets, ``--set`` overrides.

Each section is a frozen, keyword-only dataclass whose fields carry their
docstring in ``metadata["help"]`` and are validated in ``__post_init__`` with a
``ValueError`` naming the field. :func:`apply_overrides` turns
``section.key=value`` strings into a new config, coercing each value to the
field's type; an unknown key is a :class:`ConfigError` listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from harnesskit.errors import ConfigError

T = TypeVar("T")


def field(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - mirrors argparse
    """A dataclass field with its help text kept in metadata (shown by ``config show``)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of a (nested) config dataclass."""
    return dataclasses.asdict(cfg)


def config_hash(cfg: Any) -> str:
    """A stable sha256 (first 16 hex digits) of the config's canonical JSON."""
    blob = json.dumps(to_dict(cfg), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def valid_keys(cfg: Any, prefix: str = "") -> list[str]:
    """Every dotted key that ``--set`` accepts for this config, in order."""
    keys: list[str] = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            keys.extend(valid_keys(value, f"{prefix}{f.name}."))
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _coerce(text: str, annotation: Any, key: str) -> Any:
    """Convert an override string to the field's declared type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        annotation = args[0] if len(args) == 1 else str
        origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if text not in choices:
            raise ConfigError(f"--set {key}={text}: must be one of {', '.join(map(str, choices))}")
        return text
    if annotation is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--set {key}={text}: expected true or false")
    if origin in (tuple, list):
        inner = (typing.get_args(annotation) or (str,))[0]
        parts = [p for p in text.split(",") if p.strip()]
        return type_of(origin)(_coerce(p.strip(), inner, key) for p in parts)
    try:
        if annotation is int:
            return int(float(text)) if "e" in text.lower() else int(text)
        if annotation is float:
            value = float(text)
            if not math.isfinite(value):
                raise ConfigError(f"--set {key}={text}: must be a finite number")
            return value
    except ValueError:
        raise ConfigError(f"--set {key}={text}: expected a {annotation.__name__}") from None
    return text


def type_of(origin: Any) -> Any:
    """The constructor for a generic container origin."""
    return tuple if origin is tuple else list


def parse_sets(items: Iterable[str]) -> dict[str, str]:
    """Parse ``key=value`` strings (the ``--set`` option) into a dict."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} has no '='", hint="write it as section.key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def apply_overrides(cfg: T, overrides: Mapping[str, str] | Iterable[str]) -> T:
    """Return a copy of ``cfg`` with dotted ``section.key=value`` overrides applied.

    Raises :class:`ConfigError` for an unknown key (listing close matches and all
    valid keys), a value of the wrong type, or a value the section's validation
    rejects.
    """
    if not isinstance(overrides, Mapping):
        overrides = parse_sets(overrides)
    keys = valid_keys(cfg)
    for key, text in overrides.items():
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ConfigError(f"unknown config key {key!r}",
                              hint=f"{hint}valid keys: {', '.join(keys)}")
        cfg = _replace_path(cfg, key.split("."), text, key)
    return cfg


def _replace_path(cfg: Any, path: list[str], text: str, key: str) -> Any:
    hints = typing.get_type_hints(type(cfg))
    name = path[0]
    if len(path) == 1:
        value = _coerce(text, hints[name], key)
    else:
        value = _replace_path(getattr(cfg, name), path[1:], text, key)
    try:
        return dataclasses.replace(cfg, **{name: value})
    except ValueError as exc:
        raise ConfigError(f"--set {key}={text}: {exc}") from None


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Rebuild a (nested) config dataclass from :func:`to_dict` output.

    Unknown keys are rejected so that a checkpoint written by a different
    version is noticed rather than silently misread.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"config has unknown keys {sorted(unknown)} for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            value = from_dict(hint, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def describe(cfg: Any, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(key, value, help) rows for every leaf of a config, for ``config show``."""
    rows: list[tuple[str, Any, str]] = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, f"{prefix}{f.name}."))
        else:
            rows.append((f"{prefix}{f.name}", value, f.metadata.get("help", "")))
    return rows
