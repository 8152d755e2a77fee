"""Agreement statistics against direct computations and published worked examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from emplifai.scorers.agreement import (
    icc2k,
    krippendorff_alpha,
    pair_agreement,
    pair_alpha,
    pearson_ci,
    quadratic_kappa,
    rater_reliability,
)

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units, missing values.
KRIPP_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])
# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; published ICC(2,1) = .29, ICC(2,4) = .62.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


@pytest.mark.parametrize("level,published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_published_example(level: str, published: float) -> None:
    assert round(krippendorff_alpha(KRIPP_2011, level), 3) == published


def _alpha_interval_direct(m: np.ndarray) -> float:
    """Interval alpha from its definition: 1 - D_o / D_e over pairable values (coincidence form)."""
    units = [col[~np.isnan(col)] for col in m.T]
    units = [u for u in units if len(u) >= 2]
    n = sum(len(u) for u in units)
    d_o = sum(((u[:, None] - u[None, :]) ** 2).sum() / (len(u) - 1) for u in units) / n
    allv = np.concatenate(units)
    d_e = ((allv[:, None] - allv[None, :]) ** 2).sum() / (n * (n - 1))
    return 1 - d_o / d_e


def test_interval_alpha_matches_definition_on_random_data() -> None:
    rng = np.random.default_rng(3)
    m = rng.integers(1, 6, size=(4, 40)).astype(float)
    m[rng.random(m.shape) < 0.2] = np.nan
    assert krippendorff_alpha(m, "interval") == pytest.approx(_alpha_interval_direct(m), abs=1e-9)
    assert krippendorff_alpha(KRIPP_2011, "interval") == pytest.approx(_alpha_interval_direct(KRIPP_2011), abs=1e-9)


def test_alpha_undefined_without_variation() -> None:
    assert krippendorff_alpha(np.full((3, 5), 4.0), "interval") is None
    assert pair_alpha([5, 5, 5], [5, 5, 5], "ordinal") is None


def test_icc2k_published_example_and_anova() -> None:
    assert round(icc2k(SHROUT_FLEISS), 2) == 0.62
    # ICC(2,1) from the same mean squares is the published .29 (checks the ANOVA decomposition).
    x = SHROUT_FLEISS
    n, k = x.shape
    g = x.mean()
    msr = k * ((x.mean(1) - g) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(0) - g) ** 2).sum() / (k - 1)
    mse = (((x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + g) ** 2).sum()) / ((n - 1) * (k - 1))
    assert round((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n), 2) == 0.29
    assert icc2k(x) == pytest.approx((msr - mse) / (msr + (msc - mse) / n))


def test_pair_agreement_against_scipy() -> None:
    rng = np.random.default_rng(0)
    h = rng.normal(3, 1, 60)
    j = h + rng.normal(0.4, 0.6, 60)
    j[5] = np.nan  # dropped pairwise
    res = pair_agreement(j, h)
    keep = ~np.isnan(j)
    assert res.n == 59
    assert res.pearson_r == pytest.approx(stats.pearsonr(j[keep], h[keep]).statistic)
    assert res.pearson_p == pytest.approx(stats.pearsonr(j[keep], h[keep]).pvalue)
    assert res.spearman_rho == pytest.approx(stats.spearmanr(j[keep], h[keep]).statistic)
    assert res.kendall_tau == pytest.approx(stats.kendalltau(j[keep], h[keep]).statistic)
    assert res.mad == pytest.approx(np.mean(np.abs(j[keep] - h[keep])))
    assert res.bias == pytest.approx(np.mean(j[keep] - h[keep]))
    assert res.judge_mean == pytest.approx(j[keep].mean())
    assert res.pearson_ci_low < res.pearson_r < res.pearson_ci_high
    assert res.constant_note is None


def test_constant_judge_branch() -> None:
    """The paper's GPT-o3-pro case: the judge gives 5 everywhere, humans vary; r undefined, MAD reported."""
    h = np.array([3.67, 4.0, 4.33, 3.33, 5.0, 4.67])
    res = pair_agreement(np.full(6, 5.0), h)
    assert res.pearson_r is None and res.spearman_rho is None and res.kendall_tau is None
    assert res.pearson_ci_low is None
    assert res.judge_constant == 5.0 and res.human_constant is None
    assert res.mad == pytest.approx(np.mean(5.0 - h))
    assert "judge gave 5" in res.constant_note


def test_quadratic_kappa_rounds_half_up() -> None:
    j = np.array([1, 2, 3, 4, 5, 5, 2, 3])
    h = np.array([1.33, 2.5, 3.5, 3.67, 4.5, 5, 1.67, 2.33])  # rounded half up: 1 3 4 4 5 5 2 2
    expected = cohen_kappa_score(j, [1, 3, 4, 4, 5, 5, 2, 2], weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert quadratic_kappa(j, h) == pytest.approx(expected)


def test_rater_reliability_leave_one_out_direct() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(3, 1, 30)
    ratings = {f"r{i}": {k: float(truth[k] + rng.normal(0, 0.5)) for k in range(30) if (k + i) % 4 != 0} for i in range(3)}
    judge = {k: float(truth[k] + rng.normal(0, 0.5)) for k in range(30)}
    rel = rater_reliability(ratings, judge)
    frame = pd.DataFrame(ratings)  # items x raters
    for row in rel.per_rater:
        mine = frame[row["rater_id"]]
        rest = frame.drop(columns=row["rater_id"]).mean(axis=1)
        ok = mine.notna() & rest.notna()
        assert row["r_vs_rest"] == pytest.approx(stats.pearsonr(mine[ok], rest[ok]).statistic)
        j = pd.Series(judge)[ok[ok].index]
        assert row["judge_r_vs_rest"] == pytest.approx(stats.pearsonr(j, rest[ok]).statistic)
    assert rel.loro_r == pytest.approx(np.mean([r["r_vs_rest"] for r in rel.per_rater]))
    assert rel.alpha_interval == pytest.approx(_alpha_interval_direct(frame.to_numpy().T), abs=1e-9)


def test_pearson_ci_coverage_of_planted_r() -> None:
    """95% CI covers a planted correlation in most of 200 seeded repetitions (n = 50)."""
    rho, n, reps = 0.6, 50, 200
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for seed in range(reps):
        x, y = np.random.default_rng(seed).multivariate_normal([0, 0], cov, n).T
        c = pearson_ci(x, y, n_resamples=500, seed=seed)
        hits += c.ci_low <= rho <= c.ci_high
    # Binomial(200, 0.95) falls below 180 with probability < 0.1%; BCa at n = 50 covers ~93-95%.
    assert hits >= 180, hits


def test_pearson_ci_none_for_tiny_or_constant() -> None:
    assert pearson_ci([1, 2], [2, 3]).r is None
    assert pearson_ci([1, 1, 1, 1], [1, 2, 3, 4]).r is None
    assert not math.isnan(pearson_ci([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]).r)


def test_vectorised_bootstrap_statistic_equals_scipy() -> None:
    from emplifai.scorers.agreement.correlation import pearson_along

    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(2, 7, 25))
    y += x
    assert pearson_along(x, y) == pytest.approx(stats.pearsonr(x, y, axis=-1).statistic)
    assert np.isnan(pearson_along(np.ones((1, 5)), np.arange(5.0)[None, :]))[0]
