"""harness: metrics, the evaluator, results and the ``harness`` CLI.

    import harness
    results = harness.evaluate(["runs/gpt"], ["bbc-news"], limit=100, out="results")

``evaluate`` (:func:`harness.evaluator.evaluate`) is imported on first use, so
``import harness`` (and ``harness --help``) stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from harness.evaluator import evaluate  # lazy: keeps `harness --help` fast

        return evaluate
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
