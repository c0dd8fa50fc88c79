"""Statistics for comparing two models on the same examples: McNemar, Holm, detectable difference.

``mcnemar_exact`` is McNemar's exact test on paired right/wrong outcomes: under
"no difference" each discordant pair (one model right, the other wrong) is a
fair coin, so the two-sided p-value is the binomial tail of the smaller count
doubled (capped at 1), as ``scipy.stats.binomtest(b, b + c, 0.5)`` and
statsmodels' ``mcnemar(exact=True)`` give it. ``holm`` adjusts a family of
p-values (Holm 1979, step-down), as statsmodels' ``multipletests(method="holm")``.
``min_detectable_difference`` says how large a true paired difference the test
set can detect at a given level and power (normal approximation on the
per-example differences; for right/wrong outcomes this is Connor's 1987 formula
for McNemar's test with the observed discordance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test on paired binary outcomes."""

    n: int            # paired examples
    a_only: int       # right for A, wrong for B (b in the usual table)
    b_only: int       # right for B, wrong for A (c)
    p_value: float


def binary_outcomes(values: Sequence[float]) -> bool:
    """Whether per-example scores are right/wrong outcomes (every value 0 or the same top)."""
    distinct = {float(v) for v in values}
    return bool(distinct) and distinct <= {0.0, 1.0, 100.0} and not {1.0, 100.0} <= distinct


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> McNemar:
    """McNemar's exact test on paired outcomes (nonzero = right) of models A and B."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length: {len(a)} vs {len(b)}")
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    return McNemar(n=len(a), a_only=a_only, b_only=b_only, p_value=mcnemar_p(a_only, b_only))


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact p-value for ``b`` and ``c`` discordant pairs (1.0 when there are none)."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    # Exact integer arithmetic: no underflow for large n, no floating drift in the tail sum.
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2 ** n)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given (monotone, capped at 1)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def min_detectable_difference(differences: Sequence[float], *, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """The smallest true mean paired difference detectable with this many examples.

    ``(z(1 - alpha/2) + z(power)) * sd(d) / sqrt(n)`` over the per-example
    differences ``d`` (in the metric's units). With right/wrong outcomes on
    0-100, ``sd(d)`` comes from the discordance, as in Connor (1987). NaN when
    the models never differ on an example: there is no spread to size it from.
    """
    n = len(differences)
    if n < 2:
        return math.inf
    mean = sum(differences) / n
    var = sum((d - mean) ** 2 for d in differences) / (n - 1)
    if var == 0:
        return math.nan
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return z * math.sqrt(var / n)
