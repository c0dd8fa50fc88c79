"""``harness export``: a checkpoint as a transformers directory (GPT2LMHeadModel / BertForMaskedLM)."""

from __future__ import annotations

import click


@click.command()
@click.option("--model", "model", required=True,
              help="A checkpoint directory or a run directory (its latest checkpoint).")
@click.option("--format", "fmt", default="hf", show_default=True, type=click.Choice(["hf"]),
              help="Export format: hf = a transformers model directory with its tokenizer.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New directory to write (must not exist or be empty).")
def export(model: str, fmt: str, out: str) -> None:
    """Export a checkpoint so that transformers loads it with from_pretrained.

    \b
    Examples:
      harness export --model runs/gpt-tiny --format hf --out exported/gpt-tiny
      python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('exported/gpt-tiny')"
    """
    from pretrain.engine.export import export_hf

    path = export_hf(model, out)
    click.echo(f"wrote {path}")
