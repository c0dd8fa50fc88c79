"""``harness config show``: a preset's resolved configuration with ``--set`` applied."""

from __future__ import annotations

import json

import click


@click.group()
def config() -> None:
    """Inspect run configurations."""


@config.command("show")
@click.option("--preset", default="tiny", show_default=True, help="tiny, small or base.")
@click.option("--arch", default="gpt", show_default=True,
              help="Architecture: gpt, llama, bert or a plugin's.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set model.n_layer=6 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show(preset: str, arch: str, sets: tuple[str, ...], as_json: bool) -> None:
    """Print every config key with its value and meaning, then what is installed.

    The installed part lists every architecture, objective, optimizer, schedule,
    corpus source and cleaning step, built-in or from a plugin (entry-point groups
    harness.architectures, harness.objectives, harness.optimizers,
    harness.schedules, harness.sources, harness.cleaning_steps).

    \b
    Examples:
      harness config show --preset small --arch bert
      harness config show --preset tiny --arch llama --set optim.name=rmsprop
      harness config show --preset tiny --set train.lr=3e-3 --json
    """
    from harnesskit.config import apply_overrides, describe, to_dict
    from pretrain.engine.plugins import installed
    from pretrain.engine.presets import check_names
    from pretrain.engine.presets import preset as make_preset

    cfg = apply_overrides(make_preset(preset, arch), sets)
    check_names(cfg)
    tables = installed()
    if as_json:
        click.echo(json.dumps({**to_dict(cfg), "installed": {
            k: [{"name": n, "origin": o} for n, o in rows] for k, rows in tables.items()}},
            indent=2))
        return
    rows = describe(cfg)
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(str(v)) for _, v, _ in rows)
    for key, value, help_text in rows:
        click.echo(f"{key:<{width}}  {str(value):<{vwidth}}  {help_text}")
    click.echo("\ninstalled (built-in, or the plugin's entry point):")
    for kind, found in tables.items():
        names = ", ".join(n if o.startswith(("pretrain.", "harness")) else f"{n} [{o}]"
                          for n, o in found)
        click.echo(f"  {kind + ':':<16}{names}")
