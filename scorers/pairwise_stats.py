"""The statistics of pairwise judging, as pure functions (no Inspect, no model calls).

- **Outcome of one metric of one pair**, from the candidate's side: win 1, tie 0.5, loss 0.
  Every pair is judged twice, once with the candidate shown as A and once as B. When the two
  judgements agree (after mapping A/B back to candidate/baseline), that is the outcome; when they
  differ, the outcome is a tie and the judgement is position-inconsistent. This is MT-Bench's
  rule for pairwise judging with swapped positions (Zheng et al. 2023, "Judging LLM-as-a-Judge",
  section 3.4: "we call it a tie if the judgement is inconsistent"), applied to a win against a tie
  as well as to a win against a loss, so a judge that always answers "A" comes out at 0.5 on every
  metric with no consistent judgement at all.
- **Format failures** (the generation task's rule: a dialogue not in the format gets the lowest
  score on every metric, without a judge call): a failed candidate against a usable baseline
  loses every metric, a usable candidate against a failed baseline wins every metric, two failed
  dialogues tie. No judge is asked, so such a pair has no position consistency.
- **Confidence intervals**: 95% percentile bootstrap of the mean over pairs
  (``scipy.stats.bootstrap``, ``method="percentile"``, 10,000 resamples, fixed seed), the
  leaderboard's method (leaderboard/stats.py), so a board and a log agree. Fewer than two values:
  NaN bounds; constant values: the interval is that value (every resample has the same mean).
- **Length-controlled win rate, in the AlpacaEval manner** (Dubois et al. 2024, "Length-Controlled
  AlpacaEval", arXiv 2404.04475; their GLM ``length_controlled_v1`` uses the feature
  ``tanh(delta_len / std(delta_len))``): a logistic model of the candidate's outcome on
  ``x = tanh(d / sd(d))``, where ``d`` is the candidate's length minus the baseline's (characters of
  the two supporter replies) and ``sd`` its sample standard deviation (ddof 1, as pandas' ``std``),
  ``logit P(win) = b0 + b1 x``, fitted by maximum likelihood with scikit-learn (no penalty; a tie
  enters as half a win and half a loss, the binomial likelihood of a fractional outcome), and
  predicted at zero length difference: ``LC = sigmoid(b0)``. AlpacaEval's model also has a
  per-instruction difficulty term fitted across many models; with one candidate and one baseline
  there is nothing to fit it on, so it is left out, and the estimate is named
  ``length_controlled_win_rate`` (not AlpacaEval's own number). Where the maximum-likelihood
  estimate does not exist (every outcome the same, or the wins and losses separated by length)
  the value is NaN with the reason, never an estimate from a fit that did not converge; so is it
  when every pair has the same non-zero length difference (zero difference is outside the data).
  With no length difference at all it equals the raw win rate. When every pair's length
  difference has the same sign, zero difference lies outside the data and the estimate is an
  extrapolation (``note`` says so). Its 95% CI is a percentile
  bootstrap of the whole estimator over pairs (1,000 resamples, the same seed), resamples without
  an estimate left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WIN, TIE, LOSS = 1.0, 0.5, 0.0
CONFIDENCE = 0.95
N_RESAMPLES = 10_000
# The length-controlled win rate refits the model on every resample (about 5 ms each on our CPUs).
LC_RESAMPLES = 1_000
# The leaderboard's seed (leaderboard/stats.py), so a pairwise board and the log's CIs agree.
SEED = 20260122


def candidate_outcome(preferred: str, candidate_label: str) -> float:
    """One judgement from the candidate's side: 1 when the judge preferred the candidate's label,
    0 when it preferred the other one, 0.5 for "tie"."""
    if candidate_label not in ("A", "B"):
        raise ValueError(f"candidate_label must be 'A' or 'B', got {candidate_label!r}")
    if preferred == "tie":
        return TIE
    if preferred not in ("A", "B"):
        raise ValueError(f"preferred must be 'A', 'B' or 'tie', got {preferred!r}")
    return WIN if preferred == candidate_label else LOSS


def combine_orders(candidate_as_a: str, candidate_as_b: str) -> tuple[float, bool]:
    """The outcome of one metric judged in both orders, and whether the two orders agree.

    ``candidate_as_a``: the judge's answer when the candidate was shown as A; ``candidate_as_b``:
    when it was shown as B. Agreeing judgements give their outcome; any disagreement a tie (0.5),
    marked inconsistent (see the module docstring)."""
    first = candidate_outcome(candidate_as_a, "A")
    second = candidate_outcome(candidate_as_b, "B")
    if first == second:
        return first, True
    return TIE, False


def format_outcome(candidate_ok: bool, baseline_ok: bool) -> float:
    """The outcome on every metric when at least one dialogue is not in the format (no judge call)."""
    if candidate_ok and baseline_ok:
        raise ValueError("format_outcome is for pairs with at least one format failure")
    if candidate_ok:
        return WIN
    if baseline_ok:
        return LOSS
    return TIE


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]


def bootstrap_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """95% percentile bootstrap CI of the mean of the non-NaN values (see the module docstring)."""
    from scipy import stats

    x = _clean(values)
    if len(x) < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap(
        (x,), np.mean, n_resamples=N_RESAMPLES, confidence_level=CONFIDENCE, method="percentile",
        vectorized=True, rng=np.random.default_rng(SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


# Below this spread of the tanh length feature, the differences count as one value (see above).
FEATURE_SPREAD_MIN = 1e-3


def length_feature(candidate_len: Sequence[float] | np.ndarray, baseline_len: Sequence[float] | np.ndarray) -> np.ndarray:
    """AlpacaEval's length feature ``tanh(d / sd(d))`` with ``d`` = candidate - baseline length and
    ``sd`` the sample standard deviation (ddof 1). All differences equal (sd 0): the differences
    carry no information to standardise by, and the feature is ``sign(d)`` (the limit of tanh)."""
    d = np.asarray(candidate_len, dtype=float) - np.asarray(baseline_len, dtype=float)
    if len(d) < 2:
        return np.sign(d)
    sd = float(np.std(d, ddof=1))
    if sd == 0.0:
        return np.sign(d)
    return np.tanh(d / sd)


@dataclass(frozen=True)
class LengthControlled:
    """The length-controlled win rate and the fit behind it."""

    win_rate: float  # the raw win rate: the mean outcome
    lc_win_rate: float  # sigmoid(intercept): predicted at zero length difference; NaN when no MLE
    intercept: float
    slope: float  # on the tanh-standardised length difference; > 0: the judge favours longer dialogues
    n: int
    note: str  # why lc_win_rate is NaN, that it is extrapolated, or ""


def _separated(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether wins and losses are (quasi-)completely separated along x, so that the logistic
    maximum-likelihood estimate does not exist. A fractional outcome (a tie) is a win and a loss
    at the same x. With one feature, separation means a threshold with every win-part on one side
    and every loss-part on the other (ties at the threshold included: quasi-complete)."""
    wins = x[y > 0]
    losses = x[y < 1]
    if len(wins) == 0 or len(losses) == 0:
        return True
    if np.all(x == x[0]):
        return False  # no slope to separate along: the intercept alone is estimable
    return bool(wins.min() >= losses.max() or wins.max() <= losses.min())


def length_controlled_win_rate(
    outcomes: Sequence[float] | np.ndarray,
    candidate_len: Sequence[float] | np.ndarray,
    baseline_len: Sequence[float] | np.ndarray,
) -> LengthControlled:
    """The AlpacaEval-style length-controlled win rate (see the module docstring).

    ``outcomes``: the candidate's outcome per pair in [0, 1] (win 1, tie 0.5, loss 0, or a mean
    over metrics). Pairs with a NaN outcome or length are left out.
    """
    y = np.asarray(outcomes, dtype=float)
    lc, lb = np.asarray(candidate_len, dtype=float), np.asarray(baseline_len, dtype=float)
    if not (len(y) == len(lc) == len(lb)):
        raise ValueError(f"outcomes, candidate_len and baseline_len differ in length: {len(y)}, {len(lc)}, {len(lb)}")
    keep = ~(np.isnan(y) | np.isnan(lc) | np.isnan(lb))
    y, lc, lb = y[keep], lc[keep], lb[keep]
    if np.any((y < 0) | (y > 1)):
        raise ValueError("outcomes must lie in [0, 1]")
    n = len(y)
    raw = float(np.mean(y)) if n else math.nan
    if n < 2:
        return LengthControlled(raw, math.nan, math.nan, math.nan, n, "fewer than 2 pairs")
    x = length_feature(lc, lb)
    if np.ptp(x) <= FEATURE_SPREAD_MIN and np.abs(x).min() > FEATURE_SPREAD_MIN:
        # One length difference for every pair (or differences so far out that tanh maps them to
        # the same value to within FEATURE_SPREAD_MIN): length and the candidate's quality cannot be
        # told apart, and zero difference lies outside the data. A fit would extrapolate from
        # rounding noise (sklearn and statsmodels then disagree).
        return LengthControlled(raw, math.nan, math.nan, math.nan, n, "the length difference does not vary")
    if _separated(x, y):
        why = ("every pair has the same outcome" if np.all(y == y[0])
               else "wins and losses are separated by length (no maximum-likelihood estimate)")
        return LengthControlled(raw, math.nan, math.nan, math.nan, n, why)
    from scipy.special import expit  # a sigmoid that does not overflow

    b0, b1 = fit_logistic(x, y)
    # Zero length difference outside the data (every candidate longer, or every one shorter): the
    # estimate is an extrapolation of the fitted curve, reported but said so.
    note = "" if x.min() <= 0 <= x.max() else "extrapolated: every pair's length difference has the same sign"
    return LengthControlled(raw, float(expit(b0)), b0, b1, n, note)


def length_controlled_ci(
    outcomes: Sequence[float] | np.ndarray,
    candidate_len: Sequence[float] | np.ndarray,
    baseline_len: Sequence[float] | np.ndarray,
    n_resamples: int = LC_RESAMPLES,
) -> tuple[float, float, int]:
    """95% percentile bootstrap CI of the length-controlled win rate: the pairs are resampled
    (``scipy.stats.bootstrap``, ``paired``, fixed seed) and the whole estimator is applied to each
    resample (the standardisation of the length difference included). Resamples without a
    maximum-likelihood estimate (separated, one outcome) are left out of the interval and counted:
    ``(low, high, resamples left out)``. NaN bounds when the estimate itself does not exist."""
    from scipy import stats

    y = np.asarray(outcomes, dtype=float)
    lc, lb = np.asarray(candidate_len, dtype=float), np.asarray(baseline_len, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(lc) | np.isnan(lb))
    y, lc, lb = y[keep], lc[keep], lb[keep]
    if math.isnan(length_controlled_win_rate(y, lc, lb).lc_win_rate):
        return math.nan, math.nan, 0

    def statistic(yy: np.ndarray, cc: np.ndarray, bb: np.ndarray) -> float:
        return length_controlled_win_rate(yy, cc, bb).lc_win_rate

    res = stats.bootstrap((y, lc, lb), statistic, paired=True, vectorized=False, n_resamples=n_resamples,
                          confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(SEED))
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    finite = dist[~np.isnan(dist)]
    if len(finite) == 0:
        return math.nan, math.nan, len(dist)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high), int(len(dist) - len(finite))


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unpenalised maximum-likelihood ``logit P = b0 + b1 x`` for outcomes ``y`` in [0, 1]: each
    pair enters as a win with weight ``y`` and a loss with weight ``1 - y`` (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    features = np.concatenate([x, x]).reshape(-1, 1)
    labels = np.concatenate([np.ones_like(y), np.zeros_like(y)])
    weights = np.concatenate([y, 1.0 - y])
    used = weights > 0
    model = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-10, max_iter=10_000)
    model.fit(features[used], labels[used], sample_weight=weights[used])
    return float(model.intercept_[0]), float(model.coef_[0, 0])


def first_position_share(a_count: int, b_count: int) -> float:
    """Share of the non-tie judgements that went to the dialogue shown as A (0.5 = no position
    preference; 1.0 = always A). NaN when every judgement was a tie."""
    total = a_count + b_count
    return a_count / total if total else math.nan
