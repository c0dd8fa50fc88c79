"""Token shards: layout, contents, and the deterministic, resumable, DDP-consistent reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harnesskit.errors import HarnessError
from pretrain.data.shards import ShardReader, open_shards, write_shards
from pretrain.data.tokenizer import train_tokenizer


def _corpus(tmp_path, n_train=30, n_val=5):
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    rng = np.random.default_rng(0)

    def doc(i):
        return {"id": f"d{i}", "text": " ".join(rng.choice(words, 40)), "source": "t"}

    for split, n in (("train", n_train), ("val", n_val)):
        with open(tmp_path / f"{split}.jsonl", "w") as fh:
            for i in range(n):
                fh.write(json.dumps(doc(f"{split}{i}")) + "\n")
    texts = [json.loads(x)["text"] for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    return texts


def test_write_and_open_gpt_shards(tmp_path):
    texts = _corpus(tmp_path)
    tok = train_tokenizer(texts, "gpt", vocab_size=300)
    shard_dir = write_shards(tmp_path, tok, "gpt")
    sh = open_shards(shard_dir)
    assert sh.meta["dtype"] == "uint16" and sh.meta["n_docs"] == {"train": 30, "val": 5}
    assert sh.train.dtype == np.uint16 and len(sh.train) == sh.meta["n_tokens"]["train"]
    # Each document is followed by eos (id 0) and decodes back to its text.
    starts = list(sh.docs["train"]) + [len(sh.train)]
    first = sh.train[starts[0]:starts[1]]
    assert first[-1] == 0 and (sh.train == 0).sum() == 30
    assert tok.decode(first[:-1].tolist()) == texts[0]
    assert write_shards(tmp_path, tok, "gpt") == shard_dir  # cached


def test_bert_shards_wrap_documents_in_cls_sep(tmp_path):
    texts = _corpus(tmp_path, n_train=4, n_val=2)
    tok = train_tokenizer(texts, "bert", vocab_size=120)
    sh = open_shards(write_shards(tmp_path, tok, "bert"))
    starts = sh.docs["val"]
    assert sh.val[starts[0]] == 2 and sh.val[starts[1] - 1] == 3


def test_truncated_shard_is_a_clear_error(tmp_path):
    tok = train_tokenizer(_corpus(tmp_path), "gpt", vocab_size=300)
    shard_dir = write_shards(tmp_path, tok, "gpt")
    data = (shard_dir / "val.bin").read_bytes()
    (shard_dir / "val.bin").write_bytes(data[:-2])
    with pytest.raises(HarnessError, match="truncated"):
        open_shards(shard_dir)


@pytest.fixture()
def shard_dir(tmp_path):
    tok = train_tokenizer(_corpus(tmp_path, n_train=60), "gpt", vocab_size=300)
    return write_shards(tmp_path, tok, "gpt")


def test_reader_windows_are_slices_of_the_stream(shard_dir):
    r = ShardReader(shard_dir, "train", block_size=16, batch_size=4, seed=1)
    batch = r.next_batch()
    assert tuple(batch.shape) == (4, 17) and str(batch.dtype) == "torch.int64"
    tokens = open_shards(shard_dir).train
    for row, start in zip(batch.numpy(), r.starts(0, 4)):
        assert (row == tokens[start:start + 17]).all()


def test_reader_resumes_at_the_same_token_after_restart(shard_dir):
    a = ShardReader(shard_dir, "train", block_size=16, batch_size=4, seed=7)
    for _ in range(3):
        a.next_batch()
    state = json.loads(json.dumps(a.state_dict()))  # survives a JSON round trip
    expected = [a.next_batch() for _ in range(2)]
    b = ShardReader(shard_dir, "train", block_size=16, batch_size=4, seed=7)  # "restart"
    b.load_state_dict(state)
    for want in expected:
        assert (b.next_batch() == want).all()
    other_seed = ShardReader(shard_dir, "train", block_size=16, batch_size=4, seed=8)
    with pytest.raises(HarnessError, match="seed"):
        other_seed.load_state_dict(state)


def test_two_ranks_read_the_single_process_global_batch(shard_dir):
    single = ShardReader(shard_dir, "train", block_size=8, batch_size=6, seed=3)
    ranks = [ShardReader(shard_dir, "train", block_size=8, batch_size=3, seed=3, rank=r,
                         world_size=2) for r in (0, 1)]
    for _ in range(3):
        whole = single.next_batch()
        parts = [r.next_batch() for r in ranks]
        assert (whole[:3] == parts[0]).all() and (whole[3:] == parts[1]).all()
    assert ranks[0].state_dict()["cursor"] == single.state_dict()["cursor"]


def test_reader_rejects_a_block_longer_than_the_split(shard_dir):
    with pytest.raises(HarnessError, match="block_size"):
        ShardReader(shard_dir, "val", block_size=10_000, batch_size=2, seed=0)
