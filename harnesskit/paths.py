"""Where the harness keeps data it builds: one function, shared by every package."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_home() -> Path:
    """Where built-in data is cached: ``$HARNESS_DATA_HOME``, else ``<sys.prefix>/harness-data``."""
    env = os.environ.get("HARNESS_DATA_HOME")
    return Path(env).expanduser() if env else Path(sys.prefix) / "harness-data"
