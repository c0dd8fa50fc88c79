"""``harness finetune``: fine-tune one checkpoint on one task and save it."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--model", required=True, help="Checkpoint or run directory, or hf:PATH (an encoder).")
@click.option("--task", "task_name", required=True, help="Task name (see harness tasks list).")
@click.option("--out", required=True, type=click.Path(), help="Where the fine-tuned model goes.")
@click.option("--seed", default=0, show_default=True, help="Seed for the head, data order, dropout.")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Cap every split at N examples (quick runs).")
@click.option("--epochs", default=None, type=click.IntRange(min=1), help="Override the task's epochs.")
@click.option("--lr", default=None, type=float, help="Override the task's learning rate.")
@click.option("--beams", default=None, type=click.IntRange(min=1), help="Beam width for generation (1 = greedy).")
@click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "bf16", "fp32"]),
              help="Autocast precision; auto: bf16 only where the hardware has fast bf16.")
@click.option("--include", "includes", multiple=True, type=click.Path(exists=True),
              help="Also register the YAML tasks in this folder.")
def finetune(model: str, task_name: str, out: str, seed: int, limit: int | None,
             epochs: int | None, lr: float | None, beams: int | None, precision: str,
             includes: tuple[str, ...]) -> None:
    """Fine-tune MODEL on TASK's train split (early stopping on validation) and save it.

    Writes OUT/backbone (a checkpoint), OUT/head.safetensors, OUT/finetune.json
    and OUT/predictions.jsonl (the test split's predictions).

    \b
    Examples:
      harness finetune --model runs/gpt --task bbc-news --out ft/bbc
      harness finetune --model hf:/path/to/minilm --task faq-qa --out ft/faq --limit 50
      harness finetune --model runs/gpt --task ding-en-de --out ft/ding --beams 4 --epochs 1
    """
    from pathlib import Path

    from harnesskit.errors import HarnessError
    from harnesskit.fsutil import write_text_atomic
    from pretrain.engine.precision import resolve_precision
    from tasks import get_task, include
    from tasks.modelref import resolve_model
    from tasks.runner import NotApplicable, predict

    precision = resolve_precision(precision)
    for folder in includes:
        include(folder)
    task = get_task(task_name)
    ref = resolve_model(model)
    overrides = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("beams", beams)) if v is not None}
    try:
        preds = predict(ref, task, mode="finetune", seed=seed, limit=limit,
                        workdir=Path(out), precision=precision, overrides=overrides)
    except NotApplicable as exc:
        raise HarnessError(f"{model} cannot be fine-tuned on {task_name}: {exc.reason}",
                           hint="use a gpt checkpoint for generative tasks") from None
    write_text_atomic(Path(out) / "predictions.jsonl",
                      "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in preds.rows))
    info = preds.info
    click.echo(json.dumps({"task": task.name, "out": out, "n_train": info.get("n_train"),
                           "best_val_loss": info.get("best_val_loss"),
                           "epochs_run": len(info.get("history", [])),
                           "train_seconds": info.get("train_seconds"),
                           "predict_seconds": info.get("predict_seconds")}, indent=2))
