"""``harness data list | build | report``: corpora from real text, cleaned and measured."""

from __future__ import annotations

import json
from pathlib import Path

import click

STEP_FLAGS = ("exact_dedup", "paragraph_dedup", "near_dedup", "langid", "quality")


@click.group()
def data() -> None:
    """Build, list and report on corpora."""


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json: bool) -> None:
    """Show every source with its availability on this machine.

    \b
    Examples:
      harness data list
      harness data list --json
    """
    from pretrain.data.sources import list_sources

    rows = list_sources()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        mark = "yes" if r["available"] else "no "
        click.echo(f"{r['name']:<{width}}  {mark}  {r['description']}"
                   + ("" if r["available"] else f"  [{r['note']}]"))


@data.command("build")
@click.argument("source")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the corpus into (replaced if it holds an older corpus).")
@click.option("--arch", default="gpt", show_default=True, type=click.Choice(["gpt", "bert"]),
              help="Tokenizer kind: byte-level BPE (gpt) or WordPiece (bert).")
@click.option("--vocab-size", default=4096, show_default=True, help="Tokenizer vocabulary size.")
@click.option("--val-fraction", default=0.05, show_default=True,
              help="Share of documents held out for validation (by a hash of the id).")
@click.option("--normalize", default=None, type=click.Choice(["NFC", "NFKC", "off"]),
              help="Unicode normal form [default: NFC].")
@click.option("--no-exact-dedup", is_flag=True, help="Keep exact duplicate documents.")
@click.option("--no-paragraph-dedup", is_flag=True, help="Keep repeated paragraphs.")
@click.option("--no-near-dedup", is_flag=True, help="Keep near duplicates (MinHash LSH).")
@click.option("--no-langid", is_flag=True, help="No language identification or filter.")
@click.option("--no-quality", is_flag=True, help="No Gopher/C4 quality rules.")
@click.option("--languages", default=None, help="Languages to keep, e.g. en,de [default: en].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A cleaning threshold, e.g. --set min_words=20 (see pretrain.data.clean.CleanConfig).")
@click.option("--decontaminate", multiple=True, metavar="TASK|FILE",
              help="Drop documents sharing a 13-gram with this test set (repeatable).")
@click.option("--text-field", default="text", show_default=True,
              help="Field holding the text in .jsonl/.parquet/hub sources.")
@click.option("--max-docs", type=click.IntRange(min=1), default=None, help="Read at most this many documents.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json instead of the table.")
def build(source: str, out: Path, arch: str, vocab_size: int, val_fraction: float,
          normalize: str | None, no_exact_dedup: bool, no_paragraph_dedup: bool,
          no_near_dedup: bool, no_langid: bool, no_quality: bool, languages: str | None,
          sets: tuple[str, ...], decontaminate: tuple[str, ...], text_field: str,
          max_docs: int | None, as_json: bool) -> None:
    """Build a cleaned, tokenized corpus from SOURCE and print its quality report.

    SOURCE is a name from `harness data list` (shakespeare, pydocs,
    debian-descriptions, bbc-news, fortunes, mix), a .txt/.jsonl/.parquet file
    or folder, or hf:<dataset id>[:config][@split] when a hub is reachable.
    task:NAME writes a task's dataset instead (its train/validation/test
    splits as JSONL and a report.json; see `harness tasks list`).

    \b
    Examples:
      harness data build shakespeare --out data/shakespeare
      harness data build pydocs --out data/pydocs --no-near-dedup --set min_words=20
      harness data build my_texts/ --out data/mine --languages en,de --arch bert
      harness data build bbc-news --out data/bbc --decontaminate bbc-news
      harness data build notes.txt --out data/notes --decontaminate test_texts.jsonl
      harness data build task:ding-en-de --out data/ding
    """
    if source.startswith("task:"):
        from tasks import get_task
        from tasks.export import export_task, format_task_report

        report = export_task(get_task(source[len("task:"):]), out)
        click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json
                   else format_task_report(report))
        return
    import dataclasses

    from harnesskit.config import apply_overrides
    from pretrain.data.corpus import build_corpus, default_clean
    from pretrain.data.report import format_report
    from tasks.export import task_test_texts

    flags = dict(zip(STEP_FLAGS, (no_exact_dedup, no_paragraph_dedup, no_near_dedup,
                                  no_langid, no_quality)))
    changes: dict = {k: False for k, off in flags.items() if off}
    if normalize:
        changes["normalize"] = normalize
    if languages:
        changes["languages"] = tuple(x.strip() for x in languages.split(","))
    cfg = apply_overrides(dataclasses.replace(default_clean(source), **changes), sets)
    path = build_corpus(source, out, clean=cfg, val_fraction=val_fraction, arch=arch,
                        vocab_size=vocab_size, decontaminate=decontaminate,
                        text_field=text_field, max_docs=max_docs, task_texts=task_test_texts)
    report = json.loads((path / "report.json").read_text())
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json
               else format_report(report))


@data.command("report")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
def report_cmd(path: str, as_json: bool) -> None:
    """Print the quality report of a built corpus (or measure a source without keeping it).

    \b
    Examples:
      harness data report data/shakespeare
      harness data report notes.jsonl --json
    """
    import tempfile

    from harnesskit.errors import HarnessError
    from pretrain.data.corpus import build_corpus, is_corpus_dir
    from pretrain.data.report import format_report

    folder = Path(path)
    if folder.is_dir() and is_corpus_dir(folder):
        if not (folder / "report.json").is_file():
            raise HarnessError(f"{folder} has no report.json", hint="rebuild it with harness data build")
        report = json.loads((folder / "report.json").read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="harness-report-") as tmp:
            built = build_corpus(path, Path(tmp) / "corpus")
            report = json.loads((built / "report.json").read_text())
            report["out"] = "(not kept)"
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json
               else format_report(report))
