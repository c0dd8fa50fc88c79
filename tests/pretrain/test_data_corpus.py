"""Building a corpus end to end from a small local fixture; ensure_corpus caching."""

from __future__ import annotations

import json

import pytest

from harnesskit.errors import HarnessError
from pretrain.data.clean import CleanConfig
from pretrain.data.corpus import build_corpus, ensure_corpus, iter_documents
from pretrain.data.shards import ShardReader
from pretrain.data.tokenizer import load_tokenizer, tokenizer_sha

TOPICS = ["river", "castle", "garden", "market", "harbour", "library", "forest", "mountain",
          "village", "theatre", "station", "bridge"]


def english_doc(i: int) -> str:
    t = TOPICS[i % len(TOPICS)]
    return (f"Document {i} is about the {t}. The {t} was built with care, and people of the "
            f"town have walked to the {t} for many years. Children say that the {t} is the best "
            f"place to be in the spring, and their parents agree with them. In the evening the "
            f"{t} grows quiet, and only the wind moves through it number {i * 7 + 3}.")


def write_jsonl(path, texts):
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"doc{i}", "text": text}) + "\n")
    return path


LIGHT = CleanConfig(min_words=5, near_dedup=False)


def test_build_writes_the_layout_and_consistent_counts(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [english_doc(i) for i in range(40)])
    out = build_corpus(str(src), tmp_path / "c", clean=LIGHT, vocab_size=300, val_fraction=0.2)
    report = json.loads((out / "report.json").read_text())
    train = list(iter_documents(out, "train"))
    val = list(iter_documents(out, "val"))
    assert len(train) + len(val) == 40 == report["output"]["documents"]
    assert {"id", "text", "source"} <= set(train[0])
    assert report["splits"]["train"]["documents"] == len(train) and val
    steps = report["steps"]
    assert steps[0]["docs_in"] == 40 and steps[-1]["docs_out"] == 40
    tok = load_tokenizer(out)
    shard_dir = out / report["tokenizer"]["shards"]
    assert shard_dir.name == tokenizer_sha(tok)
    assert report["splits"]["train"]["tokens"] > report["splits"]["train"]["words"] / 2
    batch = ShardReader(shard_dir, "train", block_size=8, batch_size=2, seed=0).next_batch()
    assert tuple(batch.shape) == (2, 9)
    assert not list(tmp_path.glob(".c.tmp*"))  # nothing half-written left


def test_ensure_corpus_builds_once_then_reuses(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "mine.jsonl", [english_doc(i) for i in range(30)])
    import pretrain.data.corpus as corpus

    built = []
    real = corpus.build_corpus

    def counting(*args, **kwargs):
        built.append(args[0])
        return real(*args, clean=LIGHT, vocab_size=300, **kwargs)

    monkeypatch.setattr(corpus, "build_corpus", counting)
    first = ensure_corpus(str(src), tmp_path / "cache")
    again = ensure_corpus(str(src), tmp_path / "cache")
    assert first == again and len(built) == 1
    assert ensure_corpus(first, tmp_path / "elsewhere") == first  # a built dir is itself


def test_empty_source_is_a_clear_error(tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    with pytest.raises(HarnessError, match="no documents"):
        build_corpus(str(src), tmp_path / "c")


def test_unknown_source_names_the_fix(tmp_path):
    with pytest.raises(HarnessError, match="unknown source 'shakespear'.*shakespeare"):
        build_corpus("shakespear", tmp_path / "c")
