"""``python -m harness.resources``: WordNet for METEOR and the Debian lists, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import resources


def test_lexnames_table() -> None:
    rows = resources.lexnames_text().splitlines()
    assert len(rows) == 45
    assert rows[0] == "00\tadj.all\t3"
    assert rows[6] == "06\tnoun.artifact\t1"
    assert rows[44] == "44\tadj.ppl\t3"


def test_install_wordnet_copies_files_and_adds_lexnames(tmp_path: Path) -> None:
    src = tmp_path / "debian"
    src.mkdir()
    (src / "data.noun").write_text("noun data\n")
    (src / "index.sense").write_text("sense index\n")
    target = resources.install_wordnet(src, tmp_path / "nltk_data")
    assert target == tmp_path / "nltk_data" / "corpora" / "wordnet"
    assert (target / "data.noun").read_text() == "noun data\n"
    assert not (target / "data.noun").is_symlink()  # NLTK rejects links out of its root
    assert (target / "lexnames").read_text() == resources.lexnames_text()
    assert resources.install_wordnet(src, tmp_path / "nltk_data") == target  # idempotent


def test_missing_wordnet_is_a_note_not_a_failure(tmp_path: Path) -> None:
    assert resources.install_wordnet(tmp_path / "absent", tmp_path / "nltk") is None


def test_debian_list_failure_is_a_note(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import pretrain.data.debian

    def broken(cache: Path | None = None) -> Path:
        raise RuntimeError("no apt here")

    monkeypatch.setattr(pretrain.data.debian, "ensure_lists", broken)
    resources.fetch_debian_lists(quiet=False)
    assert "Debian translation lists not fetched (no apt here)" in capsys.readouterr().err


def test_incomplete_wordnet_is_replaced_whole(tmp_path: Path) -> None:
    src = tmp_path / "debian"
    src.mkdir()
    (src / "data.noun").write_text("noun data\n")
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    target.mkdir(parents=True)
    (target / "data.noun").write_text("stale\n")  # an earlier copy without lexnames
    (target / "junk").write_text("x")
    assert resources.install_wordnet(src, tmp_path / "nltk_data") == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["wordnet"]
    assert sorted(p.name for p in target.iterdir()) == ["data.noun", "lexnames"]
    assert (target / "data.noun").read_text() == "noun data\n"
