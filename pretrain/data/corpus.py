"""Build a corpus: read a source, clean it, split it, train a tokenizer, write shards, report.

Layout of a built corpus directory (docs/INTERNAL_API.md, section A)::

    train.jsonl, val.jsonl   one cleaned document a line: {"id", "text", "source", "lang"?}
    report.json              the quality report (pretrain.data.report.format_report renders it)
    tokenizer.json           a byte-level BPE trained on train.jsonl
    shards/<sha16>/          token shards for that tokenizer (pretrain.data.shards)

The build streams: documents go from the source through the cleaning steps
straight into the split files, so memory holds the deduplication indexes and
counters, not the text. Everything is written into a temporary sibling that is
renamed into place at the end, so an interrupted build leaves nothing behind.
The validation split is chosen by a hash of each document's id, so it does not
depend on document order or on which other documents survived cleaning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir, temp_sibling
from harnesskit.progress import bar as progress_bar
from pretrain.data.clean import CleanConfig, build_steps, run_pipeline
from pretrain.data.docs import is_corpus_dir, iter_documents  # noqa: F401 - part of this module's API
from pretrain.data.report import CorpusStats

FORMAT = 1
DEFAULT_VOCAB = 4096
# Sources whose documents are short by nature get gentler length rules.
SOURCE_DEFAULTS: dict[str, dict[str, Any]] = {
    # Gopher's stop-word rule assumes documents of 50+ words; a two-line quip need not
    # contain "the" or "of", so fortunes skip it.
    "fortunes": {"min_words": 5, "min_stop_words": 0},
    "debian-descriptions": {"min_words": 20, "min_stop_words": 1},
    "pydocs": {"min_alpha_words": 0.6},
    "mix": {"min_words": 5, "min_stop_words": 1, "min_alpha_words": 0.6},
}


def default_clean(source: str) -> CleanConfig:
    """The cleaning config a named source gets when none is given."""
    return CleanConfig(**SOURCE_DEFAULTS.get(source, {}))


def is_val(doc_id: str, val_fraction: float) -> bool:
    """Whether a document belongs to the validation split (sha256 of its id)."""
    h = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < val_fraction


def build_corpus(source: str, out: str | Path, *, clean: CleanConfig | None = None,
                 val_fraction: float = 0.05, arch: str = "gpt", vocab_size: int = DEFAULT_VOCAB,
                 decontaminate: Sequence[str] = (), text_field: str = "text",
                 max_docs: int | None = None,
                 task_texts: Callable[[str], list[str] | None] | None = None) -> Path:
    """Build a cleaned, split, tokenized corpus from ``source`` into ``out``; returns ``out``.

    ``decontaminate`` names task test sets or files of test texts whose 13-gram
    overlap removes documents; ``task_texts`` resolves a task name to its test texts
    (the caller that knows tasks passes it). Raises :class:`HarnessError` when the source is
    unknown or missing, or nothing survives cleaning.
    """
    from pretrain.data.contamination import load_test_texts
    from pretrain.data.sources import ReadStats, open_source, source_bytes

    if not 0.0 < val_fraction < 1.0:
        raise HarnessError(f"val_fraction {val_fraction} must be between 0 and 1")
    out = Path(out).expanduser()
    _check_out(out)
    started = time.time()
    stats = ReadStats()
    name, docs = open_source(source, stats, text_field)
    cfg = clean or default_clean(source)
    tests = [t for spec in decontaminate for t in load_test_texts(spec, task_texts)]
    steps = build_steps(cfg, tests)
    tmp = temp_sibling(out)  # also removes the leftovers of a killed build
    try:
        docs = _progress(_limited(docs, max_docs), stats, source_bytes(source))
        splits = _write_splits(tmp, run_pipeline(docs, steps), val_fraction)
        _check_nonempty(source, steps, splits)
        report = _report(source, out, stats, steps, splits, cfg, decontaminate)
        report["tokenizer"] = _tokenize(tmp, arch, vocab_size, splits)
        for split, n in report["tokenizer"]["tokens"].items():
            report["splits"][split]["tokens"] = n
        report["seconds"] = round(time.time() - started, 2)
        (tmp / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        replace_dir(tmp, out)  # a stale corpus at the destination is replaced atomically
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _progress(docs: Iterator[dict], stats, total: int | None) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """A tqdm bar over the bytes the source has read (rate and ETA when the size is known)."""
    with progress_bar(total=total, desc="cleaning", unit="B", unit_scale=True) as bar:
        for doc in docs:
            bar.update(stats.bytes - bar.n)
            yield doc
        bar.update(stats.bytes - bar.n)


def _limited(docs: Iterator[dict], max_docs: int | None) -> Iterator[dict]:
    for i, doc in enumerate(docs):
        if max_docs is not None and i >= max_docs:
            return
        yield doc


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out} is a file", hint="give a folder for the corpus")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.json").exists():
        raise HarnessError(f"--out {out} exists and is not a corpus folder",
                           hint="choose a new or empty folder")


def _write_splits(folder: Path, docs: Iterator[dict],
                  val_fraction: float) -> dict[str, CorpusStats]:
    """Stream documents into train.jsonl / val.jsonl, measuring each split and the whole
    (key ``"all"``: the only one with word counts and diversity)."""
    splits = {"train": CorpusStats(full=False), "val": CorpusStats(full=False),
              "all": CorpusStats()}
    with open(folder / "train.jsonl", "w", encoding="utf-8") as ftrain, \
            open(folder / "val.jsonl", "w", encoding="utf-8") as fval:
        for doc in docs:
            split = "val" if is_val(doc["id"], val_fraction) else "train"
            row = {k: doc[k] for k in ("id", "text", "source", "lang") if k in doc}
            (fval if split == "val" else ftrain).write(json.dumps(row, ensure_ascii=False) + "\n")
            splits[split].add(doc["text"], splits["all"].add(doc["text"]))
    if splits["val"].docs == 0 and splits["train"].docs > 1:
        _move_last_to_val(folder, splits)
    return splits


def _move_last_to_val(folder: Path, splits: dict[str, CorpusStats]) -> None:
    """A tiny corpus whose hash split left val empty: the last train document moves to val."""
    lines = (folder / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "train.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")
    (folder / "val.jsonl").write_text(lines[-1], encoding="utf-8")
    train = CorpusStats(full=False)
    for line in lines[:-1]:
        train.add(json.loads(line)["text"])
    splits["train"] = train
    splits["val"] = CorpusStats(full=False)
    splits["val"].add(json.loads(lines[-1])["text"])


def _check_nonempty(source: str, steps: list, splits: dict[str, CorpusStats]) -> None:
    total = splits["all"].docs
    if total >= 2:
        return
    if not steps or steps[0].docs_in == 0:
        raise HarnessError(f"source {source!r} has no documents",
                           hint="check the path or the source is installed (harness data list)")
    removed = ", ".join(f"{s.name} {s.docs_in - s.docs_out}" for s in steps if s.docs_in > s.docs_out)
    raise HarnessError(
        f"cleaning left {total} of {steps[0].docs_in} documents of {source!r} "
        f"(removed by: {removed or 'none'})",
        hint="a corpus needs at least 2 documents; relax or switch off steps, e.g. --no-quality")


def _report(source: str, out: Path, stats, steps: list, splits: dict[str, CorpusStats],
            cfg: CleanConfig, decontaminate: Sequence[str]) -> dict[str, Any]:
    summaries = [s.summary() for s in steps]
    by = {s["step"]: s for s in summaries}
    total = splits["all"]
    report: dict[str, Any] = {
        "format": FORMAT, "source": source, "out": str(out),
        "clean_config": dataclasses.asdict(cfg),
        "read": {**stats.to_dict(), "documents": summaries[0]["docs_in"]},
        "steps": summaries,
        "rates": {
            "exact_duplicate": _rate(by.get("exact_dedup")),
            "near_duplicate": _rate(by.get("near_dedup")),
            "paragraphs_removed": by.get("paragraph_dedup", {}).get("paragraphs_removed", 0)},
        "quality_failures": by.get("quality", {}).get("failed_rule", {}),
        "language_mix": by.get("langid", {}).get("mix", {}),
        "splits": {k: _sizes(splits[k]) for k in ("train", "val")},
        "output": total.summary(),
    }
    # None: not checked (no --decontaminate); a task's test set is needed to check.
    report["contamination"] = ({**by["decontaminate"], "against": list(decontaminate)}
                               if "decontaminate" in by else None)
    # The invariant the report promises: each step's output is the next one's input.
    assert all(a["docs_out"] == b["docs_in"] for a, b in zip(summaries, summaries[1:]))
    assert summaries[-1]["docs_out"] == total.docs
    return report


def _sizes(stats: CorpusStats) -> dict[str, Any]:
    s = stats.summary()
    return {k: s[k] for k in ("documents", "chars", "bytes", "words", "doc_words")}


def _rate(step: dict | None) -> float:
    return step["docs_removed"] / step["docs_in"] if step and step["docs_in"] else 0.0


def _tokenize(folder: Path, arch: str, vocab_size: int,
              splits: dict[str, CorpusStats]) -> dict[str, Any]:
    """Train the default tokenizer on train.jsonl and write its shards."""
    from pretrain.data.shards import write_shards
    from pretrain.data.tokenizer import save_tokenizer, tokenizer_sha, train_tokenizer

    tok = train_tokenizer((d["text"] for d in iter_documents(folder, "train")), arch, vocab_size)
    save_tokenizer(tok, folder / "tokenizer.json")
    shard_dir = write_shards(folder, tok, arch)
    meta = json.loads((shard_dir / "meta.json").read_text())
    chars = splits["all"].chars
    tokens = sum(meta["n_tokens"].values())
    return {"kind": "byte-level BPE" if arch == "gpt" else "WordPiece", "arch": arch,
            "vocab_size": tok.get_vocab_size(), "sha": tokenizer_sha(tok),
            "tokens": meta["n_tokens"], "chars_per_token": chars / max(tokens, 1),
            "shards": f"shards/{shard_dir.name}"}


def ensure_corpus(name_or_dir: str | Path, cache_root: str | Path) -> Path:
    """A built corpus: ``name_or_dir`` itself if it is one, else ``cache_root/<name>``, built once.

    A cached build is reused when its report says it was complete and of this
    format, so a second call costs a few file checks.
    """
    path = Path(name_or_dir).expanduser()
    if path.is_dir() and is_corpus_dir(path):
        return path
    safe = str(name_or_dir).replace("/", "_").replace(":", "_").strip("._") or "corpus"
    target = Path(cache_root) / safe
    if _is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (DDP ranks, parallel tests) may ask at once: one builds, the
    # others wait on the lock and then find the finished corpus.
    lock = target.with_name(f".{safe}.lock")
    try:
        with _locked(lock):
            if _is_current(target):
                return target
            return build_corpus(str(name_or_dir), target)
    except BaseException:
        if not target.exists():  # a source that fails leaves no lock file behind either
            lock.unlink(missing_ok=True)  # (builds are atomic: a racing builder is harmless)
        raise


def _is_current(target: Path) -> bool:
    report = target / "report.json"
    if not (is_corpus_dir(target) and report.is_file()):
        return False
    try:
        return json.loads(report.read_text()).get("format") == FORMAT
    except json.JSONDecodeError:
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (a no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
