"""In-memory models that stand in for the checkpoint they were just saved as.

Evaluation inside the training loop scores the model being trained, not a copy
read back from disk. The training side registers the live module, tokenizer and
run config under the checkpoint directory written at that step (so the model is
bit for bit that checkpoint, and results are keyed by its content hash); the
loader (:func:`tasks.models.load_backbone`) then hands out the live module
instead of loading the weights. Outside the ``with`` block nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LIVE: dict[Path, Live] = {}


@dataclass(frozen=True)
class Live:
    """A model in memory, equal to the checkpoint it is registered under."""

    module: Any          # torch.nn.Module (unwrapped: no DDP or torch.compile wrapper)
    tokenizer: Any       # tokenizers.Tokenizer
    run_config: Any      # pretrain.engine.presets.RunConfig


@contextmanager
def live_model(checkpoint: str | Path, module: Any, tokenizer: Any,
               run_config: Any) -> Iterator[None]:
    """Within the block, loading ``checkpoint`` returns ``module`` itself."""
    key = Path(checkpoint).resolve()
    _LIVE[key] = Live(module, tokenizer, run_config)
    try:
        yield
    finally:
        _LIVE.pop(key, None)


def live_for(checkpoint: str | Path | None) -> Live | None:
    """The live model registered for ``checkpoint``, if any."""
    return None if checkpoint is None else _LIVE.get(Path(checkpoint).resolve())
