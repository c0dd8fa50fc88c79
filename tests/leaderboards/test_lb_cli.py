"""`harness leaderboard show|compare` as a user runs them: output, files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_show_formats_and_compare(filled_store: Path, tmp_path: Path) -> None:
    proc = run("leaderboard", "show", "--db", str(filled_store), "--task", "news")
    assert proc.returncode == 0, proc.stderr
    assert "== news" in proc.stdout and "gpt-tiny" in proc.stdout
    page = tmp_path / "lb.html"
    proc = run("leaderboard", "show", "--db", f"sqlite:///{filled_store}", "--format", "html",
               "--out", str(page))
    assert proc.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")
    proc = run("leaderboard", "compare", "gpt-tiny", "bert-tiny", "--db", str(filled_store),
               "--task", "news", "--bootstrap", "500", "--json")
    assert proc.returncode == 0, proc.stderr
    comps = json.loads(proc.stdout)
    assert comps[0]["metric"] == "accuracy" and comps[0]["delta"] == 30.0
    assert "gpt-tiny is better than bert-tiny" in comps[0]["verdict"]


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    proc = run("leaderboard", "show", "--db", str(tmp_path / "missing.sqlite"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no leaderboard store" in proc.stderr
    proc = run("leaderboard", "show", "--db", "postgres://host/db")
    assert proc.returncode == 2 and "unsupported store URL scheme" in proc.stderr


def test_parquet_checks_like_the_tables(filled_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "lb.parquet"
    proc = run("leaderboard", "show", "--db", str(filled_store), "--format", "parquet",
               "--task", "nosuch", "--out", str(out))
    assert proc.returncode == 2 and "no results for task 'nosuch'" in proc.stderr
    proc = run("leaderboard", "show", "--db", str(filled_store), "--format", "parquet",
               "--run", "runs/x", "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".lb.parquet*"))
    proc = run("leaderboard", "show", "--db", str(filled_store), "--format", "parquet",
               "--task", "news", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    assert set(pd.read_parquet(out)["task"]) == {"news"}
