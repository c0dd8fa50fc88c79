"""``harness data`` end to end through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

ENV_TEXT = ("The committee met on Tuesday to discuss the new budget for the public library, and "
            "after a long debate the members agreed that the reading room should stay open "
            "until nine in the evening during the winter months of the year {}.")
WORDS = ("the of and to in that is was he for it with as his on be at by had are but from or "
         "have an they which one you were all we her she there would their will when who him "
         "been has more if no out so said what up its about into than them can only other").split()


def varied(i: int) -> str:
    """A distinct English-looking document (a seeded shuffle of common words)."""
    import random

    rng = random.Random(i)
    return " ".join(rng.choice(WORDS) for _ in range(60)) + "."


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_data_list_build_report(tmp_path):
    listing = run("data", "list", "--json")
    assert listing.returncode == 0
    names = {row["name"] for row in json.loads(listing.stdout)}
    assert {"shakespeare", "pydocs", "debian-descriptions", "bbc-news", "fortunes", "mix"} <= names
    src = tmp_path / "in.jsonl"
    texts = [varied(i) for i in range(11)] + [varied(99) + " " + ENV_TEXT.format(1999)]
    src.write_text("\n".join(json.dumps({"text": t}) for t in texts))
    tests = tmp_path / "test.txt"
    tests.write_text(ENV_TEXT.format(1905) + "\n")
    built = run("--quiet", "data", "build", str(src), "--out", str(tmp_path / "c"),
                "--vocab-size", "300", "--no-near-dedup", "--no-langid", "--set", "min_words=5",
                "--decontaminate", str(tests))
    assert built.returncode == 0, built.stderr
    assert "decontaminate" in built.stdout and "tokens" in built.stdout
    report = run("data", "report", str(tmp_path / "c"), "--json")
    data = json.loads(report.stdout)
    cont = data["contamination"]  # the test text is quoted in one document, with another year
    assert cont["docs_removed"] == 1 and cont["test_texts_hit"] == 1
    assert data["output"]["documents"] == 12 - sum(s["docs_removed"] for s in data["steps"])


def test_data_build_bad_input_is_one_line_exit_2(tmp_path):
    res = run("data", "build", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "c"))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "unknown source" in res.stderr
    res = run("data", "build", "shakespeare", "--out", str(tmp_path / "c"), "--set", "bogus=1")
    assert res.returncode == 2 and "unknown config key" in res.stderr
