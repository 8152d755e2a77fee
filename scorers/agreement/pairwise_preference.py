"""Judge vs human on pairwise preference: the judge's pairwise outcome against the preference the
human raters' absolute ratings imply, for the pairs where people rated both dialogues.

- **Implied human preference** per pair and metric: the candidate's human score (the mean of its
  raters) against the baseline's: higher by more than ``tie_margin`` = the candidate wins (1), lower
  by more than ``tie_margin`` = it loses (0), otherwise a tie (0.5). ``tie_margin`` defaults to 0
  (only equal means tie); it is the caller's choice and is reported with the result.
- **The judge's outcome**: the pairwise judge's outcome of the same pair and metric (1, 0.5, 0;
  a position-inconsistent judgement is already a tie there).
- **Agreement with ties**: the share of pairs where the two give the same of the three outcomes.
  **Decisive agreement**: the share agreeing among the pairs where both preferred one side.
- **Cohen's kappa** over the three categories: ``sklearn.metrics.cohen_kappa_score`` (unweighted;
  the categories are win/tie/loss, and a tie is not "half-way" enough to weight). Undefined (None)
  when the chance agreement is 1 (both sides used one and the same category throughout).
- **CIs**: 95% percentile bootstrap over pairs (``scipy.stats.bootstrap``, ``paired``, 2,000
  resamples, fixed seed), for the agreement and for kappa; resamples in which kappa is undefined
  are left out of its interval and counted (``kappa_ci_dropped``). Fewer than 3 pairs: no CI.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score

OUTCOMES: tuple[float, float, float] = (0.0, 0.5, 1.0)
N_RESAMPLES = 2_000
CONFIDENCE = 0.95
SEED = 20260122


def implied_preference(candidate: float, baseline: float, tie_margin: float = 0.0) -> float:
    """The outcome two absolute scores imply for the candidate: 1, 0.5 (within ``tie_margin``) or 0."""
    if tie_margin < 0 or math.isnan(tie_margin):
        raise ValueError(f"tie_margin must be >= 0, got {tie_margin!r}")
    diff = float(candidate) - float(baseline)
    if math.isnan(diff):
        return math.nan
    if abs(diff) <= tie_margin:
        return 0.5
    return 1.0 if diff > 0 else 0.0


def kappa(judge: np.ndarray, human: np.ndarray) -> float | None:
    """Cohen's kappa over win/tie/loss (sklearn), None when chance agreement is 1."""
    if len(judge) == 0 or (len(set(judge.tolist()) | set(human.tolist())) == 1):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score(_codes(judge), _codes(human), labels=[0, 1, 2])
    return None if math.isnan(value) else float(value)


def _codes(x: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=float) * 2).astype(int)


@dataclass(frozen=True)
class PreferenceAgreement:
    """Judge vs implied human preference over the pairs both have (see the module docstring)."""

    n: int
    tie_margin: float
    agreement: float | None
    agreement_ci: tuple[float, float] | None
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    kappa_ci_dropped: int
    decisive_agreement: float | None
    n_decisive: int
    judge_tie_rate: float | None
    human_tie_rate: float | None
    # confusion[judge outcome][human outcome] = count, outcomes as "win" / "tie" / "loss"
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_NAMES = {1.0: "win", 0.5: "tie", 0.0: "loss"}


def preference_agreement(
    judge_outcomes: Sequence[float],
    human_candidate: Sequence[float],
    human_baseline: Sequence[float],
    *,
    tie_margin: float = 0.0,
    n_resamples: int = N_RESAMPLES,
) -> PreferenceAgreement:
    """Agreement of the judge's outcomes with the humans' implied preferences, pair by pair.

    The three sequences are aligned (one entry per pair of one metric); pairs where any value is
    NaN (unscored by the judge, not rated by people) are left out. Judge outcomes must be 0, 0.5
    or 1.
    """
    j = np.asarray(judge_outcomes, dtype=float)
    hc, hb = np.asarray(human_candidate, dtype=float), np.asarray(human_baseline, dtype=float)
    if not (len(j) == len(hc) == len(hb)):
        raise ValueError(f"judge_outcomes, human_candidate and human_baseline differ in length: {len(j)}, {len(hc)}, {len(hb)}")
    h = np.array([implied_preference(c, b, tie_margin) for c, b in zip(hc, hb, strict=True)], dtype=float)
    keep = ~(np.isnan(j) | np.isnan(h))
    j, h = j[keep], h[keep]
    if not np.all(np.isin(j, OUTCOMES)):
        raise ValueError(f"judge outcomes must be 0, 0.5 or 1, got {sorted(set(j.tolist()) - set(OUTCOMES))}")
    n = len(j)
    confusion = {_NAMES[a]: {_NAMES[b]: int(np.sum((j == a) & (h == b))) for b in (1.0, 0.5, 0.0)}
                 for a in (1.0, 0.5, 0.0)}
    decisive = (j != 0.5) & (h != 0.5)
    agree = (j == h).astype(float)
    k_ci, dropped = _kappa_ci(j, h, n_resamples)
    return PreferenceAgreement(
        n=n,
        tie_margin=tie_margin,
        agreement=float(agree.mean()) if n else None,
        agreement_ci=_mean_ci(agree, n_resamples),
        kappa=kappa(j, h),
        kappa_ci=k_ci,
        kappa_ci_dropped=dropped,
        decisive_agreement=float(agree[decisive].mean()) if decisive.any() else None,
        n_decisive=int(decisive.sum()),
        judge_tie_rate=float(np.mean(j == 0.5)) if n else None,
        human_tie_rate=float(np.mean(h == 0.5)) if n else None,
        confusion=confusion,
    )


def _mean_ci(x: np.ndarray, n_resamples: int) -> tuple[float, float] | None:
    from scipy import stats

    if len(x) < 3:
        return None
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=CONFIDENCE,
                          method="percentile", vectorized=True, rng=np.random.default_rng(SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def kappa_along(judge: np.ndarray, human: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cohen's kappa over win/tie/loss along ``axis`` (the bootstrap's resamples at once); NaN where
    the chance agreement is 1. The same formula as ``cohen_kappa_score`` (checked against it in the
    tests), written out because 2,000 sklearn calls per interval made an audit take minutes."""
    a = np.moveaxis(np.asarray(judge, dtype=float), axis, -1)
    b = np.moveaxis(np.asarray(human, dtype=float), axis, -1)
    observed = np.mean(a == b, axis=-1)
    chance = sum(np.mean(a == c, axis=-1) * np.mean(b == c, axis=-1) for c in OUTCOMES)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(chance, 1.0), np.nan, (observed - chance) / (1.0 - chance))


def _bootstrap_quantiles(data: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray],
                         n_resamples: int) -> tuple[tuple[float, float] | None, int]:
    """95% percentile interval of a paired statistic over the finite resamples, and how many were NaN."""
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about the NaN resamples handled below
        res = stats.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                              confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(SEED))
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    finite = dist[~np.isnan(dist)]
    if len(finite) == 0:
        return None, len(dist)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return (float(low), float(high)), int(len(dist) - len(finite))


def _kappa_ci(j: np.ndarray, h: np.ndarray, n_resamples: int) -> tuple[tuple[float, float] | None, int]:
    if len(j) < 3 or kappa(j, h) is None:
        return None, 0
    return _bootstrap_quantiles((j, h), kappa_along, n_resamples)


# What a kappa and its interval say, by rule. Thresholds and their sources, stated once:
# - 0 is chance-level agreement by the definition of kappa (Cohen 1960): the interval's position
#   against 0 is the whole rule, no qualitative bands (Landis & Koch's are a convention, not a test);
# - MIN_PAIRS is this project's floor, the same as the probe verdict's MIN_BASES
#   (emplifai/probes/trust.py): under 10 resampled units a 95% bootstrap interval says little.
MIN_PAIRS = 10
PREFERENCE_RULE = (
    f"Rule: 'too few pairs' under {MIN_PAIRS} pairs; 'undefined' when kappa is (both sides used one category "
    "throughout); else 'agrees beyond chance' when the 95% interval of Cohen's kappa lies wholly above 0, "
    "'worse than chance' when wholly below 0, otherwise 'not shown beyond chance'. Pairwise vs absolute: the "
    "paired bootstrap interval of kappa(pairwise) - kappa(absolute) over the same pairs; 'pairwise agrees more' "
    "when it lies wholly above 0, 'absolute agrees more' when wholly below, otherwise 'no difference shown'."
)
PREFERENCE_SOURCES = {
    "0": "chance-level agreement, by the definition of Cohen's kappa (Cohen 1960)",
    str(MIN_PAIRS): "this project's floor, as emplifai/probes/trust.py MIN_BASES (a 95% bootstrap interval over "
                    "fewer units says little)",
}


def preference_reading(result: PreferenceAgreement) -> str:
    """The verdict ``PREFERENCE_RULE`` gives one agreement result."""
    if result.n < MIN_PAIRS:
        return "too few pairs"
    if result.kappa is None:
        return "undefined"
    if result.kappa_ci is None:
        return "not shown beyond chance"
    low, high = result.kappa_ci
    if low > 0:
        return "agrees beyond chance"
    if high < 0:
        return "worse than chance"
    return "not shown beyond chance"


@dataclass(frozen=True)
class KappaDifference:
    """kappa(first, human) - kappa(second, human) over the same pairs, with a paired bootstrap CI."""

    n: int
    first_kappa: float | None
    second_kappa: float | None
    difference: float | None
    ci: tuple[float, float] | None
    ci_dropped: int  # resamples where either kappa was undefined
    reading: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def kappa_difference(
    first: Sequence[float], second: Sequence[float], human: Sequence[float], *, n_resamples: int = N_RESAMPLES
) -> KappaDifference:
    """Is the first judge's agreement with the humans' implied preference higher than the second's?

    The three sequences are outcomes (0, 0.5, 1) of the same pairs; the pairs are resampled
    together (``scipy.stats.bootstrap``, ``paired``, percentile, fixed seed), so the interval
    accounts for both judges being read on the same dialogues. Pairs with a NaN anywhere are left out.
    """
    a, b, h = (np.asarray(x, dtype=float) for x in (first, second, human))
    keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(h))
    a, b, h = a[keep], b[keep], h[keep]
    ka, kb = kappa(a, h), kappa(b, h)
    n = len(a)
    if ka is None or kb is None:
        return KappaDifference(n, ka, kb, None, None, 0, "undefined")
    diff = ka - kb
    if n < MIN_PAIRS:
        return KappaDifference(n, ka, kb, diff, None, 0, "too few pairs")

    def statistic(x: np.ndarray, y: np.ndarray, z: np.ndarray, axis: int = -1) -> np.ndarray:
        return kappa_along(x, z, axis) - kappa_along(y, z, axis)

    ci, dropped = _bootstrap_quantiles((a, b, h), statistic, n_resamples)
    if ci is None:
        return KappaDifference(n, ka, kb, diff, None, dropped, "no difference shown")
    low, high = ci
    reading = "pairwise agrees more" if low > 0 else "absolute agrees more" if high < 0 else "no difference shown"
    return KappaDifference(n, ka, kb, diff, (low, high), dropped, reading)
