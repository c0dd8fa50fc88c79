"""Debian package descriptions from apt's Translation lists (placeholder)."""

from __future__ import annotations


def lists_available() -> tuple[bool, str]:
    """Whether the Translation lists have been fetched."""
    return False, "not implemented yet"
