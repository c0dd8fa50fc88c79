"""The HTML page: self-contained, and it opens in headless Chromium without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from leaderboards.views import render, write_view

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_page_is_self_contained_and_complete(filled_store: Path) -> None:
    page = render(filled_store, fmt="html")
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing fetched from a network
    for task in ("news", "dialogue"):
        assert f"data-task='{task}'" in page
    for model in ("gpt-tiny", "bert-tiny", "majority"):
        assert f"data-model='{model}'" in page
    assert page.count("<svg class=chart") == 2           # one bar chart per task
    assert page.count("<svg class=curve") == 2           # gpt-tiny and bert-tiny loss curves
    assert "not applicable" in page and "accuracy|fixture" in page  # reasons and signatures


def _chromium_dump(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and the console/JS error lines Chromium logged."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
           "--v=0", "--virtual-time-budget=2000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines()
              if "CONSOLE" in ln or "Uncaught" in ln or "SyntaxError" in ln]
    return proc.stdout, errors


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make setup installs it as "
    "root); the headless-browser check needs it")


@needs_chromium
def test_page_opens_in_headless_chromium(filled_store: Path, tmp_path: Path) -> None:
    page = write_view(render(filled_store, fmt="html"), tmp_path / "leaderboard.html")
    dom, errors = _chromium_dump(page, tmp_path)
    assert not errors, errors
    head = dom[:dom.index("<head")]
    assert "data-js-error" not in head                  # the error sentinel stayed quiet
    assert 'data-ready="1"' in dom                       # the page script ran to the end
    for task in ("news", "dialogue"):
        assert f'data-task="{task}"' in dom
    for model in ("gpt-tiny", "bert-tiny", "majority"):
        assert f'data-model="{model}"' in dom


@needs_chromium
def test_chromium_check_catches_a_broken_script(filled_store: Path, tmp_path: Path) -> None:
    text = render(filled_store, fmt="html").replace("</body>", "<script>nosuchfn();</script></body>")
    dom, errors = _chromium_dump(write_view(text, tmp_path / "broken.html"), tmp_path)
    assert errors or "data-js-error=" in dom[:dom.index("<head")]
