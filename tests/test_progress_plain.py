"""Off a terminal, a bar whose postfix changes every step still prints only periodic lines
(tqdm's set_postfix forces a redraw by default: the quickstart log got one line per step)."""

from __future__ import annotations

import io

from harnesskit.progress import bar


def test_postfix_updates_do_not_print_a_line_each(monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_PROGRESS_INTERVAL", "30")
    monkeypatch.delenv("HARNESS_QUIET", raising=False)
    buf = io.StringIO()
    b = bar(range(50), total=50, desc="train", file=buf)
    for i in b:
        b.set_postfix(loss=i)
        b.set_description("train")
    b.close()
    assert buf.getvalue().count("\n") <= 1  # at most the closing line; was 50
