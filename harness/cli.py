"""The ``harness`` command line: a thin table of lazily imported click commands.

Each subcommand lives in ``harness/commands/<name>.py`` and is imported only
when it runs (or when ``--help`` of that subcommand is asked for), so that
``harness --help`` starts without importing torch. User errors
(:class:`harnesskit.errors.HarnessError`) are caught once, in :func:`main`: one
line on stderr and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from harnesskit.errors import HarnessError

# Spinning OpenMP threads starve everything else on a shared CPU (2-30x slower steps were
# measured on 2 busy cores); passive waits cost little. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# OS errors that are the user's to fix, with the fix.
USER_ERRNOS = {
    errno.ENOSPC: "free some disk space (or write elsewhere) and run the command again",
    errno.EDQUOT: "free some space under your quota and run the command again",
    errno.EROFS: "write to a writable place (the file system is read-only)",
    errno.EACCES: "check the permissions of the path, or write elsewhere",
    errno.EPERM: "check the permissions of the path, or write elsewhere",
}

# name -> (module, attribute, one-line help shown in `harness --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "data": ("harness.commands.data", "data", "Build, list and report on corpora and task datasets."),
    "pretrain": ("harness.commands.pretrain", "pretrain", "Pretrain a GPT or BERT from scratch."),
    "export": ("harness.commands.export", "export", "Export a checkpoint to a transformers directory."),
    "config": ("harness.commands.config", "config", "Show a preset's resolved configuration."),
    "tasks": ("harness.commands.tasks", "tasks", "List, show and validate downstream tasks."),
    "finetune": ("harness.commands.finetune", "finetune", "Fine-tune one checkpoint on one task."),
    "eval": ("harness.commands.eval", "eval_cmd", "Fine-tune or prompt models on tasks and score them."),
    "watch": ("harness.commands.watch", "watch", "Evaluate each new checkpoint of a run as it trains."),
    "score": ("harness.commands.score", "score", "Score plain-text hypothesis files against references."),
    "leaderboard": ("harness.commands.leaderboard", "leaderboard", "Show and compare leaderboards."),
    "quickstart": ("harness.commands.quickstart", "quickstart", "Build data, pretrain, evaluate, rank."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _, _) in COMMANDS.items() if _module_exists(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return with_global_flags(getattr(importlib.import_module(module), attr))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        name = args[0] if args else None
        if name and name not in self.list_commands(ctx) and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2)
            hint = f"did you mean {' or '.join(close)}?" if close else "see harness --help"
            raise HarnessError(f"unknown command {name!r}", hint=hint)
        return super().resolve_command(ctx, args)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ["HARNESS_QUIET"] = "1"


def with_global_flags(cmd: click.Command) -> click.Command:
    """Accept ``--quiet`` and ``--debug`` after any (sub)command too, not only before it:
    ``harness score ... --quiet`` works like ``harness --quiet score ...``. (``--debug`` is
    read from the raw arguments by :func:`main`.)"""
    names = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    if "--quiet" not in names:
        cmd.params.append(click.Option(["--quiet"], is_flag=True, expose_value=False,
                                       is_eager=True, callback=_set_quiet,
                                       help="No progress bars or chatter, only results."))
    if "--debug" not in names:
        cmd.params.append(click.Option(["--debug"], is_flag=True, expose_value=False,
                                       help="Show full tracebacks for errors."))
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            with_global_flags(sub)
    return cmd


def _module_exists(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pretrain-harness")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="harness")
@click.option("--quiet", is_flag=True, help="No progress bars or chatter, only results.")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """Harness: pretrain small language models, evaluate them downstream, rank them.

    \b
    Examples:
      harness data build shakespeare --out data/shakespeare
      harness pretrain --preset tiny --arch gpt --corpus data/shakespeare --out runs/gpt
      harness eval --model runs/gpt --tasks all --out results
      harness leaderboard show --db results/harness.sqlite
      harness score --metric bleu --hyp hyp.txt --ref ref.txt
    """
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["debug"] = debug
    if quiet:
        os.environ["HARNESS_QUIET"] = "1"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``harness`` console script (and ``python -m harness``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if not {"--help", "-h", "--version"} & set(args) and args:
        from harnesskit.hub import go_offline_if_unreachable

        go_offline_if_unreachable()
    try:
        cli.main(args=args, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        if debug:
            raise
        click.echo(f"harness: error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("harness: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # click's own usage errors: keep them to one line plus exit 2.
        msg = " ".join(exc.format_message().split())
        click.echo(f"harness: error: {msg}; see harness --help", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("harness: interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        # The machine said no (disk full, read-only place, permission): a user-facing
        # condition, not a bug. Writers are atomic, so nothing half-written remains.
        if debug or exc.errno not in USER_ERRNOS:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        click.echo(f"harness: error: {exc.strerror or exc}{where}; {USER_ERRNOS[exc.errno]}",
                   err=True)
        sys.exit(2)
