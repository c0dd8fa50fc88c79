"""lm-evaluation-harness tasks as ``lmeval:NAME`` tasks (optional extra ``lmeval``).

Their task YAMLs run unchanged through their own task machinery (task manager,
configurable task, filters, metrics, group aggregation), which never touches a
model; their requests are answered by our models through :mod:`tasks.lmeval.adapter`.
Everything else is ours: the results cache, per-example predictions, bootstrap
CIs, paired comparisons and leaderboards.

Modules: :mod:`~tasks.lmeval.index` (their task names, read from the YAML files
without importing lm-eval: fast enough for ``tasks list --lmeval``),
:mod:`~tasks.lmeval.task` (an ``lmeval:`` name as one of our tasks),
:mod:`~tasks.lmeval.run` (requests through their machinery, per-example values),
:mod:`~tasks.lmeval.adapter` (their LM interface on our models). lm-eval itself
is imported only when a task is run, never by ``harness --help`` or the index.
"""

from __future__ import annotations

from harnesskit.errors import HarnessError

PREFIX = "lmeval:"
INSTALL_HINT = "pip install 'pretrain-harness[lmeval]' (or make setup)"


def is_lmeval_name(name: str) -> bool:
    """Whether a task name asks for an lm-evaluation-harness task or group."""
    return name.startswith(PREFIX)


def lmeval_version() -> str | None:
    """The installed lm-eval version, or None when the extra is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lm-eval")
    except PackageNotFoundError:
        return None


def require_lmeval() -> str:
    """The installed lm-eval version; a one-line HarnessError saying how to install it if absent."""
    found = lmeval_version()
    if found is None:
        raise HarnessError("lmeval: tasks need lm-evaluation-harness, which is not installed",
                           hint=f"install the extra: {INSTALL_HINT}")
    return found


def metric_key(metric: str, filter_name: str) -> str:
    """Our name for lm-eval's ``metric,filter`` result key (``acc,none`` -> ``acc``)."""
    return metric if filter_name == "none" else f"{metric},{filter_name}"
