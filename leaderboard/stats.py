"""Uncertainty and honest ranks for the leaderboard: bootstrap confidence intervals, paired tests
between models on the samples they share, and ranks in which models that cannot be told apart
share a rank.

Choices, stated once here and repeated on every page the leaderboard writes (``METHOD``):

- **Confidence intervals**: 95% percentile bootstrap (``scipy.stats.bootstrap``,
  ``method="percentile"``), 10,000 resamples of the samples, with a fixed seed so a board is
  reproducible from its logs. Macro-F1 is resampled as (gold, prediction) pairs. A CI needs at
  least two values; with fewer it is NaN (reported as "n/a"), never a made-up width.
- **Paired test**: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, two-sided, zero differences
  dropped: ``zero_method="wilcox"``) on the per-sample scores of two models, over the samples
  both have a score for. For 0/1 correctness this is a sign test on the samples where exactly
  one of the two is right. Two models with no differing sample have p = 1.
- **Multiple comparisons**: all pairs of one board form one family; p-values are adjusted with
  Holm's step-down method (family-wise error rate 0.05), so adding models does not manufacture
  "significant" differences.
- **Ranks**: a model's rank is 1 + the number of models on the board that are significantly
  better than it (adjusted p < 0.05 and a higher mean on the shared samples). Models with no
  significant difference between them usually share a rank; because "not significantly
  different" is not transitive, each row also lists exactly which models it is tied with.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
N_RESAMPLES = 10_000
SEED = 20260122
# Resamples per batch: bounds memory (batch x n values) without slowing the bootstrap down.
_BATCH = 500

METHOD: dict[str, str] = {
    "confidence_interval": (
        f"{CONFIDENCE:.0%} percentile bootstrap (scipy.stats.bootstrap, {N_RESAMPLES:,} resamples of the "
        f"samples, seed {SEED}); macro-F1 resampled as (gold, prediction) pairs; n/a with fewer than 2 values"
    ),
    "paired_test": (
        "Wilcoxon signed-rank test (scipy.stats.wilcoxon, two-sided, zero differences dropped) on the "
        "per-sample scores of two rows over the samples both have a score for (generation: overall judge "
        "score; emotion: 0/1 correctness, i.e. a sign test)"
    ),
    "multiple_comparisons": (
        f"Holm step-down adjustment over all pairs of a board (family-wise error rate {ALPHA})"
    ),
    "rank": (
        "rank = 1 + number of rows on the same board significantly better (adjusted p < "
        f"{ALPHA} and higher mean on the shared samples); rows not significantly different usually "
        "share a rank, and 'tied with' lists them exactly"
    ),
}


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval (NaN bounds when it cannot be computed)."""

    estimate: float
    low: float
    high: float
    n: int


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def mean_ci(values: Sequence[float] | np.ndarray | pd.Series) -> Interval:
    """Mean of the non-NaN values with its percentile bootstrap CI."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    est = float(np.mean(x))
    if n < 2:
        return Interval(est, float("nan"), float("nan"), n)
    if np.all(x == x[0]):
        # Every resample has the same mean: the interval is that point (scipy warns and gives NaN).
        return Interval(est, est, est, n)
    res = stats.bootstrap(
        (x,), np.mean, n_resamples=N_RESAMPLES, confidence_level=CONFIDENCE, method="percentile",
        vectorized=True, batch=_BATCH, rng=_rng(),
    )
    return Interval(est, float(res.confidence_interval.low), float(res.confidence_interval.high), n)


def macro_f1_from_codes(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Macro-F1 along the last axis of integer-coded labels; vectorised over leading axes.

    ``pred`` = -1 is an answer that named no label: a miss for its gold label, never a false
    positive. The labels averaged over are those present among the gold labels or the real
    predictions of each row (``emplifai.scorers.label_match.f1_labels``); per label
    F1 = 2TP / (2TP + FP + FN), which equals scikit-learn's F1 with ``zero_division=0``.
    """
    gold = np.asarray(gold)
    pred = np.asarray(pred)
    lead = gold.shape[:-1]
    g = gold.reshape(-1, gold.shape[-1])
    p = pred.reshape(-1, pred.shape[-1])
    rows = g.shape[0]
    width = n_labels + 1  # prediction classes: the labels, plus "unparsed" in the last slot
    p_cls = np.where(p < 0, n_labels, p)
    # One confusion matrix (gold x prediction class) per row, from a single bincount.
    flat = (np.arange(rows)[:, None] * n_labels + g) * width + p_cls
    conf = np.bincount(flat.ravel(), minlength=rows * n_labels * width).reshape(rows, n_labels, width)
    tp = np.diagonal(conf[:, :, :n_labels], axis1=1, axis2=2)
    gold_count = conf.sum(axis=2)
    pred_count = conf[:, :, :n_labels].sum(axis=1)
    fp = pred_count - tp
    fn = gold_count - tp
    present = (tp + fp + fn) > 0
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=float), where=denom > 0)
    out = np.sum(f1 * present, axis=-1) / np.maximum(np.sum(present, axis=-1), 1)
    return out.reshape(lead)


def macro_f1_ci(golds: Sequence[str], preds: Sequence[str | None]) -> Interval:
    """Macro-F1 of predicted vs gold labels with a paired percentile bootstrap CI."""
    n = len(golds)
    if n != len(preds):
        raise ValueError(f"golds and preds differ in length: {n} vs {len(preds)}")
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    labels = sorted(set(golds) | {p for p in preds if p is not None})
    code = {lb: i for i, lb in enumerate(labels)}
    g = np.array([code[x] for x in golds])
    p = np.array([-1 if x is None else code[x] for x in preds])
    est = float(macro_f1_from_codes(g, p, len(labels)))
    if n < 2:
        return Interval(est, float("nan"), float("nan"), n)

    def statistic(gi: np.ndarray, pi: np.ndarray, axis: int = -1) -> np.ndarray:
        return macro_f1_from_codes(np.moveaxis(gi, axis, -1), np.moveaxis(pi, axis, -1), len(labels))

    res = stats.bootstrap(
        (g, p), statistic, paired=True, vectorized=True, n_resamples=N_RESAMPLES, batch=_BATCH,
        confidence_level=CONFIDENCE, method="percentile", rng=_rng(),
    )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if np.isnan(low):  # every resample gave the same value (scipy warns and returns NaN)
        low = high = est
    return Interval(est, low, high, n)


def paired_p_value(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired scores (zero differences dropped)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.isnan(d).any():
        raise ValueError("paired_p_value: NaN in the paired scores; pass only samples both have a score for")
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (monotone, capped at 1). SciPy has only FDR methods
    (``false_discovery_control``); family-wise control is the right stance for "A beats B"."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


@dataclass(frozen=True)
class Ranking:
    """Ranks and ties of one board, and the pairwise tests they come from."""

    rank: dict[str, int]
    tied_with: dict[str, list[str]]
    pairwise: pd.DataFrame  # a, b, n_shared, mean_a, mean_b, diff, p, p_holm, significant


def tie_aware_ranks(scores: Mapping[str, pd.Series]) -> Ranking:
    """Rank rows by their per-sample scores (Series indexed by sample id, NaN = no score).

    Each pair is compared on the samples both have a score for; see the module docstring.
    A pair with no shared scored sample cannot be told apart: p = 1.
    """
    names = list(scores)
    pairs = list(itertools.combinations(names, 2))
    records = []
    for a, b in pairs:
        joined = pd.concat([scores[a].rename("a"), scores[b].rename("b")], axis=1, join="inner").dropna()
        n = len(joined)
        ma = float(joined["a"].mean()) if n else float("nan")
        mb = float(joined["b"].mean()) if n else float("nan")
        p = paired_p_value(joined["a"].to_numpy(), joined["b"].to_numpy()) if n else 1.0
        records.append({"a": a, "b": b, "n_shared": n, "mean_a": ma, "mean_b": mb, "diff": ma - mb, "p": p})
    pairwise = pd.DataFrame.from_records(
        records, columns=["a", "b", "n_shared", "mean_a", "mean_b", "diff", "p"]
    )
    pairwise["p_holm"] = holm(pairwise["p"].tolist())
    # A difference in means of exactly 0 orders nothing, whatever the test says.
    pairwise["significant"] = (pairwise["p_holm"] < ALPHA) & (pairwise["diff"] != 0)
    better: dict[str, int] = {n: 0 for n in names}
    tied: dict[str, list[str]] = {n: [] for n in names}
    for rec in pairwise.itertuples():
        if rec.significant:
            loser = rec.b if rec.diff > 0 else rec.a
            better[loser] += 1
        else:
            tied[rec.a].append(rec.b)
            tied[rec.b].append(rec.a)
    return Ranking(rank={n: 1 + better[n] for n in names}, tied_with=tied, pairwise=pairwise)
