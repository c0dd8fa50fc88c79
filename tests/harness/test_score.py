"""``harness score``: files in, sacrebleu-like JSON out, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu
from click.testing import CliRunner

from harness.commands.score import score
from harness.metrics.files import read_lines, score_files
from harnesskit.errors import HarnessError

HYPS = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
REFS_A = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
REFS_B = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    return (_write(tmp_path / "hyp.txt", HYPS), _write(tmp_path / "a.txt", REFS_A),
            _write(tmp_path / "b.txt", REFS_B))


def test_cli_prints_json_equal_to_sacrebleu(files: tuple[Path, Path, Path]) -> None:
    hyp, a, b = files
    result = CliRunner().invoke(score, ["--metric", "bleu", "--hyp", str(hyp), "--ref", str(a),
                                       "--ref", str(b), "--opt", "tokenize=intl"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    expected = sacrebleu.metrics.BLEU(tokenize="intl").corpus_score(HYPS, [REFS_A, REFS_B])
    assert out["score"] == pytest.approx(expected.score, abs=1e-9)
    assert out["signature"].startswith("bleu|nrefs:2|case:mixed|eff:no|tok:intl|")
    assert len(out["ci"]) == 2 and out["ci"][0] <= out["score"] <= out["ci"][1]
    assert out["details"]["sys_len"] == expected.sys_len


def test_score_files_chrf_plus_plus(files: tuple[Path, Path, Path]) -> None:
    hyp, a, _ = files
    s = score_files("chrf", hyp, [a], ["word_order=2"], ci=False)
    assert s.score == pytest.approx(
        sacrebleu.metrics.CHRF(word_order=2).corpus_score(HYPS, [REFS_A]).score, abs=1e-9)
    assert "nw:2" in s.signature


def test_line_count_mismatch(tmp_path: Path, files: tuple[Path, Path, Path]) -> None:
    hyp, _, _ = files
    short = _write(tmp_path / "short.txt", REFS_A[:2])
    with pytest.raises(HarnessError, match="has 3 lines but .*short.txt has 2"):
        score_files("bleu", hyp, [short])


def test_bad_opt_syntax(files: tuple[Path, Path, Path]) -> None:
    hyp, a, _ = files
    with pytest.raises(HarnessError, match="not KEY=VALUE"):
        score_files("bleu", hyp, [a], ["tokenize"])


def test_read_lines_keeps_empty_segments(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("a\n\nb\r\n", encoding="utf-8")
    assert read_lines(p) == ["a", "", "b"]


def test_lm_metric_from_jsonl(tmp_path: Path) -> None:
    docs = [{"token_logprobs": [-1.0, -2.0], "token_correct": [True, False], "n_bytes": 8,
             "n_words": 2}]
    p = tmp_path / "docs.jsonl"
    p.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    s = score_files("perplexity", p, [], ci=False)
    assert s.score == pytest.approx(2.718281828459045 ** 1.5)


def test_help_and_errors_through_the_real_command(files: tuple[Path, Path, Path]) -> None:
    hyp, a, _ = files
    run = [sys.executable, "-m", "harness"]
    proc = subprocess.run([*run, "score", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Examples:" in proc.stdout and "--opt" in proc.stdout
    proc = subprocess.run([*run, "score", "--metric", "blue", "--hyp", str(hyp), "--ref", str(a)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown metric 'blue'" in proc.stderr
    assert "did you mean bleu" in proc.stderr
