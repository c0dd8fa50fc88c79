"""A tiny built corpus for the pretraining tests (written in the tests, never a real corpus)."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ("the king and queen walk to the old castle where a young knight waits with his "
         "horse while rain falls on the green hills of the north and the people sing").split()


def make_corpus(root: Path, n_docs: int = 60, seed: int = 0) -> Path:
    """A built-corpus layout (train/val jsonl) of simple, learnable English-like text."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", n_docs), ("val", max(n_docs // 6, 4))):
        with open(root / f"{split}.jsonl", "w") as fh:
            for i in range(count):
                text = " ".join(" ".join(rng.sample(WORDS, 9)) + "." for _ in range(12))
                fh.write(json.dumps({"id": f"{split}-{i}", "text": text, "source": "t"}) + "\n")
    return root
