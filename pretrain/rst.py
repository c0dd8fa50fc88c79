"""Plain text from reStructuredText: roles, directives and markup stripped (placeholder)."""

from __future__ import annotations


def strip_rst(text: str) -> str:
    """Return ``text`` with reST markup removed."""
    return text
