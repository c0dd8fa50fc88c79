"""``harness eval``: fine-tune or prompt models on tasks, score them, record the leaderboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _seeds(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]; anything else is a usage error."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers",
                                 param_hint="--seeds") from None


def _overrides(pairs: tuple[str, ...]) -> dict:
    """'epochs=1' -> {'epochs': 1}; values parsed as YAML scalars (ints, floats, null)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--ft")
        out[key.strip()] = yaml.safe_load(value)
    return out

# Where jobs run: the options `harness eval` and `harness watch` share.
EXECUTOR_OPTIONS = [
    click.option("--executor", type=click.Choice(["local", "ray", "slurm"]), default="local",
                 show_default=True, help="Where jobs run: here, a Ray cluster, or Slurm (submitit)."),
    click.option("--jobs", "n_jobs", type=click.IntRange(min=1), default=None,
                 help="local: worker processes running jobs side by side [default: 1, in this process]."),
    click.option("--ray-address", default=None, metavar="ADDR",
                 help="ray: the cluster to join (e.g. ray://head:10001 or auto) "
                      "[default: start a local instance]."),
    click.option("--cpus-per-job", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="ray/slurm: CPUs each job declares [default: 1]."),
    click.option("--gpus-per-job", type=click.FloatRange(min=0), default=None,
                 help="ray/slurm: GPUs each job declares [default: 0]."),
    click.option("--retries", type=click.IntRange(min=0), default=None,
                 help="ray: reruns of a job whose worker died [default: 2]."),
    click.option("--slurm-partition", default=None, help="slurm: the partition to submit to."),
    click.option("--slurm-time", type=click.IntRange(min=1), default=None, metavar="MINUTES",
                 help="slurm: time limit of each job; a job that runs out is requeued [default: 60]."),
    click.option("--slurm-mem-gb", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="slurm: memory of each job."),
    click.option("--slurm-folder", default=None, type=click.Path(file_okay=False),
                 help="slurm: submitit's logs and job files (a shared path) [default: OUT/.submitit]."),
]


def executor_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the executor options (see :data:`EXECUTOR_OPTIONS`) to a click command."""
    for option in reversed(EXECUTOR_OPTIONS):
        fn = option(fn)
    return fn


def executor_from_cli(out: str, *, executor: str, n_jobs: int | None, ray_address: str | None,
                      cpus_per_job: float | None, gpus_per_job: float | None,
                      retries: int | None, slurm_partition: str | None, slurm_time: int | None,
                      slurm_mem_gb: float | None, slurm_folder: str | None) -> Any:
    """The executor the options ask for (under torchrun: the data-parallel one)."""
    from harness.executors import executor_from_options

    return executor_from_options(
        executor, out=out, jobs=n_jobs, address=ray_address, cpus=cpus_per_job,
        gpus=gpus_per_job, retries=retries, partition=slurm_partition, time_min=slurm_time,
        mem_gb=slurm_mem_gb, folder=slurm_folder)


@click.command("eval")
@click.option("--model", "models", multiple=True, required=True, metavar="CKPT",
              help="A checkpoint or run directory, or hf:PATH (repeatable).")
@click.option("--checkpoints", default=None, metavar="all|last:K|every:N|step-N,...",
              help="Evaluate these checkpoints of each --model run directory (a sweep); "
                   "finished ones are reused, so a sweep only scores new checkpoints.")
@click.option("--tasks", default="all", show_default=True, metavar="NAMES|all",
              help="Comma-separated task names, or all (every task available here).")
@click.option("--mode", type=click.Choice(["finetune", "zeroshot"]), default="finetune",
              show_default=True, help="Fine-tune each model per task, or prompt it as is.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N test examples.")
@click.option("--seeds", default="0", show_default=True, help="Fine-tuning seeds, e.g. 0,1,2.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results folder: OUT/<model>/<task>/seed-<k>.json.")
@click.option("--db", default=None, metavar="URL",
              help="Leaderboard store URL [default: OUT/harness.sqlite].")
@click.option("--include", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A folder of YAML tasks to add to the registry (repeatable).")
@click.option("--no-baselines", is_flag=True, help="Do not add the tasks' baseline rows.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1),
              help="Evaluation batch size (speed only; results do not depend on it).")
@click.option("--bootstrap", "n_bootstrap", default=1000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for the 95% CIs (0 = no CIs).")
@click.option("--ft", "ft_sets", multiple=True, metavar="KEY=VALUE",
              help="Override a fine-tuning default, e.g. --ft epochs=1 (repeatable).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto",
              show_default=True, help="Autocast precision of fine-tuning and inference.")
@click.option("--num-fewshot", type=click.IntRange(min=0), default=None,
              help="Solved examples before each prompted question; a separate result "
                   "(default: the task's own setting, 0 for ours).")
@click.option("--chat-template", is_flag=True,
              help="Prompt through the tokenizer's chat template (shots as turns).")
@click.option("--device", default=None, metavar="cpu|cuda|cuda:N",
              help="Where models run [default: cuda when visible, else cpu].")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32",
              show_default=True, help="Dtype of the model weights (log-softmax stays float32).")
@click.option("--rescore", is_flag=True, help="Recompute metrics from saved predictions only.")
@click.option("--signatures", is_flag=True, help="Print metric signatures and versions too.")
@executor_options
def eval_cmd(models: tuple[str, ...], checkpoints: str | None, tasks: str, mode: str, limit: int | None, seeds: str,
             out: str, db: str | None, include: tuple[str, ...], no_baselines: bool,
             batch_size: int, n_bootstrap: int, ft_sets: tuple[str, ...], precision: str,
             num_fewshot: int | None, chat_template: bool, device: str | None, dtype: str,
             rescore: bool, signatures: bool, **engine: Any) -> None:
    """Evaluate models on tasks and print the leaderboard of those tasks.

    Finished work is found by model content hash, task version and data hash,
    seed and config, and reused; an interrupted run resumes where it stopped.

    \b
    Examples:
      harness eval --model runs/gpt --tasks bbc-news --limit 200
      harness eval --model runs/gpt --model runs/bert --tasks all --seeds 0,1,2
      harness eval --model hf:path/to/minilm --tasks bbc-news,faq-qa --out results
      harness eval --model runs/gpt --tasks shakespeare-dialogue --mode zeroshot
      harness eval --model runs/gpt --tasks ding-en-de --limit 100 --ft epochs=1
      harness eval --model runs/gpt --checkpoints all --tasks shakespeare-lm --mode zeroshot
      harness eval --model runs/gpt --checkpoints last:3 --tasks bbc-news --mode zeroshot
      harness eval --model runs/gpt --tasks lmeval:arc_easy --num-fewshot 5 --precision fp32
      harness eval --model runs/gpt --include my_lmeval_yamls/ --tasks lmeval:my_group
      harness eval --model runs/gpt --tasks all --executor local --jobs 2
      harness eval --model runs/gpt --tasks all --executor ray --ray-address auto --db postgresql://team@dbhost/harness
      harness eval --model runs/gpt --tasks all --executor slurm --slurm-partition gpu --gpus-per-job 1
      torchrun --nproc_per_node 4 -m harness eval --model runs/gpt --tasks shakespeare-lm
      harness eval --model hf:path/to/llama --tasks wordnet-gloss,shakespeare-lm --mode zeroshot
      harness eval --model hf:path/to/qwen --tasks wordnet-gloss --num-fewshot 5 --dtype bfloat16
    """
    from harness.evaluator import evaluate
    from harness.sweep import expand_models
    from leaderboards.views import render
    from tasks.modelref import resolve_models

    executor = executor_from_cli(out, **engine)
    refs = resolve_models(expand_models(list(models), checkpoints))  # each model resolved once
    results = evaluate(refs, tasks, mode=mode, seeds=_seeds(seeds), limit=limit, out=out,
                       db=db, baselines=not no_baselines, batch_size=batch_size,
                       n_bootstrap=n_bootstrap, rescore=rescore, include=include,
                       precision=precision, overrides=_overrides(ft_sets),
                       num_fewshot=num_fewshot, chat_template=chat_template, executor=executor,
                       device=device, dtype=dtype)
    if not getattr(executor, "is_main", True):
        return  # torchrun: rank 0 prints the leaderboard
    db_url = db or f"{out}/harness.sqlite"
    for task in sorted({r.task for r in results}):
        click.echo(render(db_url, task=task, signatures=signatures).rstrip() + "\n")
    click.echo(f"{len(results)} results in {out}/; leaderboard store {db_url}")
