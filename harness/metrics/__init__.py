"""Every standard NLP metric, equal to its reference implementation (SPEC §6).

    from harness.metrics import load_metric, list_metrics
    m = load_metric("bleu", tokenize="13a")          # options named as in the reference library
    s = m.compute(predictions=hyps, references=refs)  # refs[i]: the references of hyps[i]
    s.score, s.signature, s.details, s.ci             # float, str, dict, (lo, hi) 95% bootstrap

Metrics register with :func:`register_metric` or through the entry-point
group ``harness.metrics``; the table is filled on the first lookup, and no
reference library is imported before a metric of it is built.
"""

from harness.metrics.base import (
    ENTRY_POINT_GROUP,
    MeanMetric,
    Metric,
    Score,
    Signature,
    get_metric_class,
    list_metrics,
    load_metric,
    metric_problems,
    metric_spec_problem,
    register_metric,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MeanMetric",
    "Metric",
    "Score",
    "Signature",
    "get_metric_class",
    "list_metrics",
    "load_metric",
    "metric_problems",
    "metric_spec_problem",
    "register_metric",
]
