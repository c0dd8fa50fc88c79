"""Progress bars that respect ``--quiet``, non-zero ranks and where stderr goes.

On a terminal a tqdm bar (rate and ETA) redraws in place. When stderr is a pipe
or a log file, carriage-return frames would fill it with garbage: the same bar
then prints a plain line at most every ``HARNESS_PROGRESS_INTERVAL`` seconds
(default 30) and one when it ends, with no ``\\r`` at all; work shorter than one
interval prints nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%) [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
PLAIN_FORMAT_NO_TOTAL = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}{postfix}]"


def quiet() -> bool:
    """True when ``--quiet`` was given or this is not the first process of a distributed run."""
    return os.environ.get("HARNESS_QUIET") == "1" or os.environ.get("RANK", "0") != "0"


def on_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class PlainLines:
    """A file-like wrapper for tqdm: each frame becomes one line, blank frames are dropped."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar (rate and ETA shown), silenced by :func:`quiet`; plain periodic lines
    instead of redrawn frames when stderr is not a terminal."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", quiet())
    if on_terminal(kwargs.get("file")):
        kwargs.setdefault("dynamic_ncols", True)
        return tqdm(iterable, **kwargs)
    total = kwargs.get("total", len(iterable) if hasattr(iterable, "__len__") else None)  # type: ignore[arg-type]
    interval = float(os.environ.get("HARNESS_PROGRESS_INTERVAL", "30"))
    # delay: a step shorter than one interval prints nothing (an error stays one line)
    kwargs.update(file=PlainLines(kwargs.get("file") or sys.stderr), leave=True,
                  dynamic_ncols=False, ascii=True, mininterval=interval, delay=interval,
                  maxinterval=float("inf"),
                  bar_format=PLAIN_FORMAT if total else PLAIN_FORMAT_NO_TOTAL)
    return _plain_class(tqdm)(iterable, **kwargs)


def _plain_class(tqdm: Any) -> Any:
    """tqdm whose postfix and description updates wait for the next periodic line: by
    default they force a redraw, which printed a line per training step into logs."""

    class PlainBar(tqdm):  # type: ignore[misc, valid-type]
        def set_postfix(self, ordered_dict: Any = None, refresh: bool = False,
                        **kwargs: Any) -> None:
            super().set_postfix(ordered_dict, refresh=False, **kwargs)

        def set_postfix_str(self, s: str = "", refresh: bool = False) -> None:
            super().set_postfix_str(s, refresh=False)

        def set_description(self, desc: str | None = None, refresh: bool = False) -> None:
            super().set_description(desc, refresh=False)

    return PlainBar
