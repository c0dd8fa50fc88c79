"""Is the Hugging Face hub reachable? Decided once per process, quickly.

Without network the ``datasets`` and ``huggingface_hub`` clients retry each
request for half a minute before failing. The CLI asks :func:`go_offline_if_unreachable`
once at start-up: when the hub cannot be reached within a second and a half it
sets ``HF_HUB_OFFLINE=1`` and ``HF_DATASETS_OFFLINE=1`` for the process, so that
hub tasks report "unavailable offline" at once and offline defaults (such as the
MiniLM BERTScore model) apply. Setting either variable yourself skips the probe.
"""

from __future__ import annotations

import functools
import os
import socket

HUB_HOST = "huggingface.co"


_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def offline_flag_set() -> bool:
    """True when the user (or the Makefile) already declared the hub offline."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in _VARS)


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 1.5) -> bool:
    """A TCP connection to the hub's HTTPS port opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def go_offline_if_unreachable() -> bool:
    """Set the offline variables when the hub is unreachable; returns True if offline."""
    if any(v in os.environ for v in _VARS):  # the user decided: no probe
        return offline_flag_set()
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    return True
