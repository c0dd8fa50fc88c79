"""``harness leaderboard show|compare|copy``: read the store, print or write a view, move it."""

from __future__ import annotations

import click

FORMATS = ["terminal", "markdown", "csv", "json", "html", "parquet"]


@click.group()
def leaderboard() -> None:
    """Show and compare leaderboards."""


@leaderboard.command("show")
@click.option("--db", default="results/harness.sqlite", show_default=True, metavar="URL",
              help="Leaderboard store: a path, sqlite:///URL or postgresql://URL.")
@click.option("--task", default=None, help="Only this task.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="terminal",
              show_default=True, help="Output format.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write to this file instead of printing.")
@click.option("--signatures", is_flag=True, help="Add metric signatures and library versions.")
@click.option("--run", default=None, metavar="RUN",
              help="Show this run's checkpoints over training (step, tokens, FLOPs, losses, "
                   "each task's metric) instead.")
def show(db: str, task: str | None, fmt: str, out: str | None, signatures: bool,
         run: str | None) -> None:
    """Print the leaderboard (or write it as Markdown, CSV, JSON or a self-contained HTML page).

    HTML goes to --out, or to ./leaderboard.html when printing to a terminal.

    \b
    Examples:
      harness leaderboard show --db results/harness.sqlite
      harness leaderboard show --task bbc-news --signatures
      harness leaderboard show --format html --out leaderboard.html
      harness leaderboard show --format csv --out leaderboard.csv
      harness leaderboard show --db postgresql://team@dbhost:5432/harness
      harness leaderboard show --format parquet --out leaderboard.parquet   # pandas-ready
      harness leaderboard show --run runs/gpt --format markdown
    """
    import sys

    from leaderboards.views import render, write_parquet, write_view

    if fmt == "parquet":
        if out is None:
            raise click.UsageError("--format parquet needs --out FILE")
        if run is not None or signatures:
            raise click.UsageError("--format parquet writes the whole store (or --task); "
                                   "--run and --signatures are for the tables")
        click.echo(f"wrote {write_parquet(db, out, task=task)}")
        return
    text = render(db, task=task, fmt=fmt, signatures=signatures, run=run)
    if out is None and fmt == "html" and sys.stdout.isatty():
        out = "leaderboard.html"  # a page is for a browser, not a terminal
    if out is None:
        click.echo(text.rstrip())
    else:
        click.echo(f"wrote {write_view(text, out)}")


@leaderboard.command("compare")
@click.argument("model_a")
@click.argument("model_b")
@click.option("--db", default="results/harness.sqlite", show_default=True, metavar="URL",
              help="Leaderboard store.")
@click.option("--task", default=None, help="Only this task.")
@click.option("--bootstrap", "n_boot", default=10000, show_default=True, type=click.IntRange(min=1),
              help="Paired bootstrap resamples.")
@click.option("--setting", default=None, metavar="LABEL",
              help='Only results of this setting, as the leaderboard shows it ("limit=200").')
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare(model_a: str, model_b: str, db: str, task: str | None, n_boot: int,
            setting: str | None, as_json: bool) -> None:
    """Paired bootstrap of two models on the examples of their shared tasks.

    Every metric is recomputed on each resample as the metric computes it (BLEU
    from n-gram counts, macro F1 from labels), from the per-example statistics
    saved with the predictions. MODEL_A and MODEL_B are model ids as the
    leaderboard shows them (or a prefix of their content hash; a name that
    several models share is refused with the candidates), or checkpoints of a
    run as RUN@step-0000400 (or RUN@400). Right/wrong metrics (accuracy, exact match) also get McNemar's
    exact test; over several tasks and metrics the p-values are Holm-adjusted;
    each comparison says the smallest difference its test set could detect.

    \b
    Examples:
      harness leaderboard compare gpt-tiny bert-tiny
      harness leaderboard compare gpt-small gpt-tiny --task bbc-news --json
      harness leaderboard compare gpt@step-0000800 gpt@step-0000400
    """
    import json

    from leaderboards.compare import render
    from leaderboards.views import compare as run_compare

    comps = run_compare(db, model_a, model_b, task=task, setting=setting, n_boot=n_boot)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in comps], indent=2))
    else:
        click.echo(render(comps).rstrip())


@leaderboard.command("copy")
@click.option("--from", "source", required=True, metavar="URL",
              help="The store to read (a path, sqlite:///URL or postgresql://URL).")
@click.option("--to", "dest", required=True, metavar="URL",
              help="The store to write (created and migrated if new).")
def copy(source: str, dest: str) -> None:
    """Copy every row of one store into another, between SQLite and PostgreSQL either way.

    Rows keep their result keys and timestamps, so the leaderboard reads the
    same from both; rows already in the target are replaced, never doubled.

    \b
    Examples:
      harness leaderboard copy --from results/harness.sqlite --to postgresql://team@dbhost/harness
      harness leaderboard copy --from postgresql://team@dbhost/harness --to backup.sqlite
    """
    from leaderboards.store import copy_store

    n = copy_store(source, dest)
    click.echo(f"copied {n} result rows")


@leaderboard.command("composite")
@click.option("--db", default="results/harness.sqlite", show_default=True, metavar="URL",
              help="Leaderboard store.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def composite(db: str, as_json: bool) -> None:
    """One score per model: each task rescaled between its best trivial baseline (0) and
    perfect (100), averaged over the model's tasks, with a 95% CI and the task list.

    \b
    Examples:
      harness leaderboard composite --db results/harness.sqlite
    """
    import dataclasses
    import json

    from leaderboards.composite import composites, render
    from leaderboards.frame import results_frame

    comps = composites(results_frame(db))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in comps], indent=2))
    else:
        click.echo(render(comps).rstrip())
