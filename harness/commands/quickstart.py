"""``harness quickstart``: build data, pretrain a tiny GPT and BERT, evaluate, rank."""

from __future__ import annotations

import click

from harness.quickstart import QuickstartConfig as _Defaults  # light: no torch at import


@click.command("quickstart")
@click.option("--out", default="quickstart", show_default=True, type=click.Path(file_okay=False),
              help="Where the runs, results and leaderboard go.")
@click.option("--gpt-steps", default=_Defaults.gpt_steps, show_default=True,
              help="Pretraining steps of the GPT.")
@click.option("--bert-steps", default=_Defaults.bert_steps, show_default=True,
              help="Pretraining steps of the BERT.")
@click.option("--limit", default=_Defaults.limit, show_default=True,
              help="Examples per split of each task (fine-tuning and test).")
@click.option("--no-minilm", is_flag=True, help="Leave out the MiniLM encoder (hf:).")
def quickstart(out: str, gpt_steps: int, bert_steps: int, limit: int, no_minilm: bool) -> None:
    """The five-minute tour: offline data, two tiny models, every task family, a leaderboard.

    Rerunning reuses everything already done.

    \b
    Examples:
      harness quickstart
      harness quickstart --out /tmp/qs --gpt-steps 100 --limit 20
    """
    from pathlib import Path

    from harness.quickstart import QuickstartConfig, run_quickstart

    cfg = QuickstartConfig(out=Path(out), gpt_steps=gpt_steps, bert_steps=bert_steps,
                           limit=limit, minilm=not no_minilm)
    rep = run_quickstart(cfg)
    click.echo(rep.leaderboard.rstrip())
    click.echo("")
    stages = ", ".join(f"{k.removesuffix('_s')} {v:.0f}s" for k, v in rep.timings.items())
    click.echo(f"{rep.n_results} results ({stages}); store {rep.db}")
    click.echo(f"HTML leaderboard: {rep.html.resolve()}  (Markdown: {rep.out / 'leaderboard.md'})")
    click.echo(f"next: harness leaderboard compare gpt-tiny bert-tiny --db {rep.db}")
