"""Judge-vs-human agreement on one metric: correlations with bootstrap CIs, the paper's constant-score
branch, mean absolute difference and bias.

Every function takes two paired arrays of equal length (judge score, human score of the same
dialogue; the human score is usually the mean of its raters) and drops pairs where either is NaN.

- Pearson r and its two-sided p: ``scipy.stats.pearsonr``. 95% CI: BCa bootstrap of the pairs
  (``scipy.stats.bootstrap``, ``paired=True``, 2,000 resamples, fixed seed); a resample in which one
  side is constant has no r and, when any resample has none, the percentile interval of the
  resamples that have one is reported instead (``ci_method`` says which).
- Spearman rho and Kendall tau-b with their p: ``scipy.stats.spearmanr`` / ``kendalltau``.
- Constant side (the paper's branch): when the judge (or the humans) gave one score to every
  dialogue, no correlation is defined; the constant is reported with the mean absolute difference,
  and every correlation field is None.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SEED = 20250117


def paired(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two float arrays with every pair holding a NaN on either side removed."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired arrays must be 1-d and of equal length, got {a.shape} and {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def is_constant(x: np.ndarray) -> bool:
    return len(x) > 0 and bool(np.all(x == x[0]))


@dataclass(frozen=True)
class Correlation:
    """Pearson r with p and bootstrap CI (None where undefined)."""

    r: float | None
    p: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    ci_method: str | None = None


def pearson_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson r of many resamples at once (the bootstrap statistic); NaN where a side is constant.

    The textbook formula, vectorised: scipy's pearsonr checks each call's input, which made the
    bootstrap the slowest part of a report. Tested equal to scipy.stats.pearsonr.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = x - x.mean(axis=axis, keepdims=True)
        yc = y - y.mean(axis=axis, keepdims=True)
        r = (xc * yc).sum(axis=axis) / np.sqrt((xc * xc).sum(axis=axis) * (yc * yc).sum(axis=axis))
    return np.clip(r, -1.0, 1.0)


def pearson_ci(
    x: Any, y: Any, *, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES, seed: int = SEED
) -> Correlation:
    """Pearson r of the pairs, its p and its bootstrap CI; all None with fewer than 3 pairs or a constant side."""
    a, b = paired(x, y)
    n = len(a)
    if n < 3 or is_constant(a) or is_constant(b):
        return Correlation(None, None, None, None, n)
    res = stats.pearsonr(a, b)
    r, p = float(res.statistic), float(res.pvalue)
    if n_resamples == 0:  # no interval wanted (the Inspect metrics report r alone)
        return Correlation(r, p, None, None, n)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate BCa is handled below
        boot = stats.bootstrap((a, b), pearson_along, paired=True, vectorized=True, n_resamples=n_resamples,
                               confidence_level=confidence, method="BCa", random_state=rng)
    low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    method = "BCa bootstrap"
    if math.isnan(low) or math.isnan(high):
        dist = boot.bootstrap_distribution
        dist = dist[~np.isnan(dist)]
        if len(dist) < n_resamples // 2:
            return Correlation(r, p, None, None, n)
        tail = (1 - confidence) / 2
        low, high = (float(v) for v in np.quantile(dist, [tail, 1 - tail]))
        method = "percentile bootstrap (resamples with a constant side left out)"
    return Correlation(r, p, low, high, n, method)


def spearman(x: Any, y: Any) -> tuple[float | None, float | None]:
    a, b = paired(x, y)
    if len(a) < 3 or is_constant(a) or is_constant(b):
        return None, None
    res = stats.spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)


def kendall(x: Any, y: Any) -> tuple[float | None, float | None]:
    """Kendall's tau-b (ties in either variable corrected)."""
    a, b = paired(x, y)
    if len(a) < 3 or is_constant(a) or is_constant(b):
        return None, None
    res = stats.kendalltau(a, b, variant="b")
    return float(res.statistic), float(res.pvalue)


@dataclass(frozen=True)
class PairAgreement:
    """Everything about one (judge, human) pairing of a metric that does not need the raters."""

    n: int
    judge_mean: float | None
    human_mean: float | None
    pearson_r: float | None
    pearson_p: float | None
    pearson_ci_low: float | None
    pearson_ci_high: float | None
    pearson_ci_method: str | None
    spearman_rho: float | None
    spearman_p: float | None
    kendall_tau: float | None
    kendall_p: float | None
    mad: float | None
    bias: float | None
    judge_constant: float | None
    human_constant: float | None
    constant_note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pair_agreement(judge: Any, human: Any, **ci: Any) -> PairAgreement:
    """Means, Pearson (+p, CI), Spearman, Kendall, MAD and bias (judge - human) of paired scores.

    The paper's branch: when either side is constant, r is undefined; the constant is reported in
    ``judge_constant`` / ``human_constant`` and ``constant_note`` says so; MAD and bias stay.
    """
    a, b = paired(judge, human)
    n = len(a)
    if n == 0:
        return PairAgreement(0, *([None] * 16))
    j_const = float(a[0]) if is_constant(a) and n >= 2 else None
    h_const = float(b[0]) if is_constant(b) and n >= 2 else None
    note = None
    if j_const is not None or h_const is not None:
        sides = [f"the judge gave {j_const:g} to every dialogue" if j_const is not None else None,
                 f"the humans gave {h_const:g} to every dialogue" if h_const is not None else None]
        note = "; ".join(s for s in sides if s) + ": r is undefined, the constant and the MAD are reported instead"
    corr = pearson_ci(a, b, **ci)
    rho, rho_p = spearman(a, b)
    tau, tau_p = kendall(a, b)
    diff = a - b
    return PairAgreement(
        n=n, judge_mean=float(a.mean()), human_mean=float(b.mean()),
        pearson_r=corr.r, pearson_p=corr.p, pearson_ci_low=corr.ci_low, pearson_ci_high=corr.ci_high,
        pearson_ci_method=corr.ci_method, spearman_rho=rho, spearman_p=rho_p, kendall_tau=tau, kendall_p=tau_p,
        mad=float(np.abs(diff).mean()), bias=float(diff.mean()),
        judge_constant=j_const, human_constant=h_const, constant_note=note,
    )
