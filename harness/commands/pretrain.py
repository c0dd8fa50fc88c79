"""``harness pretrain``: train a model from scratch on a corpus (also under torchrun)."""

from __future__ import annotations

import os

import click


@click.command()
@click.option("--preset", default="tiny", show_default=True, help="tiny, small or base.")
@click.option("--arch", default="gpt", show_default=True,
              help="Architecture: gpt, llama, bert or a plugin's (harness config show lists "
                   "them; entry-point group harness.architectures).")
@click.option("--objective", default=None,
              help="Objective: clm, mlm, simcse, electra or a plugin's (harness.objectives); "
                   "default: the architecture's (clm for decoders, mlm for encoders).")
@click.option("--corpus", default=None,
              help="A built corpus directory or a source name (shakespeare, pydocs, mix, a "
                   "file, hf:ID); default: the preset's corpus.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run directory: checkpoints/, latest, metrics.jsonl, loss.png.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.max_steps=200 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@click.option("--teacher", default=None, type=click.Path(exists=True),
              help="Distil from this checkpoint (same arch; its tokenizer is reused).")
@click.option("--eval-tasks", default=None, metavar="NAMES",
              help="Evaluate the model in memory on these tasks during training (language "
                   "modelling scored, others zero-shot); scores go to metrics.jsonl and the store.")
@click.option("--eval-every", default=None, type=int, metavar="N",
              help="Steps between in-loop evaluations [default: train.ckpt_every]; the last "
                   "step is always evaluated, and each evaluated step gets a checkpoint "
                   "(rotated as train.keep_last says; its rows stay in the store).")
@click.option("--eval-limit", default=None, type=int, help="Score only the first N test examples.")
@click.option("--eval-out", default=None, type=click.Path(file_okay=False),
              help="Results folder of the in-loop evaluations [default: OUT/eval].")
@click.option("--eval-include", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A folder of YAML tasks for --eval-tasks (repeatable).")
@click.option("--eval-db", default=None, metavar="URL",
              help="Leaderboard store of the in-loop evaluations [default: EVAL_OUT/harness.sqlite].")
def pretrain(preset: str, arch: str, objective: str | None, corpus: str | None, out: str,
             sets: tuple[str, ...], resume: bool, teacher: str | None, eval_tasks: str | None,
             eval_every: int | None, eval_limit: int | None, eval_out: str | None,
             eval_include: tuple[str, ...], eval_db: str | None) -> None:
    """Pretrain a model; trains a tokenizer and writes shards first if the corpus needs them.

    \b
    Examples:
      harness pretrain --preset tiny --arch gpt --corpus shakespeare --out runs/gpt-tiny
      harness pretrain --preset tiny --arch bert --out runs/bert-tiny --set train.max_steps=100
      harness pretrain --preset tiny --arch llama --out runs/llama-tiny --set optim.name=rmsprop
      harness pretrain --arch bert --objective electra --out runs/electra --set schedule.name=linear
      harness pretrain --arch bert --objective simcse --out runs/simcse \
          --set train.init_from=runs/bert-tiny --set model.dropout=0.1
      harness pretrain --preset tiny --out runs/gpt-tiny --resume
      harness pretrain --preset tiny --out runs/student --teacher runs/gpt-small --set model.n_layer=2
      torchrun --standalone --nproc_per_node 2 -m harness pretrain --preset small --out runs/s
      harness pretrain --preset tiny --out runs/gpt --eval-tasks shakespeare-lm,bbc-news --eval-every 100
    """
    from harnesskit.config import apply_overrides
    from pretrain.engine.presets import preset as make_preset
    from pretrain.engine.trainer import pretrain as run

    cfg = apply_overrides(make_preset(preset, arch), sets)
    if objective:
        cfg = apply_overrides(cfg, [f"train.objective={objective}"])
    callbacks = []
    if eval_tasks:
        from pathlib import Path

        from harness.inloop import InLoopEval

        callbacks.append(InLoopEval(tasks=[eval_tasks], every=eval_every or cfg.train.ckpt_every,
                                    out=Path(eval_out or Path(out) / "eval"), db=eval_db,
                                    limit=eval_limit, include=eval_include))
    elif any(v is not None for v in (eval_every, eval_limit, eval_out, eval_db)) or eval_include:
        raise click.UsageError("--eval-every, --eval-limit, --eval-out, --eval-include and "
                               "--eval-db need --eval-tasks")
    result = run(cfg, corpus=corpus, out=out, resume=resume, teacher=teacher, callbacks=callbacks)
    if os.environ.get("RANK", "0") != "0":
        return
    bpb = f", val bpb {result.val_bpb:.3f}" if result.val_bpb is not None else ""
    click.echo(f"{result.steps} steps, {result.tokens:,} tokens, {result.n_params:,} parameters, "
               f"{result.elapsed_s:.0f}s ({result.tokens_per_s:,.0f} tok/s): "
               f"val loss {result.val_loss:.4f}{bpb}")
    click.echo(f"checkpoint: {result.checkpoint}")
