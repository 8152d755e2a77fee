"""Each agreement statistic the audit reports, against an implementation it does not call: SciPy's own
Pearson bootstrap interval, pingouin's partial correlation, the HC3 sandwich written out, the
quadratic-weighted kappa from its definition. (Alpha and ICC: tests/test_agreement_stats.py and
tests/test_agreement_icc.py; the alt-test: tests/test_agreement_alt_test.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from emplifai.scorers.agreement import deviation_regression, partial_correlation, pearson_ci, quadratic_kappa
from emplifai.scorers.agreement.correlation import SEED


def test_pearson_bca_interval_agrees_with_scipys_own() -> None:
    rng = np.random.default_rng(8)
    h = rng.normal(3, 1, 80)
    j = h + rng.normal(0, 0.8, 80)
    ours = pearson_ci(j, h)
    ref = stats.pearsonr(j, h).confidence_interval(
        0.95, method=stats.BootstrapMethod(n_resamples=2000, method="BCa", rng=np.random.default_rng(SEED)))
    assert ours.r == pytest.approx(stats.pearsonr(j, h).statistic)
    assert ours.ci_low == pytest.approx(ref.low, abs=0.02) and ours.ci_high == pytest.approx(ref.high, abs=0.02)


def test_partial_correlation_agrees_with_pingouin() -> None:
    rng = np.random.default_rng(9)
    z = rng.normal(4.5, 0.5, 70)
    x = 0.8 * z + rng.normal(0, 0.5, 70)
    y = 0.5 * x + 0.3 * z + rng.normal(0, 0.5, 70)
    ours = partial_correlation(x, y, z)
    ref = pg.partial_corr(pd.DataFrame({"x": x, "y": y, "z": z}), x="x", y="y", covar="z")
    assert ours["r"] == pytest.approx(float(ref["r"].iloc[0]), abs=1e-9)
    assert ours["p"] == pytest.approx(float(ref["p_val"].iloc[0] if "p_val" in ref else ref["p-val"].iloc[0]), rel=1e-6)


def test_hc3_standard_errors_by_the_sandwich_formula() -> None:
    rng = np.random.default_rng(10)
    n = 90
    frame = pd.DataFrame({"log_chars": rng.normal(4.6, 0.5, n), "markdown": rng.integers(0, 2, n)})
    # Heteroskedastic errors: HC3 and the classical errors differ.
    frame["dev"] = 0.9 * frame["log_chars"] + rng.normal(0, 0.2 + 0.4 * frame["markdown"], n)
    reg = deviation_regression(frame, "dev", ["log_chars", "markdown"])
    x = np.column_stack([np.ones(n), frame["log_chars"], frame["markdown"]])
    y = frame["dev"].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    h = np.einsum("ij,jk,ik->i", x, bread, x)  # leverages
    cov = bread @ (x.T * (e**2 / (1 - h) ** 2)) @ x @ bread
    got = {c["name"]: c for c in reg["coefficients"]}
    for i, name in enumerate(["const", "log_chars", "markdown"]):
        assert got[name]["estimate"] == pytest.approx(beta[i], rel=1e-9)
        assert got[name]["se"] == pytest.approx(np.sqrt(cov[i, i]), rel=1e-9)
        assert got[name]["ci_low"] == pytest.approx(beta[i] - stats.norm.ppf(0.975) * np.sqrt(cov[i, i]), rel=1e-9)


def _qwk_direct(a: np.ndarray, b: np.ndarray, k: int = 5) -> float:
    observed = np.zeros((k, k))
    for i, j in zip(a - 1, b - 1):
        observed[i, j] += 1
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    return 1 - (w * observed).sum() / (w * expected).sum()


def test_quadratic_kappa_from_its_definition() -> None:
    rng = np.random.default_rng(12)
    truth = rng.integers(1, 6, 60)
    judge = np.clip(truth + rng.integers(-1, 2, 60), 1, 5)
    human = np.clip(truth + rng.integers(-1, 2, 60), 1, 5)
    assert quadratic_kappa(judge, human) == pytest.approx(_qwk_direct(judge, human), abs=1e-12)
