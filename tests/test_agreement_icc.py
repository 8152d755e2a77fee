"""ICC(A,1), the headline judge-human ICC, and ICC(A,k) against pingouin.intraclass_corr."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from emplifai.scorers.agreement import icc2k, icc_a1

# Shrout & Fleiss (1979), Table 2: published ICC(2,1) = .29, ICC(2,4) = .62.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def _pingouin(table: np.ndarray) -> pd.DataFrame:
    n, k = table.shape
    long = pd.DataFrame({"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
                         "score": table.ravel()})
    return pg.intraclass_corr(long, targets="target", raters="rater", ratings="score").set_index("Type")


@pytest.mark.parametrize("seed,shape,bias", [(0, (40, 2), 0.0), (1, (40, 2), 0.8), (2, (25, 3), 0.3), (3, (80, 2), 1.5)])
def test_icc_a1_and_ak_match_pingouin(seed: int, shape: tuple[int, int], bias: float) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(3, 1, shape[0])
    table = np.column_stack([truth + rng.normal(0, 0.6, shape[0]) + bias * (j == 0) for j in range(shape[1])])
    ref = _pingouin(table)
    got = icc_a1(table)
    assert got.icc_a1 == pytest.approx(ref.loc["ICC(A,1)", "ICC"], abs=1e-9)
    assert got.icc_ak == pytest.approx(ref.loc["ICC(A,k)", "ICC"], abs=1e-9)
    assert icc2k(table) == pytest.approx(ref.loc["ICC(A,k)", "ICC"], abs=1e-9)
    low, high = ref.loc["ICC(A,1)", "CI95"]  # pingouin rounds its interval to 2 decimals
    assert round(got.ci_low, 2) == pytest.approx(low, abs=0.0051)
    assert round(got.ci_high, 2) == pytest.approx(high, abs=0.0051)
    assert got.ci_low < got.icc_a1 < got.ci_high


def test_published_example_and_a_bias_lowers_a1_more_than_ak() -> None:
    res = icc_a1(SHROUT_FLEISS)
    assert round(res.icc_a1, 2) == 0.29 and round(res.icc_ak, 2) == 0.62
    # A judge = human + 1 everywhere: perfect consistency, imperfect absolute agreement.
    human = np.array([1, 2, 3, 4, 5, 3, 2, 4], float)
    two = icc_a1(np.column_stack([human + 1, human]))
    assert two.icc_a1 < two.icc_ak < 1


def test_degenerate_tables() -> None:
    assert icc_a1(np.full((10, 2), 5.0)).icc_a1 is None  # no variance anywhere
    assert icc_a1(np.array([[1.0, 2.0]])).icc_a1 is None  # one target
    same = np.column_stack([np.arange(1, 6, dtype=float)] * 2)
    res = icc_a1(same)
    assert res.icc_a1 == pytest.approx(1.0) and res.ci_low is None  # no error variance: no F interval


def test_two_targets_give_no_nan_interval() -> None:
    res = icc_a1(np.array([[1.0, 2.0], [3.0, 3.5]]))
    assert res.ci_low is None or res.ci_low == res.ci_low  # never NaN
    assert res.ci_high is None or res.ci_high == res.ci_high
