"""Progress bars that respect ``--quiet`` and non-zero ranks (every package uses these)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any


def quiet() -> bool:
    """True when ``--quiet`` was given or this is not the first process of a distributed run."""
    return os.environ.get("HARNESS_QUIET") == "1" or os.environ.get("RANK", "0") != "0"


def bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar (rate and ETA shown), silenced by :func:`quiet`."""
    from tqdm.auto import tqdm

    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("disable", quiet())
    return tqdm(iterable, **kwargs)
