"""``harness tasks list|show|validate``: the task registry, built-ins and plugins alike."""

from __future__ import annotations

import json

import click


@click.group()
def tasks() -> None:
    """List, show and validate downstream tasks.

    \b
    Examples:
      harness tasks list
      harness tasks list --family translation --json
      harness tasks show bbc-news
      harness tasks validate my_task.yaml
    """


@tasks.command("list")
@click.option("--family", default=None, help="Only tasks of this family.")
@click.option("--include", "includes", multiple=True, type=click.Path(exists=True),
              help="Also register the YAML tasks in this folder (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows instead of a table.")
@click.option("--lmeval", is_flag=True,
              help="List lm-evaluation-harness tasks, groups and tags (lmeval:NAME) instead.")
def list_cmd(family: str | None, includes: tuple[str, ...], as_json: bool, lmeval: bool) -> None:
    """Every registered task: family, source, split sizes, metrics, availability here.

    Answered without building anything: split sizes are shown for tasks
    already built here (by `tasks show`, `eval` or `data build task:NAME`),
    "not built" otherwise. With --lmeval, the lm-eval names are read from
    their YAML files (no task is built).

    \b
    Examples:
      harness tasks list
      harness tasks list --include my_tasks/ --family qa
      harness tasks list --lmeval --include my_lmeval_yamls/
    """
    if lmeval:
        _list_lmeval(includes, as_json)
        return
    from tasks.summary import task_rows

    rows = task_rows(family=family, includes=includes)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    head = ("name", "family", "train", "valid", "test", "metrics", "here")
    table = [head] + [(r["name"], r["family"], *_sizes(r), ",".join(r["metrics"]),
                       "yes" if r["available"] else f"no: {r['reason']}") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head) - 1)]
    for row in table:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) + "  " + str(row[-1]))


def _list_lmeval(includes: tuple[str, ...], as_json: bool) -> None:
    from tasks.summary import lmeval_rows

    rows = lmeval_rows(includes)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    here = {True: "yes", None: "unknown"}
    lines = [f"{r['name']}  {r['kind']}  {r['output_type'] or '-'}  "
             + (here[r["available"]] if r["available"] in here else f"no: {r['reason']}")
             for r in rows]
    click.echo("\n".join(lines))
    n_ok = sum(r["available"] is True for r in rows)
    click.echo(f"{len(rows)} lm-eval names, {n_ok} available here", err=True)


def _sizes(row: dict) -> tuple[str, str, str]:
    s = row.get("sizes")
    if s is None:
        return ("not built", "", "") if row["available"] else ("-", "-", "-")
    return tuple(str(s.get(k, "-")) for k in ("train", "validation", "test"))  # type: ignore[return-value]


@tasks.command("show")
@click.argument("name")
@click.option("--examples", "n_examples", default=2, show_default=True, type=click.IntRange(min=0),
              help="How many test examples to print.")
def show(name: str, n_examples: int) -> None:
    """One task in full: config, sizes, data hash, baselines and a few examples.

    \b
    Examples:
      harness tasks show ding-en-de
      harness tasks show faq-qa --examples 5
      harness tasks show lmeval:hellaswag
    """
    from tasks.summary import show_task

    click.echo(json.dumps(show_task(name, n_examples), indent=2, ensure_ascii=False))


@tasks.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check YAML task files; every problem of each file is listed at once.

    \b
    Examples:
      harness tasks validate my_task.yaml
      harness tasks validate tasks/*.yaml
    """
    from harness.metrics import list_metrics, metric_spec_problem
    from harnesskit.errors import HarnessError
    from tasks.yaml_task import validate_yaml

    known = set(list_metrics())
    failed = 0
    for path in paths:
        problems = validate_yaml(path, known, metric_spec_problem)
        if problems:
            failed += 1
            click.echo(f"{path}: {len(problems)} problem(s)")
            for p in problems:
                click.echo(f"  - {p}")
        else:
            click.echo(f"{path}: ok")
    if failed:
        raise HarnessError(f"{failed} of {len(paths)} task file(s) invalid",
                           hint="fix the problems listed above")
