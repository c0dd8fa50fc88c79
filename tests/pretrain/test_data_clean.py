"""Cleaning steps on small fixtures: each removes what it should and counts it."""

from __future__ import annotations

import json

import pytest

from harnesskit.errors import HarnessError
from pretrain.data.clean import CleanConfig, Normalize, build_steps, run_pipeline, split_sentences
from pretrain.data.contamination import find_contamination
from pretrain.data.corpus import build_corpus
from pretrain.data.dedup import ExactDedup, NearDedup, ParagraphDedup
from pretrain.data.langid import LanguageFilter
from pretrain.data.quality import QualityFilter

ENGLISH = [
    "The river runs past the old mill, and the miller has watched it for forty years. "
    "He says that the water was higher when he was young, and that the fish were larger too.",
    "A library is a quiet place where people come to read and to think. The books on the "
    "shelves have been collected by the town over two hundred years of careful work.",
    "The train to the coast leaves at nine in the morning. Most travellers bring a book and "
    "a warm coat, because the wind by the sea is cold even in the summer months.",
    "Gardeners know that the soil matters more than the seed. They dig in compost each autumn "
    "and wait for the worms to do the rest of the work through the long winter.",
]
GERMAN = ("Der Fluss fließt an der alten Mühle vorbei, und der Müller beobachtet ihn seit vierzig "
          "Jahren. Er sagt, dass das Wasser höher war, als er jung war, und dass die Fische "
          "damals auch größer waren.")


def docs(texts):
    return [{"id": f"d{i}", "text": t, "source": "test"} for i, t in enumerate(texts)]


def test_exact_duplicate_removed_and_counted():
    step = ExactDedup()
    copy = "  " + ENGLISH[0].upper().replace(" ", "\n", 3)  # same text up to case and spacing
    out = list(run_pipeline(docs(ENGLISH + [copy]), [step]))
    assert len(out) == 4
    assert step.summary()["docs_removed"] == 1 and step.summary()["docs_in"] == 5


def test_near_duplicate_removed_and_counted():
    base = " ".join(ENGLISH)
    near = base.replace("forty years", "fifty years")  # 5 of ~140 shingles differ: J ~ 0.93
    step = NearDedup(threshold=0.8, num_perm=128, shingle=5)
    out = list(run_pipeline(docs([base, ENGLISH[0] + " " + ENGLISH[2], near]), [step]))
    assert [d["id"] for d in out] == ["d0", "d1"]
    summary = step.summary()
    example = summary["examples"][0]
    assert summary["docs_removed"] == 1 and example["removed"] == "d2"
    assert example["similar_to"] == "d0" and 0.8 <= example["jaccard"] <= 1.0


def test_repeated_paragraph_removed_but_short_ones_kept():
    boiler = "This document is distributed under the terms of a licence that permits copying " \
             "and redistribution provided this notice is kept intact in every copy made."
    step = ParagraphDedup(min_chars=120)
    texts = [f"{ENGLISH[0]}\n\nExeunt.\n\n{boiler}", f"{ENGLISH[1]}\n\nExeunt.\n\n{boiler}"]
    out = list(run_pipeline(docs(texts), [step]))
    assert boiler in out[0]["text"] and boiler not in out[1]["text"]
    assert out[1]["text"].count("Exeunt.") == 1
    assert step.extra["paragraphs_removed"] == 1


def test_german_paragraph_filtered_by_language_step():
    step = LanguageFilter(("en",))
    out = list(run_pipeline(docs(ENGLISH + [GERMAN]), [step]))
    assert len(out) == 4 and all(d["lang"] == "en" for d in out)
    summary = step.summary()
    assert summary["docs_removed"] == 1 and summary["mix"] == {"en": 4, "de": 1}


def test_stop_word_rule_follows_the_document_language():
    step = QualityFilter(CleanConfig(min_words=20))
    german = {"id": "de", "text": GERMAN, "source": "t"}
    assert step(german) is None and step.failures == {"stop_words": 1}
    assert step({**german, "lang": "de"}) is not None


def test_quality_rules_name_the_failure():
    step = QualityFilter(CleanConfig(min_words=20))
    symbols = "### " * 30 + ENGLISH[0]
    out = list(run_pipeline(docs([ENGLISH[0], "too short to keep", symbols]), [step]))
    assert len(out) == 1
    assert step.summary()["failed_rule"] == {"too_few_words": 1, "symbol_ratio": 1}


def test_normalize_nfkc_and_control_characters():
    step = Normalize("NFKC")
    out = step({"id": "x", "text": "ﬁne\x07 café\r\nnext\u200b line\n\n\n\nend", "source": "t"})
    assert out["text"] == "fine café\nnext line\n\nend"
    assert step.extra["control_chars_removed"] == 2


def test_contamination_finds_a_shared_13_gram():
    test_set = ["Quarterly profits at the firm rose by a third as the new chief executive "
                "cut costs across every division of the group last year."]
    corpus = docs(ENGLISH + ["Reports said that profits at the firm rose by a third as the new "
                             "chief executive cut costs across every division, analysts said."])
    found = find_contamination(corpus, test_set, n=13)
    assert [f["id"] for f in found] == ["d4"] and found[0]["test_items"] == [0]
    assert found[0]["shared_ngrams"] >= 1
    assert find_contamination(corpus[:4], test_set, n=13) == []


def test_pipeline_counts_are_consistent_end_to_end():
    cfg = CleanConfig(min_words=20)
    steps = build_steps(cfg, test_texts=[ENGLISH[3]])
    texts = ENGLISH + [ENGLISH[0], GERMAN, "short one"]
    out = list(run_pipeline(docs(texts), steps))
    assert [s.name for s in steps] == ["fix_mojibake", "normalize", "exact_dedup", "paragraph_dedup", "langid",
                                       "quality", "near_dedup", "decontaminate"]
    for a, b in zip(steps, steps[1:]):
        assert a.docs_out == b.docs_in
    removed = sum(s.docs_in - s.docs_out for s in steps)
    assert len(out) == len(texts) - removed == 3


def test_sentence_splitter_handles_abbreviations():
    text = 'Mr. Smith met Dr. Jones at 5 p.m. on Monday. "Is it late?" he asked. It was!\n\nNew.'
    assert split_sentences(text) == ["Mr. Smith met Dr. Jones at 5 p.m. on Monday.",
                                     '"Is it late?" he asked.', "It was!", "New."]


def test_non_utf8_file_is_detected_decoded_and_counted(tmp_path):
    """A Latin-1 file is decoded as what it is (charset-normalizer), counted in the report;
    it used to be read with replacement characters (5,514 of them in a real corpus)."""
    folder = tmp_path / "texts"
    folder.mkdir()
    for i, text in enumerate(ENGLISH):
        (folder / f"{i}.txt").write_text(text * 3, encoding="utf-8")
    (folder / "latin.txt").write_bytes((ENGLISH[0] + " The café served a naïve résumé. " +
                                        ENGLISH[1]).encode("latin-1"))
    out = build_corpus(str(folder), tmp_path / "c", clean=CleanConfig(min_words=20),
                       vocab_size=300, val_fraction=0.3)
    report = json.loads((out / "report.json").read_text())
    assert report["read"]["decode_error_files"] == 0
    assert report["read"]["non_utf8_files"] == {"cp1252": 1}
    text = (out / "train.jsonl").read_text() + (out / "val.jsonl").read_text()
    assert "naïve résumé" in text and "\ufffd" not in text
    assert report["output"]["documents"] == 5


def test_undetectable_encoding_is_refused(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "0.txt").write_text(ENGLISH[0] * 3, encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(HarnessError, match=r"binary.txt is not utf-8 text and its encoding could "
                                           r"not be detected"):
        build_corpus(str(folder), tmp_path / "c", clean=CleanConfig(min_words=20))
    assert not (tmp_path / "c").exists()


def test_all_filtered_corpus_is_a_clear_error(tmp_path):
    src = tmp_path / "de.jsonl"
    src.write_text("\n".join(json.dumps({"text": GERMAN + f" Nummer {i}."}) for i in range(4)))
    with pytest.raises(HarnessError, match=r"cleaning left 0 of 4 .*langid 4"):
        build_corpus(str(src), tmp_path / "c", clean=CleanConfig(min_words=5))
    assert not (tmp_path / "c").exists()


def test_minhash_estimates_jaccard():
    import re

    from pretrain.data.dedup import MinHasher

    words = " ".join(ENGLISH * 2).split()
    a = " ".join(words)
    b = " ".join(words[:200] + [f"new{i}" for i in range(len(words) - 200)])

    def shingles(t):
        w = re.findall(r"\w+", t.lower())
        return {tuple(w[i:i + 5]) for i in range(len(w) - 4)}

    exact = len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b))
    h = MinHasher(num_perm=256, shingle=5)
    assert abs(h.signature(a).jaccard(h.signature(b)) - exact) < 0.1
    assert h.signature(a).jaccard(h.signature(a)) == 1.0
    assert h.signature("too short") is None


@pytest.mark.parametrize("threshold,num_perm", [(0.5, 64), (0.8, 128), (0.9, 128)])
def test_lsh_bands_match_datasketch(threshold, num_perm):
    from datasketch import MinHashLSH

    from pretrain.data.dedup import lsh_params

    ref = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert lsh_params(threshold, num_perm) == (ref.b, ref.r)
