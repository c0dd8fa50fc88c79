"""The offline multiple-choice and cloze tasks, built from the installed text (DATA.md):
the gold choice is right by the source itself, distractors are of the right kind, and
no word or passage crosses splits."""

from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

import pytest

from tasks import get_task
from tasks.builtin.choice import N_CHOICES, WORDNET, cloze_passages


def _choice_invariants(examples) -> None:  # type: ignore[no-untyped-def]
    for ex in examples:
        choices, gold = ex.input["choices"], int(ex.label)
        assert len(choices) == N_CHOICES == len(set(choices)), ex.id
        assert ex.references == [ex.label] and 0 <= gold < N_CHOICES, ex.id


def _wordnet_index(pos: str) -> dict[str, set[str]]:
    """lemma -> synset offsets, from WordNet's own ``index.<pos>`` (not the data files the
    task reads)."""
    out = {}
    for line in (WORDNET / f"index.{pos}").read_text(encoding="utf-8").splitlines():
        if line.startswith(" "):
            continue  # the licence header
        f = line.split()
        out[f[0]] = set(f[-int(f[2]):])
    return out


@pytest.mark.skipif(not (WORDNET / "data.noun").is_file(), reason="needs Debian's wordnet-base")
def test_wordnet_gloss_gold_is_the_defined_word_by_wordnets_index() -> None:
    task = get_task("wordnet-gloss")
    splits = {s: task.examples(s) for s in ("train", "validation", "test")}
    assert len(splits["test"]) > 500 and len(splits["train"]) > 5 * len(splits["test"])
    words_in: dict[str, set[str]] = collections.defaultdict(set)
    for split, examples in splits.items():
        _choice_invariants(examples)
        for ex in examples:
            words_in[ex.input["choices"][int(ex.label)].lower()].add(split)
    assert all(len(s) == 1 for s in words_in.values())  # each defined word in one split only
    index = {pos: _wordnet_index(pos) for pos in ("noun", "verb", "adj", "adv")}
    for ex in splits["test"]:
        pos, offset = ex.id.split(":")
        with open(WORDNET / f"data.{pos}", "rb") as fh:  # an offset is a byte offset
            fh.seek(int(offset))
            line = fh.readline().decode("utf-8")
        assert line.startswith(offset) and ex.input["question"] in line.split("|", 1)[1]
        for k, word in enumerate(ex.input["choices"]):
            synsets = index[pos].get(word.lower().replace(" ", "_"))
            assert synsets, (ex.id, word)  # every choice is a word of the same part of speech
            assert (offset in synsets) == (k == int(ex.label)), (ex.id, word)


@pytest.mark.slow  # builds debian-section from the apt lists: about 11 CPU-s
def test_debian_section_choice_gold_is_the_packages_section() -> None:
    shared = Path(sys.prefix) / "harness-data" / "apt"  # where make setup fetched the lists
    if shared.is_dir():
        Path(os.environ["HARNESS_DATA_HOME"]).mkdir(parents=True, exist_ok=True)
        (Path(os.environ["HARNESS_DATA_HOME"]) / "apt").symlink_to(shared)
    ok, why = get_task("debian-section-choice").available()
    if not ok:
        pytest.skip(why)
    base, task = get_task("debian-section"), get_task("debian-section-choice")
    sections = set(base.labels())
    truth = {ex.id: ex.label for ex in base.examples("test")}
    examples = task.examples("test")
    assert len(examples) == len(truth) > 1000
    _choice_invariants(examples)
    for ex in examples:
        assert ex.input["choices"][int(ex.label)] == truth[ex.id]
        assert set(ex.input["choices"]) <= sections
    golds = collections.Counter(int(ex.label) for ex in examples)
    assert min(golds.values()) > 0.2 * len(examples)  # the gold position is not a giveaway


def test_cloze_passages_take_the_last_word_of_whole_lines() -> None:
    from pretrain.data.sources import SOURCES
    from pretrain.data.textio import ReadStats

    ok, why = SOURCES["shakespeare"].available()
    if not ok:
        pytest.skip(why)
    scenes = SOURCES["shakespeare"].reader(ReadStats())
    text = "\n".join(next(scenes)["text"] for _ in range(3))
    passages = cloze_passages(text)
    assert len(passages) > 3
    flat = " ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    for ctx, word in passages:
        assert word.isalpha() and len(word) >= 3
        assert 40 <= len(ctx.split()) + 1 <= 80
        at = flat.find(f"{ctx} {word}")
        assert at >= 0  # context then word, as they stand in the text
        rest = flat[at + len(ctx) + 1 + len(word):]
        assert rest[:1] in ("", " ") or rest[:1] in ".!?;:,"  # the word ends its line
