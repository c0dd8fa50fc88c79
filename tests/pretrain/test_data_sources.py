"""Sources on small fixtures: local files, fortunes, reST, Debian stanzas, the BBC split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import pretrain.data.sources as sources
from harnesskit.errors import HarnessError
from pretrain.data.debian import iter_descriptions, lists_available, long_text
from pretrain.data.rst import strip_rst
from pretrain.data.sources import ReadStats, bbc_split, data_home, iter_local, open_source


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "dh"))
    assert data_home() == tmp_path / "dh"
    monkeypatch.delenv("HARNESS_DATA_HOME")
    assert data_home().name == "harness-data"


def test_bbc_split_is_fixed_and_about_80_10_10():
    assert bbc_split("/anywhere/tech/042.txt") == bbc_split("tech/042.txt")
    counts = Counter(bbc_split(f"{lab}/{i:03d}.txt") for lab in ("tech", "sport", "business")
                     for i in range(1, 401))
    assert set(counts) == {"train", "validation", "test"}
    assert 0.07 < counts["test"] / 1200 < 0.13 and 0.07 < counts["validation"] / 1200 < 0.13


def test_local_txt_jsonl_parquet_and_folder(tmp_path):
    import pandas as pd

    (tmp_path / "a.txt").write_text("First paragraph.\n\nSecond paragraph.")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x1", "body": "from jsonl"}) + "\n")
    pd.DataFrame({"body": ["row one", "row two"]}).to_parquet(tmp_path / "c.parquet")
    stats = ReadStats()
    docs = list(iter_local(tmp_path / "b.jsonl", stats, "body"))
    assert docs == [{"id": "x1", "text": "from jsonl", "source": "b.jsonl"}]
    texts = [d["text"] for d in iter_local(tmp_path / "c.parquet", stats, "body")]
    assert texts == ["row one", "row two"]
    (tmp_path / "b.jsonl").write_text("{broken\n")
    with pytest.raises(HarnessError, match=r"b.jsonl:1 is not valid JSON"):
        list(iter_local(tmp_path, stats, "body"))
    txt = list(iter_local(tmp_path / "a.txt", stats))
    assert txt[0]["text"].startswith("First") and len(txt) == 1


def test_fortunes_split_on_percent_lines(tmp_path, monkeypatch):
    (tmp_path / "wisdom").write_text("A stitch in time.\n%\nLook before\nyou leap.\n%\n")
    (tmp_path / "wisdom.dat").write_bytes(b"\0")
    monkeypatch.setattr(sources, "FORTUNES_ROOT", tmp_path)
    docs = list(sources.iter_fortunes(ReadStats()))
    assert [d["text"].strip() for d in docs] == ["A stitch in time.", "Look before\nyou leap."]


def test_hub_source_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    _, docs = open_source("hf:someone/some-dataset", ReadStats())
    with pytest.raises(HarnessError, match="cannot read the hub dataset"):
        next(docs)


def test_strip_rst_keeps_text_and_drops_markup():
    rst = """:mod:`os` --- Interfaces
========================

.. module:: os
   :synopsis: Miscellaneous interfaces.

.. index:: single: environment

See :func:`~os.path.join`, :pep:`8` and ``x = 1`` for **details**.

.. function:: getenv(key, default=None)

   Return the variable *key*.

   .. versionchanged:: 3.9
      Now accepts bytes.

Example::

    print(os.getenv("HOME"))
"""
    text = strip_rst(rst)
    assert text.startswith("os --- Interfaces\n\nSee join, PEP 8 and x = 1 for details.")
    assert "getenv(key, default=None)\n   Return the variable key." in text
    assert "Changed in version 3.9." in text and "Now accepts bytes." in text
    assert 'Example:\n\n    print(os.getenv("HOME"))' in text
    for gone in (":func:", "``", "synopsis", "index", "====", ".. "):
        assert gone not in text


def _write_lists(cache):
    lists = cache / "apt-lists"
    lists.mkdir(parents=True)
    (lists / "x_main_i18n_Translation-en").write_text(
        "Package: foo\nDescription-md5: aaa\nDescription-en: Foo tool\n"
        " Foo does things.\n .\n It is fast.\n\n"
        "Package: bar\nDescription-md5: bbb\nDescription-en: Bar library\n Bar helps.\n\n")
    (lists / "x_main_i18n_Translation-de").write_text(
        "Package: foo\nDescription-md5: aaa\nDescription-de: Foo-Werkzeug\n"
        " Foo macht Dinge.\n .\n Es ist schnell.\n\n")
    (lists / "x_main_binary-amd64_Packages").write_text(
        "Package: foo\nVersion: 1\nSection: utils\nDescription: Foo tool\n"
        "Description-md5: aaa\n\nPackage: bar\nSection: libs\nDescription-md5: bbb\n\n")


def test_debian_descriptions_join_translations_and_sections(tmp_path):
    _write_lists(tmp_path)
    assert lists_available(tmp_path) == (True, "installed")
    en = list(iter_descriptions("en", cache=tmp_path))
    assert [(r["package"], r["section"], r["short"]) for r in en] == [
        ("foo", "utils", "Foo tool"), ("bar", "libs", "Bar library")]
    assert en[0]["long"] == "Foo does things.\n\nIt is fast."
    de = list(iter_descriptions("de", cache=tmp_path))
    assert de == [{"package": "foo", "section": "utils", "md5": "aaa", "short": "Foo-Werkzeug",
                   "long": "Foo macht Dinge.\n\nEs ist schnell.", "en_short": "Foo tool",
                   "en_long": "Foo does things.\n\nIt is fast."}]
    assert long_text("  verbatim\n .\n next") == " verbatim\n\nnext"


def test_mix_reads_every_installed_source_once(monkeypatch):
    def reader(name):
        return lambda stats: iter([{"id": f"{name}/0", "text": name, "source": name}])

    fake = {n: sources.NamedSource(n, n, reader(n), lambda ok=ok: (ok, "")) for n, ok in
            (("a", True), ("b", False), ("c", True))}
    fake["mix"] = sources.SOURCES["mix"]
    monkeypatch.setattr(sources, "SOURCES", fake)
    assert [d["id"] for d in sources.iter_mix(ReadStats())] == ["a/0", "c/0"]
