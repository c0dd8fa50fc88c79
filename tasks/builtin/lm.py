"""Intrinsic language modelling: ``shakespeare-lm`` and ``pydocs-lm``.

The test split is the corpus builder's held-out validation documents
(``pretrain.data.corpus``: ``val.jsonl``, split by document), so a model pretrained
on that corpus (or on ``mix``) has never seen them. The train split holds a
bounded sample of training documents for the byte-unigram baseline only.
"""

from __future__ import annotations

from tasks.base import Example, LMTask, Task
from tasks.registry import register_task

TRAIN_SAMPLE_BYTES = 2_000_000


def corpus_dir(source: str):  # type: ignore[no-untyped-def]
    """The built corpus of ``source`` in the shared cache (building it if needed)."""
    from harnesskit.paths import data_home
    from pretrain.data.corpus import ensure_corpus

    return ensure_corpus(source, data_home() / "corpora")


def corpus_available(source: str) -> tuple[bool, str]:
    """Whether the corpus ``source`` can be built here (a task's ``available``)."""
    from pretrain.data.sources import SOURCES

    ok, note = SOURCES[source].available()
    return Task.needs(ok, note)


class _CorpusLM(LMTask):
    corpus: str = ""

    def available(self) -> tuple[bool, str]:
        return corpus_available(self.corpus)

    def build(self) -> dict[str, list[Example]]:
        from pretrain.data.corpus import iter_documents

        root = corpus_dir(self.corpus)
        test = [Example(id=str(d["id"]), input=d["text"], references=[])
                for d in iter_documents(root, "val") if d["text"].strip()]
        train, size = [], 0
        for d in iter_documents(root, "train"):
            if size >= TRAIN_SAMPLE_BYTES:
                break
            train.append(Example(id=str(d["id"]), input=d["text"], references=[]))
            size += len(d["text"].encode("utf-8"))
        return {"train": train, "validation": [], "test": test}


@register_task
class ShakespeareLM(_CorpusLM):
    """Held-out scenes of Shakespeare's works."""

    name = "shakespeare-lm"
    version = "1"
    description = "Shakespeare corpus, held-out documents (the corpus builder's val split)"
    source = "corpus:shakespeare val.jsonl"
    corpus = "shakespeare"


@register_task
class PydocsLM(_CorpusLM):
    """Held-out pages of the Python documentation."""

    name = "pydocs-lm"
    version = "1"
    description = "Python documentation corpus, held-out pages (the corpus builder's val split)"
    source = "corpus:pydocs val.jsonl"
    corpus = "pydocs"
