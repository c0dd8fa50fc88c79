"""``leaderboard compare A B``: the paired bootstrap of two models on the examples they share.

Models are named by id, id prefix or content-hash prefix; a name that several
different models answer to (two runs both called ``gpt-tiny``) is refused with
the list of candidates. For every task both were scored on, with the same test
examples (same ``limit``), the examples are paired by id. Each metric's score
is recomputed on every resample exactly as the metric computes it: from the
per-example sufficient statistics saved in ``predictions.jsonl`` and the
metric's recipe recorded in the result (BLEU from summed n-gram counts, macro
F1 from the resampled labels, bits per byte from pooled log-likelihoods), never
as a mean of per-example values under the metric's name. With several seeds a
model's score is the mean over its seeds of the corpus score, as on the
leaderboard. The test is :func:`harnesskit.resample.paired_bootstrap`
(sacrebleu's ``--paired-bs``). A corpus-level metric without a recipe
(distinct-n, lm-eval's own aggregations) is listed as not compared.

Where the per-example scores are right/wrong outcomes (accuracy, exact match),
McNemar's exact test on the discordant pairs is reported beside the bootstrap
and is the test the verdict uses. When several tasks and metrics are compared
at once, the p-values are Holm-adjusted over all of them (the verdict reads the
adjusted one), and each comparison of a mean-type metric says the minimum
difference its number of paired examples could detect (5% level, 80% power).
Checkpoints of one run can be named ``run@step-0000400`` (or ``run@400``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harnesskit.errors import HarnessError
from harnesskit.fsutil import read_jsonl
from harnesskit.resample import paired_bootstrap, score_from_stats
from leaderboards.board import setting_label
from leaderboards.stats import binary_outcomes, holm, mcnemar_exact, min_detectable_difference

MEAN = {"kind": "mean"}  # per-example scores as [score, 1] rows: their mean


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two models on one task and metric (NaNs: not compared)."""

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
    setting: str = ""
    mcnemar: dict[str, Any] | None = None   # {a_only, b_only, p_value} for right/wrong outcomes
    p_holm: float | None = None             # the test's p-value, Holm-adjusted over the call
    mdd: float | None = None                # minimum detectable difference (5% level, 80% power)
    lower: bool = False                     # lower is better (from the result)

    @property
    def p_test(self) -> float:
        """The p-value of the comparison's test: McNemar's where it applies, else the bootstrap's."""
        return self.mcnemar["p_value"] if self.mcnemar else self.p_value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict(a: str, b: str, metric: str, delta: float, ci: tuple[float, float] | None,
            p: float, lower: bool, alpha: float = 0.05, *, tests: int = 1,
            mcnemar: bool = False) -> str:
    """A plain-words reading of one comparison (``p`` Holm-adjusted over ``tests`` when > 1)."""
    name = "McNemar p" if mcnemar else "p"
    if tests > 1:
        name += f" (Holm, {tests} comparisons)"
    bad_ci = ci is None or not all(map(math.isfinite, ci)) or ci[0] <= 0 <= ci[1]
    if not (p < alpha and (mcnemar or not bad_ci)):
        return (f"no significant difference on {metric}: {a} - {b} = {delta:+.3g}, "
                f"{name}={p:.3g}; more examples or seeds are needed to tell them apart")
    a_better = (delta < 0) if lower else (delta > 0)
    winner, loser = (a, b) if a_better else (b, a)
    interval = "" if ci is None else f"95% CI [{ci[0]:+.3g}, {ci[1]:+.3g}], "
    return (f"{winner} is better than {loser} on {metric} "
            f"({'lower' if lower else 'higher'} is better): {a} - {b} = {delta:+.3g}, "
            f"{interval}{name}={p:.3g}")


def resolve(docs: list[dict[str, Any]], name: str) -> str:
    """The content hash of the one model ``name`` means; ambiguous or unknown names refused."""
    def models(pred: Callable[[dict[str, Any]], bool]) -> dict[str, dict[str, Any]]:
        return {d["model"]["content_hash"]: d["model"] for d in docs if pred(d["model"])}

    found = (models(lambda m: m["id"] == name)
             or {d["model"]["content_hash"]: d["model"] for d in _match_checkpoint(docs, name)}
             or models(lambda m: m["content_hash"].startswith(name))
             or models(lambda m: m["id"].startswith(name)))
    if not found:
        known = sorted({d["model"]["id"] for d in docs})
        raise HarnessError(f"no scored results for model {name!r}",
                           hint=f"known models: {', '.join(known) or 'none'}")
    if len(found) > 1:
        listed = "; ".join(f"{m['id']} [{h[:8]}] {m.get('path') or m.get('spec') or ''}".strip()
                           for h, m in sorted(found.items()))
        raise HarnessError(f"{name!r} names {len(found)} different models: {listed}",
                           hint="name one by its content hash (the [xxxxxxxx] prefix)")
    return next(iter(found))


def _match_checkpoint(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """``run@step-0000400`` or ``run@400``: the checkpoint of that step of the run so named."""
    run, _, step = name.rpartition("@")
    digits = step.removeprefix("step-")
    if not run or not digits.isdigit():
        return []
    out = []
    for d in docs:
        info = d["model"].get("info") or {}
        where = str(info.get("run") or info.get("checkpoint") or d["model"].get("path") or "")
        names = {Path(where).name, Path(where).parent.parent.name, d["model"].get("name", "")}
        if info.get("step") == int(digits) and (run in names or d["model"]["id"].startswith(run)):
            out.append(d)
    return out


def compare(results: list[dict[str, Any]], a: str, b: str, *, task: str | None = None,
            setting: str | None = None, n_boot: int = 10000, seed: int = 0) -> list[Comparison]:
    """Paired comparisons of models ``a`` and ``b`` over every task and metric they share."""
    docs = [d for d in results if d.get("status") == "ok"
            and (task is None or d["task"]["name"] == task)]
    ha, hb = resolve(docs, a), resolve(docs, b)
    out = []
    for t in sorted({d["task"]["name"] for d in docs}):
        ga = _systems([d for d in docs if d["task"]["name"] == t
                       and d["model"]["content_hash"] == ha], setting)
        gb = _systems([d for d in docs if d["task"]["name"] == t
                       and d["model"]["content_hash"] == hb], setting)
        pair = _pair(t, ga, gb, a, b)
        if pair is not None:
            out.extend(_compare_task(t, *pair, a, b, n_boot, seed))
    if not out:
        raise HarnessError(f"{a} and {b} share no task scored on the same test examples",
                           hint="evaluate both on the same task and --limit (harness eval ...)")
    tested = [c for c in out if not math.isnan(c.delta)]
    adjusted = dict(zip(map(id, tested), holm([c.p_test for c in tested]))) if tested else {}
    return [c if id(c) not in adjusted else
            replace(c, p_holm=adjusted[id(c)],
                    verdict=verdict(a, b, c.metric, c.delta, c.ci, adjusted[id(c)], c.lower,
                                    tests=len(tested), mcnemar=c.mcnemar is not None))
            for c in out]


def _systems(docs: list[dict[str, Any]], setting: str | None) -> dict[tuple, list[dict]]:
    """A model's result groups on one task: (mode, setting label, limit, task version, data
    hash) -> seed documents; the last three say which test examples were scored."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for d in docs:
        label = setting_label(d.get("setting") or {})
        task = d.get("task") or {}
        if setting is None or label == setting:
            groups[(d.get("mode"), label, (d.get("config") or {}).get("limit"),
                    str(task.get("version")), task.get("data_hash"))].append(d)
    return groups


def _pair(task: str, ga: dict[tuple, list], gb: dict[tuple, list], a: str,
          b: str) -> tuple[list[dict], list[dict]] | None:
    """The one pair of result groups scored on the same test examples (same limit, task
    version and data)."""
    pairs = [(ka, kb) for ka in ga for kb in gb if ka[2:] == kb[2:]]
    if len(pairs) > 1:  # prefer identical settings (a model against itself re-run, say)
        pairs = [(ka, kb) for ka, kb in pairs if ka[:2] == kb[:2]] or pairs
    if not pairs:
        return None
    if len(pairs) > 1:
        show = "; ".join(f"{a}: {ka[0]} {ka[1] or 'default'} / {b}: {kb[0]} {kb[1] or 'default'}"
                         for ka, kb in pairs)
        raise HarnessError(f"on {task}, {a} and {b} have several comparable settings ({show})",
                           hint="choose one with --setting \"LABEL\" (as the leaderboard shows it)")
    ka, kb = pairs[0]
    return ga[ka], gb[kb]


def _examples(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """example id -> {scores, stats} from the predictions file beside a result."""
    path, pred = doc.get("_path"), doc.get("predictions")
    if not path or not pred or not (Path(path).parent / pred).exists():
        return {}
    return {str(row["id"]): {"scores": row.get("scores") or {}, "stats": row.get("stats") or {}}
            for row in read_jsonl(Path(path).parent / pred, missing_hint="run `harness eval` first",
                                  broken_hint="delete the file and re-run the evaluation")}


def _seeds(da: list[dict], db: list[dict]) -> tuple[list[dict], list[dict]]:
    """The seeds to use: the shared ones; a single-seed side (baseline, zero-shot) pairs
    with every seed of the other."""
    sa = {d.get("seed", 0): d for d in da}
    sb = {d.get("seed", 0): d for d in db}
    shared = sorted(set(sa) & set(sb))
    if len(sa) == 1 or len(sb) == 1 or not shared:
        return list(sa.values()), list(sb.values())
    return [sa[s] for s in shared], [sb[s] for s in shared]


def _compare_task(task: str, da: list[dict], db: list[dict], a: str, b: str, n_boot: int,
                  seed: int) -> list[Comparison]:
    matched = _matched_seeds(da, db)
    da, db = _seeds(da, db)
    ea, eb = [_examples(d) for d in da], [_examples(d) for d in db]
    by_doc = {id(d): e for d, e in zip(da + db, ea + eb)}
    pairs = [(by_doc[id(x)], by_doc[id(y)]) for x, y in matched if id(x) in by_doc
             and id(y) in by_doc]
    ids = sorted(set.intersection(*(set(e) for e in ea + eb)))
    order = da[-1].get("metric_order") or sorted(da[-1].get("metrics", {}))
    shared = [m for m in order if all(m in d.get("metrics", {}) for d in da + db)]
    label = setting_label(da[-1].get("setting") or {})
    out = []
    for metric in shared:
        info = da[-1]["metrics"][metric]
        lower = info.get("direction") == "lower"
        fa, fb, why = _score_fns(metric, info, ea, eb, ids)
        if why:
            nan = float("nan")
            out.append(Comparison(task, metric, a, b, len(ids), nan, nan, nan, (nan, nan), nan,
                                  f"not compared on {metric}: {why}", label))
            continue
        res = paired_bootstrap(fa, fb, len(ids), n=n_boot, seed=seed,
                               identical=_same(metric, ea, eb, ids))
        ci = res["ci"]
        mc, mdd = _outcome_tests(metric, info, pairs, ids)
        out.append(Comparison(task, metric, a, b, len(ids), res["mean_a"], res["mean_b"],
                              res["delta"], ci or (math.nan, math.nan), res["p_value"],
                              verdict(a, b, metric, res["delta"], ci, res["p_value"], lower),
                              label, mcnemar=mc, mdd=mdd, lower=lower))
    return out


def _matched_seeds(da: list[dict], db: list[dict]) -> list[tuple[dict, dict]]:
    """Documents paired by seed (the shared seeds; else the first of each: a baseline)."""
    sa = {d.get("seed", 0): d for d in da}
    sb = {d.get("seed", 0): d for d in db}
    shared = sorted(set(sa) & set(sb))
    return [(sa[s], sb[s]) for s in shared] or [(da[0], db[0])]


def _outcome_tests(metric: str, info: dict[str, Any], pairs: list[tuple[dict, dict]],
                   ids: list[str]) -> tuple[dict[str, Any] | None, float | None]:
    """McNemar's exact test for right/wrong per-example outcomes and the minimum detectable
    difference, for metrics whose score is the mean of the per-example scores (examples
    paired by seed and id)."""
    if info.get("level") != "example" or not pairs:
        return None, None
    try:
        xa = [float(ea[i]["scores"][metric]) for ea, _ in pairs for i in ids]
        xb = [float(eb[i]["scores"][metric]) for _, eb in pairs for i in ids]
    except (KeyError, TypeError):
        return None, None
    mdd = min_detectable_difference([x - y for x, y in zip(xa, xb)])
    if not binary_outcomes(xa + xb):
        return None, mdd
    mc = mcnemar_exact(xa, xb)
    return {"a_only": mc.a_only, "b_only": mc.b_only, "p_value": mc.p_value}, mdd


def _score_fns(metric: str, info: dict[str, Any], ea: list[dict], eb: list[dict],
               ids: list[str]) -> tuple[Callable | None, Callable | None, str]:
    """Each side's score on a set of example indices (mean over its seeds), or why not."""
    if not ids:
        return None, None, "no example ids in common"
    recipe = info.get("recipe")
    if recipe is None and info.get("level") == "example":
        recipe = MEAN
    if recipe is None:
        return None, None, ("a corpus-level statistic without stored sufficient statistics "
                            "(see its CI on the leaderboard)")
    try:
        ra = [_rows(e, metric, ids, recipe is MEAN) for e in ea]
        rb = [_rows(e, metric, ids, recipe is MEAN) for e in eb]
    except KeyError:
        return None, None, "per-example statistics missing (re-score with harness eval --rescore)"

    def side(rows: list[np.ndarray]) -> Callable[[np.ndarray], float]:
        return lambda idx: float(np.mean([score_from_stats(recipe, r[idx]) for r in rows]))
    return side(ra), side(rb), ""


def _rows(examples: dict[str, dict], metric: str, ids: list[str], from_scores: bool) -> np.ndarray:
    if from_scores:
        vals = [examples[i]["scores"][metric] for i in ids]
        if any(v is None for v in vals):
            raise KeyError(metric)
        return np.array([[float(v), 1.0] for v in vals])
    return np.array([examples[i]["stats"][metric] for i in ids], dtype=np.float64)


def _same(metric: str, ea: list[dict], eb: list[dict], ids: list[str]) -> bool:
    """Whether both systems' per-example rows are identical (a model against itself)."""
    def rows(es: list[dict]) -> list:
        return [[(e[i]["stats"].get(metric), e[i]["scores"].get(metric)) for i in ids] for e in es]
    return rows(ea) == rows(eb)


def render(comparisons: list[Comparison]) -> str:
    """A plain-text report: one block per task and metric."""
    lines = []
    for c in comparisons:
        where = f" ({c.setting})" if c.setting else ""
        if math.isnan(c.delta):
            lines.append(f"{c.task}{where} / {c.metric}: {c.verdict}")
            continue
        lines.append(f"{c.task}{where} / {c.metric}: {c.a} {c.mean_a:.4g} vs {c.b} "
                     f"{c.mean_b:.4g} over {c.n} paired examples")
        lines.append(f"  delta {c.delta:+.4g}  95% CI [{c.ci[0]:+.4g}, {c.ci[1]:+.4g}]  "
                     f"bootstrap p={c.p_value:.3g}")
        if c.mcnemar:
            lines.append(f"  McNemar exact: only {c.a} right {c.mcnemar['a_only']}, only {c.b} "
                         f"right {c.mcnemar['b_only']}, p={c.mcnemar['p_value']:.3g}")
        extra = f"Holm-adjusted p={c.p_holm:.3g}  " if c.p_holm is not None and len(
            comparisons) > 1 else ""
        if c.mdd is not None and math.isfinite(c.mdd):
            extra += f"detectable difference at n={c.n}: {c.mdd:.3g}"
        if extra:
            lines.append(f"  {extra.strip()}")
        lines.append(f"  {c.verdict}")
    return "\n".join(lines) + "\n"
