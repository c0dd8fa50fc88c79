"""``leaderboard compare A B``: paired bootstrap on the per-example scores two models share.

For every task both models were scored on, and every metric with per-example
scores, the examples are paired by (seed, example id) over the seeds both have.
The mean difference is resampled (paired, seeded) to give a 95% percentile
interval, and the two-sided p-value of "no difference" comes from the
bootstrap distribution shifted to the null (Koehn 2004; Berg-Kirkpatrick et al.
2012). Corpus-level metrics (BLEU, chrF, TER) are compared through their
sentence-level scores, which the verdict says.

Where the per-example scores are right/wrong outcomes (accuracy, exact match),
McNemar's exact test on the discordant pairs is reported beside the bootstrap
and is the test the verdict uses. When several tasks and metrics are compared
at once, the p-values are Holm-adjusted over all of them (the verdict reads the
adjusted one), and each comparison says the minimum difference its number of
paired examples could detect (5% level, 80% power). Checkpoints of one run can
be named ``run@step-0000400`` (or ``run@400``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harnesskit.errors import HarnessError
from harnesskit.fsutil import read_jsonl
from leaderboards.board import LOWER_IS_BETTER
from leaderboards.stats import binary_outcomes, holm, mcnemar_exact, min_detectable_difference

# Corpus-level metrics: compared here through the mean of their per-example scores.
CORPUS_LEVEL = frozenset({"bleu", "chrf", "ter", "distinct_1", "distinct_2", "macro_f1",
                          "micro_f1", "perplexity", "bits_per_byte", "cross_entropy",
                          "token_accuracy"})


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two models on one task and metric."""

    task: str
    metric: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    ci: tuple[float, float]
    p_value: float
    verdict: str
    mcnemar: dict[str, Any] | None = None   # {a_only, b_only, p_value} for right/wrong outcomes
    p_holm: float | None = None             # the test's p-value, Holm-adjusted over the call
    mdd: float | None = None                # minimum detectable difference (5% level, 80% power)

    @property
    def p_test(self) -> float:
        """The p-value of the comparison's test: McNemar's where it applies, else the bootstrap's."""
        return self.mcnemar["p_value"] if self.mcnemar else self.p_value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, n_boot: int = 10000,
                     seed: int = 0) -> tuple[float, tuple[float, float], float]:
    """(mean(a - b), 95% percentile CI, two-sided p-value) by paired bootstrap."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0:
        raise HarnessError("no paired examples to compare", hint="evaluate both models on a task")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    means = d[idx].mean(axis=1)
    delta = float(d.mean())
    lo, hi = np.percentile(means, [2.5, 97.5])
    # Shift the bootstrap distribution to the null (mean 0) and count as-extreme deltas.
    extreme = np.abs(means - delta) >= abs(delta) - 1e-12
    p = float((extreme.sum() + 1) / (n_boot + 1))
    return delta, (float(lo), float(hi)), min(p, 1.0)


def verdict(a: str, b: str, metric: str, delta: float, ci: tuple[float, float],
            p: float, alpha: float = 0.05, *, tests: int = 1, mcnemar: bool = False) -> str:
    """A plain-words reading of one comparison (``p`` Holm-adjusted over ``tests`` when > 1)."""
    level = " (mean of per-example scores)" if metric in CORPUS_LEVEL else ""
    name = "McNemar p" if mcnemar else "p"
    if tests > 1:
        name += f" (Holm, {tests} comparisons)"
    significant = p < alpha and (mcnemar or not ci[0] <= 0 <= ci[1])
    if not significant:
        return (f"no significant difference on {metric}{level}: {a} - {b} = {delta:+.3g}, "
                f"{name}={p:.3g}; more examples or seeds are needed to tell them apart")
    lower = metric in LOWER_IS_BETTER
    a_better = (delta < 0) if lower else (delta > 0)
    winner, loser = (a, b) if a_better else (b, a)
    return (f"{winner} is better than {loser} on {metric}{level} "
            f"({'lower' if lower else 'higher'} is better): {a} - {b} = {delta:+.3g}, "
            f"95% CI [{ci[0]:+.3g}, {ci[1]:+.3g}], {name}={p:.3g}")


def _match(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The result documents of the model named by id, ``run@step``, id or content-hash prefix."""
    exact = [d for d in docs if d["model"]["id"] == name]
    if exact:
        return exact
    if "@" in name:
        return _match_checkpoint(docs, name)
    return [d for d in docs if d["model"]["content_hash"].startswith(name)
            or d["model"]["id"].startswith(name)]


def _match_checkpoint(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """``run@step-0000400`` or ``run@400``: the checkpoint of that step of the run so named."""
    run, _, step = name.rpartition("@")
    digits = step.removeprefix("step-")
    if not digits.isdigit():
        return []
    out = []
    for d in docs:
        info = d["model"].get("info") or {}
        where = str(info.get("run") or info.get("checkpoint") or d["model"].get("path") or "")
        names = {Path(where).name, Path(where).parent.parent.name, d["model"].get("name", "")}
        if info.get("step") == int(digits) and (run in names or d["model"]["id"].startswith(run)):
            out.append(d)
    return out


def _scores(doc: dict[str, Any]) -> dict[str, dict[str, float]]:
    """metric -> {example id: per-example score} from the predictions file beside a result."""
    path = doc.get("_path")
    pred = doc.get("predictions")
    if not path or not pred:
        return {}
    file = Path(path).parent / pred
    if not file.exists():
        return {}
    out: dict[str, dict[str, float]] = {}
    for row in read_jsonl(file, missing_hint="run `harness eval` first",
                          broken_hint="delete the file and re-run the evaluation"):
        for metric, value in (row.get("scores") or {}).items():
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                out.setdefault(metric, {})[str(row["id"])] = float(value)
    return out


def compare(results: list[dict[str, Any]], a: str, b: str, *, task: str | None = None,
            n_boot: int = 10000, seed: int = 0) -> list[Comparison]:
    """Paired comparisons of models ``a`` and ``b`` over every task and metric they share."""
    docs = [d for d in results if d.get("status") == "ok"
            and (task is None or d["task"]["name"] == task)]
    da, db = _match(docs, a), _match(docs, b)
    for name, found in ((a, da), (b, db)):
        if not found:
            known = sorted({d["model"]["id"] for d in docs})
            raise HarnessError(f"no scored results for model {name!r}"
                               + (f" on task {task!r}" if task else ""),
                               hint=f"known models: {', '.join(known) or 'none'}")
    out = []
    for t in sorted({d["task"]["name"] for d in da} & {d["task"]["name"] for d in db}):
        out.extend(_compare_task(t, [d for d in da if d["task"]["name"] == t],
                                 [d for d in db if d["task"]["name"] == t], a, b, n_boot, seed))
    if not out:
        raise HarnessError(f"{a} and {b} share no task with per-example scores",
                           hint="evaluate both on the same task (harness eval --tasks ...)")
    adjusted = holm([c.p_test for c in out])
    return [replace(c, p_holm=p, verdict=verdict(a, b, c.metric, c.delta, c.ci, p,
                                                 tests=len(out), mcnemar=c.mcnemar is not None))
            for c, p in zip(out, adjusted)]


def _compare_task(task: str, da: list[dict[str, Any]], db: list[dict[str, Any]], a: str, b: str,
                  n_boot: int, seed: int) -> list[Comparison]:
    """Pair by (seed, example id) over the seeds both models have."""
    sa = {d.get("seed", 0): _scores(d) for d in da}
    sb = {d.get("seed", 0): _scores(d) for d in db}
    seeds = sorted(set(sa) & set(sb))
    if not seeds:  # baselines are seed-free: pair each seed of one with seed 0 of the other
        sa, sb = {0: next(iter(sa.values()))}, {0: next(iter(sb.values()))}
        seeds = [0]
    order = da[-1].get("metric_order") or []
    metrics = set().union(*(s.keys() for s in sa.values())) & set().union(
        *(s.keys() for s in sb.values()))
    out = []
    for metric in sorted(metrics, key=lambda m: (order.index(m) if m in order else 99, m)):
        xa, xb = [], []
        for s in seeds:
            ea, eb = sa[s].get(metric, {}), sb[s].get(metric, {})
            for ex in sorted(set(ea) & set(eb)):
                xa.append(ea[ex])
                xb.append(eb[ex])
        if not xa:
            continue
        delta, ci, p = paired_bootstrap(np.array(xa), np.array(xb), n_boot=n_boot, seed=seed)
        mc = mcnemar_exact(xa, xb) if binary_outcomes(xa + xb) else None
        out.append(Comparison(task=task, metric=metric, a=a, b=b, n=len(xa),
                              mean_a=float(np.mean(xa)), mean_b=float(np.mean(xb)), delta=delta,
                              ci=ci, p_value=p, verdict="",
                              mcnemar=None if mc is None else {"a_only": mc.a_only,
                                                               "b_only": mc.b_only,
                                                               "p_value": mc.p_value},
                              mdd=min_detectable_difference([x - y for x, y in zip(xa, xb)])))
    return out


def render(comparisons: list[Comparison]) -> str:
    """A plain-text report: one block per task and metric."""
    lines = []
    for c in comparisons:
        lines.append(f"{c.task} / {c.metric}: {c.a} {c.mean_a:.4g} vs {c.b} {c.mean_b:.4g} "
                     f"over {c.n} paired examples")
        lines.append(f"  delta {c.delta:+.4g}  95% CI [{c.ci[0]:+.4g}, {c.ci[1]:+.4g}]  "
                     f"bootstrap p={c.p_value:.3g}")
        if c.mcnemar:
            lines.append(f"  McNemar exact: only {c.a} right {c.mcnemar['a_only']}, only {c.b} "
                         f"right {c.mcnemar['b_only']}, p={c.mcnemar['p_value']:.3g}")
        extra = f"Holm-adjusted p={c.p_holm:.3g}  " if len(comparisons) > 1 else ""
        if c.mdd is not None and math.isfinite(c.mdd):
            extra += f"detectable difference at n={c.n}: {c.mdd:.3g}"
        if extra:
            lines.append(f"  {extra.strip()}")
        lines.append(f"  {c.verdict}")
    return "\n".join(lines) + "\n"
