"""McNemar, Holm and the detectable difference against scipy and statsmodels."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from leaderboards.stats import (
    binary_outcomes,
    holm,
    mcnemar_exact,
    mcnemar_p,
    min_detectable_difference,
)


@pytest.mark.parametrize("b,c", [(0, 0), (0, 1), (1, 0), (3, 3), (5, 1), (1, 12), (10, 25),
                                 (40, 60), (7, 8), (0, 30), (200, 260), (1000, 1101)])
def test_mcnemar_equals_binomtest_and_statsmodels(b: int, c: int) -> None:
    ours = mcnemar_p(b, c)
    if b + c:
        assert ours == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-12, abs=1e-300)
    table = [[5, b], [c, 7]]
    assert ours == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9, abs=1e-300)


def test_mcnemar_counts_discordant_pairs_from_outcomes() -> None:
    rng = random.Random(3)
    a = [100.0 * (rng.random() < 0.7) for _ in range(300)]
    b = [100.0 * (rng.random() < 0.6) for _ in range(300)]
    res = mcnemar_exact(a, b)
    only_a = sum(1 for x, y in zip(a, b) if x > y)
    only_b = sum(1 for x, y in zip(a, b) if y > x)
    assert (res.a_only, res.b_only, res.n) == (only_a, only_b, 300)
    assert res.p_value == pytest.approx(binomtest(only_a, only_a + only_b).pvalue, rel=1e-12)
    assert binary_outcomes(a) and binary_outcomes([0, 1, 1])
    assert not binary_outcomes([0, 50.0, 100]) and not binary_outcomes([0, 1, 100])


@pytest.mark.parametrize("seed", range(6))
def test_holm_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = list(rng.uniform(0, 0.2, size=int(rng.integers(1, 15))))
    if seed == 0:
        p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]  # ties and a large one
    expected = multipletests(p, method="holm")[1]
    assert holm(p) == pytest.approx(list(expected), rel=1e-12)


def test_min_detectable_difference() -> None:
    # Connor (1987): n = (z_a + z_b)^2 * p_disc / delta^2 for McNemar; invert for delta.
    n, p_disc = 400, 0.2
    diffs = [100.0] * 40 + [-100.0] * 40 + [0.0] * 320   # 20% discordant, no mean difference
    z = 1.959963984540054 + 0.8416212335729143
    connor = z * 100 * math.sqrt(p_disc / n)
    assert min_detectable_difference(diffs) == pytest.approx(connor, rel=0.01)
    # Four times the examples: half the detectable difference.
    assert min_detectable_difference(diffs * 4) == pytest.approx(
        min_detectable_difference(diffs) / 2, rel=0.01)
    assert math.isnan(min_detectable_difference([0.0] * 50))
    assert min_detectable_difference([1.0]) == math.inf
