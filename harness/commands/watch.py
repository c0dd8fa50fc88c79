"""``harness watch RUN``: evaluate every new checkpoint of a run while it trains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands.eval import executor_from_cli, executor_options


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--tasks", required=True, metavar="NAMES", help="Comma-separated task names.")
@click.option("--interval", default=30.0, show_default=True, type=float,
              help="Seconds between looks for new checkpoints.")
@click.option("--until-done", is_flag=True,
              help="Stop once the run's final checkpoint (train.max_steps) is evaluated.")
@click.option("--mode", type=click.Choice(["zeroshot", "finetune"]), default="zeroshot",
              show_default=True, help="Prompt each checkpoint as is, or fine-tune it per task.")
@click.option("--limit", type=int, default=None, help="Score only the first N test examples.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results folder.")
@click.option("--db", default=None, metavar="URL",
              help="Leaderboard store URL [default: OUT/harness.sqlite].")
@click.option("--include", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A folder of YAML tasks to add to the registry (repeatable).")
@click.option("--no-baselines", is_flag=True, help="Do not add the tasks' baseline rows.")
@click.option("--bootstrap", "n_bootstrap", default=1000, show_default=True, type=int,
              help="Bootstrap resamples for the 95% CIs (0 = no CIs).")
@executor_options
def watch(run: str, tasks: str, interval: float, until_done: bool, mode: str, limit: int | None,
          out: str, db: str | None, include: tuple[str, ...], no_baselines: bool,
          n_bootstrap: int, **engine: Any) -> None:
    """Evaluate each checkpoint of RUN once it is complete, and keep watching for new ones.

    Safe to stop (Ctrl-C) and start again: finished results are found by each
    checkpoint's content hash and never recomputed. A checkpoint is read only
    once its folder is whole (written aside, then renamed into place).

    \b
    Examples:
      harness watch runs/gpt --tasks shakespeare-lm,bbc-news
      harness watch runs/gpt --tasks shakespeare-lm --interval 10 --until-done --out results
      harness watch runs/gpt --tasks shakespeare-lm,bbc-news --executor ray --ray-address auto
    """
    from harness.watch import WatchConfig
    from harness.watch import watch as run_watch

    cfg = WatchConfig(run=Path(run), tasks=tasks, interval=interval, until_done=until_done,
                      mode=mode, limit=limit, out=Path(out), db=db, baselines=not no_baselines,
                      n_bootstrap=n_bootstrap, include=include,
                      executor=executor_from_cli(out, **engine))
    results = run_watch(cfg, say=lambda msg: click.echo(msg, err=True))
    click.echo(f"{len(results)} results for {run} in {out}/")
