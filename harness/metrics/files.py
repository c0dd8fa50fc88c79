"""Scoring plain-text files, one segment a line (what ``harness score`` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.metrics.base import Score, get_metric_class
from harnesskit.errors import HarnessError
from harnesskit.fsutil import read_jsonl as _read_jsonl


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file without their line endings (as sacrebleu reads them)."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"file not found: {path}", hint="give a text file, one segment a line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start a new one
    return [line.rstrip("\r") for line in lines]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Per-document dicts, one JSON object a line (the LM metrics' input)."""
    return _read_jsonl(path, missing_hint="give a JSONL file, one document a line",
                       broken_hint="LM metrics read one JSON object a line")


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; a pair without ``=`` is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"option {pair!r} is not KEY=VALUE", hint="e.g. --opt tokenize=intl")
        out[key.strip()] = value
    return out


def score_files(
    metric: str,
    hyp: Path,
    refs: list[Path],
    options: list[str] | tuple[str, ...] = (),
    *,
    ci: bool = True,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> Score:
    """Score a hypothesis file against reference files (one reference a line, in order)."""
    cls = get_metric_class(metric)
    m = cls(**cls.parse_options(parse_pairs(options)))
    if not cls.text_inputs:
        preds: list[Any] = read_jsonl(hyp)
        return m.compute(preds, None, ci=ci, n_bootstrap=n_bootstrap, seed=seed)
    preds = read_lines(hyp)
    if not refs:
        if cls.references_required:
            raise HarnessError(f"{metric} needs references", hint="add --ref FILE")
        return m.compute(preds, None, ci=ci, n_bootstrap=n_bootstrap, seed=seed)
    streams = [read_lines(r) for r in refs]
    for path, lines in zip(refs, streams):
        if len(lines) != len(preds):
            raise HarnessError(f"{hyp} has {len(preds)} lines but {path} has {len(lines)}",
                               hint="hypothesis and reference files must align line by line")
    references = [list(r) for r in zip(*streams)]
    return m.compute(preds, references, ci=ci, n_bootstrap=n_bootstrap, seed=seed)
