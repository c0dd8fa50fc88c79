"""The example type every task yields, and the split names: shared by tasks, their data
cache and the baselines, so none of them needs the task classes."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, kw_only=True)
class Example:
    """One example: ``input`` is a string, or a dict for QA (question, context)."""

    id: str
    input: str | dict
    references: list[str]
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Example:
        return cls(id=str(d["id"]), input=d["input"], references=list(d.get("references") or []),
                   label=d.get("label"))


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to . ! or ? followed by space), stripped."""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text)
    return text[: m.start()].strip() if m else text.strip()
