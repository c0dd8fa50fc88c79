"""The data builders' parsers on tiny texts written here, and the split helpers."""

from __future__ import annotations

import gzip

from tasks.base import first_sentence
from tasks.data import split_by_document, split_of

PLAY = """THE TRAGEDY OF X

Persons Represented.

A Nobleman.
Someone.

SCENE I. A room.

[Enter Ber.]

Ber.
Who's there?

Fran.
Nay, answer me: stand,
and unfold yourself.

Fran.
Long live the king!

[Exit.]

SCENE II. Another room.

Hor.
Hail to your lordship!
"""


def test_play_pairs_pair_adjacent_speakers_within_scenes():
    from tasks.builtin.dialogue import play_pairs

    pairs = play_pairs(PLAY, "x")
    assert [(p.input, p.references[0]) for p in pairs] == [
        ("Who's there?", "Nay, answer me: stand, and unfold yourself.")]


def test_ding_pairs_align_and_filter():
    from tasks.builtin.ding import ding_pairs

    lines = ["# comment",
             "Haus {n} | Das Haus ist sehr groß. :: house | The house is very big.",
             "gehen {vi} | Wir gehen jetzt nach Hause! | extra :: to go | We go home now!",
             "kurz :: short"]
    assert ding_pairs(lines) == [(1, "The house is very big.", "Das Haus ist sehr groß.")]


def test_faq_rst_and_debian_sections():
    from tasks.builtin.faq import debian_sections, make_examples, rst_sections

    rst = ("General\n=======\n\nWhat is it?\n-----------\n\nIt is a :ref:`language <x>` for "
           "people. It has ``loops`` too.\n\nWhy?\n----\n\nBecause we like it a lot. Yes.\n")
    secs = rst_sections(rst)
    assert secs[1][0] == "What is it?" and "It is a language for people." in secs[1][1]
    exs = make_examples("doc", secs)
    assert [e.input["question"] for e in exs] == ["What is it?", "Why?"]
    assert exs[1].references == ["Because we like it a lot."]
    assert exs[1].input["context"].startswith("It is a language")  # the previous entry's tail
    txt = "1.1.\u00a0What is\nDebian?\n\n    Debian is an OS. It is free.\n\n2.1. Next?\n\n    Yes it is.\n"
    parsed = debian_sections(gzip.decompress(gzip.compress(txt.encode())).decode())
    assert parsed[0][:2] == ("1", "What is Debian?") and parsed[1][0] == "2"


def test_debian_helpers():
    from tasks.builtin.debian import family_key, paragraphs

    assert family_key("libfoo2-dev") == family_key("libfoo2") == family_key("foo-doc") == "foo"
    assert paragraphs(" First para\n goes on.\n .\n Second one.") == [
        "First para goes on.", "Second one."]


def test_splits_are_deterministic_and_by_document():
    assert split_of("abc") == split_of("abc")
    counts = {s: 0 for s in ("train", "validation", "test")}
    for i in range(2000):
        counts[split_of(str(i))] += 1
    assert 150 < counts["test"] < 250 and 150 < counts["validation"] < 250
    groups = {f"doc{i}": list(range(i * 10, i * 10 + 10)) for i in range(20)}
    out = split_by_document(groups, val=0.1, test=0.2)
    assert sum(map(len, out.values())) == 200 and len(out["test"]) == 40
    assert len(out["validation"]) == 20
    seen = {}
    for split, items in out.items():  # each document lands in exactly one split
        for item in items:
            seen.setdefault(item // 10, set()).add(split)
    assert all(len(v) == 1 for v in seen.values())


def test_first_sentence():
    assert first_sentence("Hello there. Next one.") == "Hello there."
    assert first_sentence("e.g. this is one sentence") == "e.g. this is one sentence"


def test_built_splits_are_stored_in_hash_order(tmp_path):
    """A prefix (what --limit keeps) must not be one topic: builders read files in order."""
    from tasks.base import Example
    from tasks.data import write_splits

    exs = [Example(id=f"{lab}/{i:03d}", input="x", references=[lab], label=lab)
           for lab in ("a", "b", "c", "d") for i in range(25)]
    meta = write_splits(tmp_path / "t", {"train": exs, "test": exs[:8]})
    lines = (tmp_path / "t" / "train.jsonl").read_text().splitlines()
    first = {line.split('"label": "')[1][0] for line in lines[:12]}
    assert len(first) >= 3 and meta["sizes"]["train"] == 100 and meta["format"] == 2
    again = write_splits(tmp_path / "u", {"train": list(reversed(exs)), "test": exs[:8]})
    assert again["hash"] == meta["hash"]  # the order depends on ids only
