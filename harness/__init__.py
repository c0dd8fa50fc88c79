"""harness: metrics, model adapters, the evaluator, results and the ``harness`` CLI.

    import harness
    results = harness.evaluate(["runs/gpt"], ["bbc-news"], limit=100, out="results")

``evaluate`` is imported on first use, so ``import harness`` (and ``harness --help``)
stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        # The submodule itself is callable (see the end of harness/evaluate.py), so that
        # ``harness.evaluate(...)`` and ``import harness.evaluate as ev`` both work.
        import harness.evaluate as module

        return module
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
