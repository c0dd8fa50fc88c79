"""``harness score``: score plain-text files like the sacrebleu command, print JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("score")
@click.option("--metric", "-m", default=None, help="Metric name (see `--list`).")
@click.option("--hyp", "hyp", type=click.Path(path_type=Path),
              help="Hypotheses, one segment a line (LM metrics: one JSON document a line).")
@click.option("--ref", "-r", "refs", multiple=True, type=click.Path(path_type=Path),
              help="References, one a line, aligned with --hyp; repeat for more references.")
@click.option("--opt", "-o", "opts", multiple=True, metavar="KEY=VALUE",
              help="A metric option, named as in the reference library; repeatable.")
@click.option("--n-bootstrap", default=1000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for the 95% CI (0: no CI).")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--list", "list_only", is_flag=True, help="List the metrics and exit.")
def score(metric: str | None, hyp: Path | None, refs: tuple[Path, ...], opts: tuple[str, ...],
          n_bootstrap: int, seed: int, list_only: bool) -> None:
    """Score a hypothesis file against reference files; print score, CI, signature, details.

    \b
    Examples:
      harness score --metric bleu --hyp hyp.txt --ref ref.txt
      harness score --metric bleu --hyp hyp.txt --ref ref1.txt --ref ref2.txt --opt tokenize=intl
      harness score --metric chrf --opt word_order=2 --hyp hyp.txt --ref ref.txt   # chrF++
      harness score --metric rougeLsum --opt use_stemmer=true --hyp sum.txt --ref gold.txt
      harness score --metric meteor --opt alpha=0.85 --hyp hyp.txt --ref ref.txt
      harness score --metric distinct_2 --hyp responses.txt
      harness score --metric perplexity --hyp docs.jsonl     # per-document log-probs
    """
    from harness.metrics import list_metrics
    from harness.metrics.files import score_files
    from harnesskit.errors import HarnessError

    if list_only:
        click.echo("\n".join(list_metrics()))
        return
    if metric is None:
        raise HarnessError("no metric given", hint="add --metric NAME (see harness score --list)")
    if hyp is None:
        raise HarnessError("no hypothesis file", hint="add --hyp FILE")
    result = score_files(metric, hyp, list(refs), opts, ci=n_bootstrap > 0,
                         n_bootstrap=n_bootstrap, seed=seed)
    click.echo(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
