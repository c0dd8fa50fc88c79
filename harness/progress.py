"""Progress bars for ``harness``: the ones of :mod:`pretrain.progress`, re-exported."""

from pretrain.progress import bar, quiet

__all__ = ["bar", "quiet"]
