"""The layers of README "Layout", checked on the real import graph (tools/import_graph.py).

harness -> tasks -> pretrain.engine -> pretrain.data -> harnesskit, harness -> leaderboards
-> harnesskit; nothing upward, and no circle between files, counting imports made inside
functions (those may keep ``harness --help`` fast, never hide a circle).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools/import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_upward_import_and_no_circle_on_main() -> None:
    ig = _tool()
    edges = ig.graph()
    assert ig.violations(edges) == []
    assert ig.cycles(edges) == []
    assert len(edges) > 80  # the tool sees the whole project


def _copy_with(tmp_path: Path, rel: str, line: str) -> Path:
    import shutil

    for pkg in ("harnesskit", "pretrain", "tasks", "leaderboards", "harness"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / rel
    target.write_text(target.read_text() + f"\n\ndef _upward():\n    {line}\n")
    return tmp_path


def test_a_deliberate_upward_import_is_caught(tmp_path: Path) -> None:
    ig = _tool()
    root = _copy_with(tmp_path, "pretrain/data/corpus.py", "from tasks import get_task")
    bad = ig.violations(ig.graph(root), root)
    assert len(bad) == 1 and "pretrain.data.corpus (pretrain.data) imports tasks" in bad[0]


def test_engine_to_data_only_and_leaderboards_never_harness(tmp_path: Path) -> None:
    ig = _tool()
    root = _copy_with(tmp_path, "pretrain/data/shards.py",
                      "from pretrain.engine.model import build_model")
    assert any("pretrain.engine.model" in v for v in ig.violations(ig.graph(root), root))
    root2 = _copy_with(tmp_path / "b", "leaderboards/board.py", "import harness.metrics")
    assert any("leaderboards.board" in v for v in ig.violations(ig.graph(root2), root2))


def test_a_circle_hidden_in_a_function_is_caught(tmp_path: Path) -> None:
    ig = _tool()
    root = _copy_with(tmp_path, "pretrain/data/docs.py", "from pretrain.data import shards")
    assert ["pretrain.data.docs", "pretrain.data.shards"] in ig.cycles(ig.graph(root))


def test_leaderboards_import_no_harness_module() -> None:
    code = ("import sys, leaderboards.compare, leaderboards.views, leaderboards.store, "
            "leaderboards.html, leaderboards.tables\n"
            "bad = sorted(m for m in sys.modules if m == 'harness' or m.startswith('harness.'))\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_tool_runs_from_the_repo() -> None:
    proc = subprocess.run([sys.executable, "tools/import_graph.py"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 layering violations, 0 circles" in proc.stdout
