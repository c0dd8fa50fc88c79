"""The metric base class, its score and signature, and the one registry.

A metric is a small class (sacrebleu style): options named as in the reference
library, validated at construction; ``compute`` over the whole corpus returns a
:class:`Score` with a sacrebleu-like :class:`Signature`. Every metric reduces
each example to a row of *sufficient statistics* and computes the corpus score
from a set of rows, so a bootstrap resample recomputes the corpus metric
exactly (BLEU from summed n-gram counts, F1 from the resampled labels) without
re-tokenising anything.

The registry is filled lazily on first lookup: the built-in modules, then the
entry-point group ``harness.metrics`` (``name = "pkg.module:MetricClass"``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, ClassVar

import numpy as np

from harnesskit import resample
from harnesskit.errors import HarnessError
from harnesskit.registry import Registry

ENTRY_POINT_GROUP = "harness.metrics"
# Modules holding the built-in metrics; imported on the first registry lookup.
BUILTIN_MODULES = (
    "harness.metrics.lm",
    "harness.metrics.classification",
    "harness.metrics.choice",
    "harness.metrics.qa",
    "harness.metrics.mt",
    "harness.metrics.rouge",
    "harness.metrics.meteor",
    "harness.metrics.bertscore",
    "harness.metrics.diversity",
)


@dataclass(frozen=True)
class Signature:
    """Every option that changes a metric's number, with library versions.

    Formatted like sacrebleu's: ``name|key:value|key:value|version:x``.
    """

    name: str
    fields: tuple[tuple[str, str], ...] = ()

    def format(self) -> str:
        """The one-line signature string."""
        return "|".join([self.name, *(f"{k}:{v}" for k, v in self.fields)])

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True, kw_only=True)
class Score:
    """A corpus-level score: the number, how it was made, and its 95% CI."""

    name: str
    score: float
    signature: str
    details: dict[str, Any] = field(default_factory=dict)
    ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``harness score`` prints it)."""
        return {
            "name": self.name,
            "score": self.score,
            "ci": list(self.ci) if self.ci is not None else None,
            "signature": self.signature,
            "details": self.details,
        }


@dataclass(frozen=True)
class Evaluation:
    """What a metric's ``_evaluate`` returns: the full score and per-example stats."""

    score: float
    details: dict[str, Any]
    stats: np.ndarray  # (n_examples, k): one row of sufficient statistics per example


class Metric:
    """Base class: subclasses set ``name``, ``defaults`` and implement the hooks.

    Hooks: ``_evaluate(predictions, references) -> Evaluation`` and ``recipe()``:
    how the corpus score is made from a set of stats rows, as data that
    :func:`harnesskit.resample.score_from_stats` applies (so the results
    document can carry it and ``leaderboard compare`` can recompute the corpus
    score on resamples without importing the metrics). A metric whose score
    cannot be written as a recipe (distinct-n) returns None and overrides
    ``_score_from_stats(rows)``. ``per_example`` is the corpus score of each single row.
    """

    name: ClassVar[str] = ""
    # option name -> default value; the names are the reference library's.
    defaults: ClassVar[dict[str, Any]] = {}
    higher_is_better: ClassVar[bool] = True
    # "corpus": the corpus score is made from pooled statistics (BLEU, macro F1, perplexity),
    # so it is not the mean of the per-example scores; "example": it is that mean.
    level: ClassVar[str] = "corpus"
    # True for scores per token of the model's own tokenizer (perplexity): comparable only
    # between models that share a tokenizer.
    per_token: ClassVar[bool] = False
    # How the CI is made: "bootstrap" (percentile, resampling rows with replacement)
    # or "jackknife" (delete-1, normal interval; the metric implements _leave_one_out)
    # for corpus statistics that duplicated rows bias, such as distinct-n.
    ci_method: ClassVar[str] = "bootstrap"
    # False for the language-modelling metrics, whose inputs are dicts.
    text_inputs: ClassVar[bool] = True
    references_required: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        self._check_known(options)
        self.options: dict[str, Any] = {**self.defaults, **options}
        self._check_options()

    # ----- hooks -----------------------------------------------------------
    def _check_options(self) -> None:
        """Validate option values; raise HarnessError naming the option."""

    def _evaluate(self, predictions: list[Any], references: list[list[str]] | None) -> Evaluation:
        raise NotImplementedError

    def recipe(self) -> dict[str, Any] | None:
        """How the corpus score is made from stats rows (see :mod:`harnesskit.resample`)."""
        return None

    def _score_from_stats(self, stats: np.ndarray) -> float:
        recipe = self.recipe()
        if recipe is None:
            raise NotImplementedError(f"{self.name} has no recipe and no _score_from_stats")
        return resample.score_from_stats(recipe, stats)

    @property
    def direction(self) -> str:
        """``higher`` or ``lower``: which way is better."""
        return "higher" if self.higher_is_better else "lower"

    def _leave_one_out(self, stats: np.ndarray) -> np.ndarray:
        """The corpus score without each row in turn (``ci_method = "jackknife"``)."""
        raise NotImplementedError

    def signature(self) -> Signature:
        """The signature of this metric with its current options."""
        raise NotImplementedError

    # ----- public API ------------------------------------------------------
    def compute(
        self,
        predictions: Sequence[Any],
        references: Sequence[Sequence[str]] | None = None,
        *,
        ci: bool = True,
        n_bootstrap: int = 1000,
        seed: int = 0,
    ) -> Score:
        """Score a corpus; ``references[i]`` is the list of references of ``predictions[i]``.

        With ``ci`` (the default), ``Score.ci`` is the 95% percentile bootstrap
        interval over examples (``n_bootstrap`` resamples, seeded), the corpus
        metric being recomputed on every resample; metrics with
        ``ci_method = "jackknife"`` (distinct-n) give the delete-1 jackknife
        normal interval instead.
        """
        return self._score(predictions, references, ci=ci, n_bootstrap=n_bootstrap, seed=seed)[0]

    def compute_with_examples(
        self, predictions: Sequence[Any], references: Sequence[Sequence[str]] | None = None,
        **ci_options: Any,
    ) -> tuple[Score, list[float], np.ndarray]:
        """``compute`` (same keyword options), ``per_example`` and the per-example stats rows
        in one pass (BERTScore runs its model once)."""
        score, stats = self._score(predictions, references, **ci_options)
        return score, self._rows_scores(stats), stats

    def _score(self, predictions: Any, references: Any, *, ci: bool = True,
               n_bootstrap: int = 1000, seed: int = 0) -> tuple[Score, np.ndarray]:
        preds, refs = self.validate(predictions, references)
        ev = self._evaluate(preds, refs)
        interval = None
        if ci and n_bootstrap > 0:
            from harness.metrics.bootstrap import interval_from_stats

            interval = interval_from_stats(self, ev.stats, n_bootstrap, seed)
        score = Score(name=self.name, score=float(ev.score), signature=self.signature().format(),
                      details=ev.details, ci=interval)
        return score, ev.stats

    def _rows_scores(self, stats: np.ndarray) -> list[float]:
        """Each example's score: the corpus score of its row alone."""
        return [float(self._score_from_stats(stats[i : i + 1])) for i in range(len(stats))]

    def per_example(
        self, predictions: Sequence[Any], references: Sequence[Sequence[str]] | None = None
    ) -> list[float]:
        """Sentence-level scores on the same scale as the corpus score."""
        return self._rows_scores(self.stats(predictions, references))

    def stats(
        self, predictions: Sequence[Any], references: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Per-example sufficient statistics (validated), for the bootstrap."""
        preds, refs = self.validate(predictions, references)
        return self._evaluate(preds, refs).stats

    def validate(
        self, predictions: Sequence[Any], references: Sequence[Sequence[str]] | None
    ) -> tuple[list[Any], list[list[str]] | None]:
        """Check shapes and types; raise HarnessError naming the first problem."""
        if isinstance(predictions, (str, bytes, Mapping)) or not isinstance(predictions, Iterable):
            raise HarnessError(f"{self.name}: predictions must be a list, got "
                               f"{type(predictions).__name__}")
        preds = list(predictions)
        if not preds:
            raise HarnessError(f"{self.name}: no predictions to score (empty list)",
                               hint="pass at least one prediction")
        # set(map(type, ...)) runs in C: validation stays a small fraction of any metric.
        if self.text_inputs and not set(map(type, preds)) <= {str}:
            bad = next(((i, p) for i, p in enumerate(preds) if not isinstance(p, str)), None)
            if bad is not None:
                raise HarnessError(f"{self.name}: predictions[{bad[0]}] is a "
                                   f"{type(bad[1]).__name__}, not a string")
            preds = [str(p) for p in preds]  # str subclasses (numpy.str_) as plain str
        if references is None:
            if self.references_required:
                raise HarnessError(f"{self.name}: references are required",
                                   hint="pass one list of reference strings per prediction")
            return preds, None
        return preds, self._validate_references(preds, references)

    def _validate_references(self, preds: list[Any], references: Any) -> list[list[str]]:
        if isinstance(references, (str, bytes, Mapping)) or not isinstance(references, Iterable):
            raise HarnessError(f"{self.name}: references must be a list of lists of strings")
        refs = list(references)
        if len(refs) != len(preds):
            raise HarnessError(
                f"{self.name}: {len(preds)} predictions but {len(refs)} reference lists",
                hint="give exactly one list of references per prediction",
            )
        # Fast path (the common case, checked in one pass): lists of strings, kept as they are.
        if (set(map(type, refs)) == {list} and all(refs)
                and set(map(type, chain.from_iterable(refs))) == {str}):
            return refs
        out = []
        for i, r in enumerate(refs):
            if isinstance(r, (str, bytes, Mapping)) or not isinstance(r, Iterable):
                raise HarnessError(
                    f"{self.name}: references[{i}] is a {type(r).__name__}, not a list of strings",
                    hint="references are one list per prediction, e.g. [['the ref']]",
                )
            r = list(r)
            if not r:
                raise HarnessError(f"{self.name}: references[{i}] is an empty list",
                                   hint="every prediction needs at least one reference")
            for x in r:
                if not isinstance(x, str):
                    raise HarnessError(f"{self.name}: a reference of example {i} is a "
                                       f"{type(x).__name__}, not a string")
            out.append(r)
        return out

    @classmethod
    def parse_options(cls, pairs: dict[str, str]) -> dict[str, Any]:
        """Convert ``k=v`` strings (from the CLI) to the types of the defaults."""
        cls._check_known(pairs)
        return {key: coerce(raw, cls.defaults[key], key) for key, raw in pairs.items()}

    @classmethod
    def _check_known(cls, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - set(cls.defaults))
        if unknown:
            known = ", ".join(sorted(cls.defaults)) or "none"
            raise HarnessError(f"metric {cls.name!r} takes no option {unknown[0]!r}",
                               hint=f"its options are: {known}")


def coerce(raw: str, default: Any, key: str) -> Any:
    """Parse one option string by the type of its default (None: int, float, bool or str).

    ``none`` stays a string: it is a value of some options (sacrebleu's ``tokenize``),
    and an option left out already takes its default.
    """
    lowered = raw.strip().lower()
    if isinstance(default, bool) or (default is None and lowered in ("true", "false")):
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise HarnessError(f"option {key}={raw!r} is not a boolean", hint="use true or false")
    kinds: tuple[Callable[[str], Any], ...]
    if isinstance(default, int):
        kinds = (int,)
    elif isinstance(default, float):
        kinds = (float,)
    elif default is None:
        kinds = (int, float, str)
    else:
        return raw
    for kind in kinds:
        try:
            return kind(raw)
        except ValueError:
            continue
    raise HarnessError(f"option {key}={raw!r} is not a {kinds[0].__name__}")


class MeanMetric(Metric):
    """A metric whose corpus score is the mean of per-example scores.

    Stats rows are ``[score, 1, extra...]``; ``_example_rows`` returns them.
    """

    level = "example"

    def recipe(self) -> dict[str, Any]:
        return {"kind": "mean"}

    def _example_rows(self, predictions: list[Any], references: Any) -> np.ndarray:
        raise NotImplementedError

    def _evaluate(self, predictions: list[Any], references: Any) -> Evaluation:
        rows = self._example_rows(predictions, references)
        return Evaluation(score=self._score_from_stats(rows), details=self._details(rows.sum(axis=0)),
                          stats=rows)

    def _details(self, total: np.ndarray) -> dict[str, Any]:
        return {"n": int(total[1])}

    def _rows_scores(self, stats: np.ndarray) -> list[float]:
        return (stats[:, 0] / stats[:, 1]).tolist()


# ----- the registry -----------------------------------------------------------
def _check_metric(name: str, cls: Any) -> str | None:
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        return f"{cls!r} is not a harness.metrics.Metric subclass"
    return None


METRICS: Registry[type[Metric]] = Registry("metric", group=ENTRY_POINT_GROUP,
                                           builtins=BUILTIN_MODULES, check=_check_metric)


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a Metric subclass under its ``name``; duplicates are a ValueError."""
    return METRICS.add(cls.name, cls)


def _load_registry() -> dict[str, type[Metric]]:
    return METRICS.load()


def list_metrics() -> list[str]:
    """Names of every registered metric (built-ins and plugins), sorted."""
    return sorted(_load_registry())


def get_metric_class(name: str) -> type[Metric]:
    """The class registered under ``name``; unknown names list the close and known ones."""
    return METRICS.get(name)


def metric_problems(specs: Iterable[Any]) -> list[str]:
    """What is wrong with a task's metric specs (objects with ``name`` and ``options``):
    unknown names, and options the metric class does not take or rejects."""
    problems = []
    for s in specs:
        problem = metric_spec_problem(s.name, getattr(s, "options", None) or {})
        if problem:
            problems.append(problem)
    return problems


def metric_spec_problem(name: str, options: Mapping[str, Any]) -> str | None:
    """Why ``load_metric(name, **options)`` would fail (None when it would not): the metric
    class checks its own options, so a task file is refused before any model runs."""
    known = _load_registry()
    if name not in known:
        return f"unknown metric {name!r}"
    try:
        known[name](**dict(options))
    except HarnessError as exc:
        return exc.one_line()
    return None


def load_metric(name: str, **options: Any) -> Metric:
    """A metric by name with options named as in its reference library."""
    return get_metric_class(name)(**options)


def progress(items: Iterable[Any], total: int, desc: str, *, unit: str = "seg",
             min_total: int = 1000) -> Iterable[Any]:
    """A tqdm bar over a long loop (hidden under ``min_total`` items and by --quiet)."""
    if total < min_total:
        return items
    from harnesskit.progress import bar

    return bar(items, total=total, desc=desc, unit=unit, leave=False)


@functools.cache
def library_version(dist: str) -> str:
    """Installed version of a distribution, for signatures (cached: the lookup scans
    site-packages, which would cost more than scoring a small corpus)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
