"""Uncertainty and honest ranks for the leaderboard: bootstrap confidence intervals, paired tests
between models on the samples they share, and ranks in which models that cannot be told apart
share a rank.

Choices, stated once here and repeated on every page the leaderboard writes (``METHOD``):

- **Confidence intervals**: 95% percentile bootstrap (``scipy.stats.bootstrap``,
  ``method="percentile"``), 10,000 resamples of the samples, with a fixed seed so a board is
  reproducible from its logs. Macro-F1 is resampled as (gold, prediction) pairs. A CI needs at
  least two values; with fewer it is NaN (reported as "n/a"), never a made-up width.
- **Paired test**: the exact two-sided sign-flip permutation test on the per-sample differences
  of two models over the samples both have a score for, computed on exact integers (judge
  scores x 7 x epochs x judges, correctness x epochs): no normal approximation, no float noise.
  For 0/1 correctness it is the exact sign test (binomial, p = 1/2, on the samples where exactly
  one of the two is right). Two models with no differing sample have p = 1. (The Wilcoxon test
  used before fell back to a normal approximation with ties and zeros and split models that
  differ on 5 of 600 samples, all one way: exact p = 0.0625.)
- **Multiple comparisons**: all pairs of one board form one family; p-values are adjusted with
  Holm's step-down method (family-wise error rate 0.05), so adding models does not manufacture
  "significant" differences.
- **Ranks**: a model's rank is 1 + the number of models on the board that are significantly
  better than it (adjusted p < 0.05 and a higher mean on the shared samples). Models with no
  significant difference between them usually share a rank; because "not significantly
  different" is not transitive, each row also lists exactly which models it is tied with.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
ALPHA = 0.05
N_RESAMPLES = 10_000
SEED = 20260122
# Values drawn per bootstrap batch (batch x n): bounds memory (16 MB of indices) while small boards
# resample in one batch; per-batch overhead dominated the leaderboard's run time with 500.
_BATCH_VALUES = 2_000_000


def _batch(n: int) -> int:
    return max(1, min(N_RESAMPLES, _BATCH_VALUES // max(n, 1)))


METHOD: dict[str, str] = {
    "confidence_interval": (
        f"{CONFIDENCE:.0%} percentile bootstrap (scipy.stats.bootstrap, {N_RESAMPLES:,} resamples of the "
        f"samples, seed {SEED}); macro-F1 resampled as (gold, prediction) pairs; n/a with fewer than 2 values"
    ),
    "paired_test": (
        "exact two-sided sign-flip permutation test on the per-sample differences of two rows over the "
        "samples both have a score for, computed on exact integers (generation: overall judge score x 7; "
        "emotion: 0/1 correctness, where the test is the exact sign test, binomial p = 1/2 on the samples "
        "where exactly one row is right); zero differences carry no sign; no normal approximation"
    ),
    "multiple_comparisons": (f"Holm step-down adjustment over all pairs of a board (family-wise error rate {ALPHA})"),
    "rank": (
        "rank = 1 + number of rows on the same board significantly better (adjusted p < "
        f"{ALPHA} and higher mean on the shared samples); rows not significantly different usually "
        "share a rank, and 'tied with' lists them exactly"
    ),
    "length_control": (
        "overall score at a common reply length: the judge audit's method (scorers/agreement/length.py, "
        "length_controlled_means; docs/audit.md): OLS of each sample's overall score on one indicator per "
        "candidate and a common slope in log characters per supporter reply, so each candidate's value is its "
        "mean predicted at the reference length, with the OLS 95% CI. Reference length: the geometric mean reply "
        "length of the human reference row when the board has one, else the median over the board's replies. "
        "n/a when reply length does not vary within candidates (the slope cannot be estimated)"
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


def _scipy_stats():  # noqa: ANN202 - the scipy.stats module
    # Imported on first use: about 0.9 s of start-up, not needed when every interval is cached.
    from scipy import stats

    return stats


class IntervalCache:
    """Bootstrap intervals by content: the key is a hash of the method's constants and the values
    themselves, so a cached interval is the one ``mean_ci`` / ``macro_f1_ci`` would compute again
    (same values, same seed, same resamples). Kept as one JSON file beside the log cache."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, list[float | int | None]] = {}
        self.used: set[str] = set()
        if path is not None and path.exists():
            try:
                self.entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    @staticmethod
    def key(kind: str, *parts: bytes) -> str:
        digest = hashlib.sha256(f"{kind}|{CONFIDENCE}|{N_RESAMPLES}|{SEED}|percentile".encode())
        for part in parts:
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        return digest.hexdigest()[:32]

    def get(self, key: str) -> Interval | None:
        hit = self.entries.get(key)
        if hit is None:
            return None
        self.used.add(key)
        return Interval(*(float("nan") if v is None else v for v in hit[:3]), int(hit[3]))

    def put(self, key: str, iv: Interval) -> None:
        self.used.add(key)
        self.entries[key] = [None if math.isnan(v) else v for v in (iv.estimate, iv.low, iv.high)] + [iv.n]

    def save(self) -> None:
        """Write the intervals used by this build (older ones are dropped)."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({k: self.entries[k] for k in sorted(self.used)}), encoding="utf-8")


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
    low, high = _bootstrap_mean(x, n)
    return Interval(est, float(low[0]), float(high[0]), n)


def _bootstrap_mean(data: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the mean along the last axis (rows resampled together, same
    seed for every call): the low and high bounds, one per row (one for a 1-D array)."""
    res = _scipy_stats().bootstrap(
        (data,),
        np.mean,
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        vectorized=True,
        batch=_batch(n),
        rng=_rng(),
        axis=-1,
    )
    return np.atleast_1d(res.confidence_interval.low), np.atleast_1d(res.confidence_interval.high)


def mean_cis(
    columns: Mapping[str, Sequence[float] | np.ndarray | pd.Series], cache: IntervalCache | None = None
) -> dict[str, Interval]:
    """``mean_ci`` of several columns of one run, with one bootstrap per group of columns that
    have the same missing values: scipy resamples the rows of a (columns x samples) array
    together, with the same indices a separate ``mean_ci`` call draws (same seed), so the
    intervals are identical to ``mean_ci``'s and a run's ten columns cost two bootstraps."""
    out: dict[str, Interval] = {}
    groups: dict[bytes, list[str]] = {}
    arrays = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
    for key, x in arrays.items():
        groups.setdefault(np.isnan(x).tobytes() + str(len(x)).encode(), []).append(key)
    for keys in groups.values():
        present = ~np.isnan(arrays[keys[0]])
        data = np.stack([arrays[k][present] for k in keys])
        n = data.shape[1]
        if cache is not None:
            cached = {k: cache.get(cache.key("mean", data[i].tobytes())) for i, k in enumerate(keys)}
            if all(v is not None for v in cached.values()):
                out.update(cached)  # type: ignore[arg-type]
                continue
        varying = [i for i, k in enumerate(keys) if n >= 2 and not np.all(data[i] == data[i][0])]
        for i, k in enumerate(keys):
            if i not in varying:
                out[k] = mean_ci(data[i])  # empty, a single value or a constant: no resampling
        if varying:
            lows, highs = _bootstrap_mean(data[varying], n)
            for j, i in enumerate(varying):
                out[keys[i]] = Interval(float(np.mean(data[i])), float(lows[j]), float(highs[j]), n)
        if cache is not None:
            for i, k in enumerate(keys):
                cache.put(cache.key("mean", data[i].tobytes()), out[k])
    return out


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


def macro_f1_ci(golds: Sequence[str], preds: Sequence[str | None], cache: IntervalCache | None = None) -> Interval:
    """Macro-F1 of predicted vs gold labels with a paired percentile bootstrap CI."""
    n = len(golds)
    if n != len(preds):
        raise ValueError(f"golds and preds differ in length: {n} vs {len(preds)}")
    if cache is not None:
        key = cache.key("macro_f1", json.dumps([list(golds), list(preds)]).encode("utf-8"))
        hit = cache.get(key)
        if hit is not None:
            return hit
        iv = macro_f1_ci(golds, preds)
        cache.put(key, iv)
        return iv
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

    res = _scipy_stats().bootstrap(
        (g, p),
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=N_RESAMPLES,
        batch=_batch(n),
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=_rng(),
    )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if np.isnan(low):  # every resample gave the same value (scipy warns and returns NaN)
        low = high = est
    return Interval(est, low, high, n)


def integer_scores(
    scores: Mapping[str, pd.Series], max_denominator: int = 10_000
) -> tuple[dict[str, pd.Series], int] | None:
    """The per-sample scores of a board as integers on one common scale, or None if they are not
    discrete.

    Judge scores are means of seven integers (over epochs and judges too), accuracy is 0/1 (or a
    share of epochs): each value is a fraction with a small denominator. Recovering that fraction
    (``Fraction.limit_denominator``) and multiplying by the least common multiple of the
    denominators gives exact integers, so equal differences are equal, never off in the last
    float digit. Returns the integer Series (NaN kept as missing) and the scale.
    """
    fractions: dict[str, dict[str, Fraction]] = {}
    denominators: set[int] = set()
    cache: dict[float, Fraction] = {}
    for name, series in scores.items():
        values: dict[str, Fraction] = {}
        for sid, v in series.dropna().items():
            f = cache.get(v)
            if f is None:
                f = Fraction(float(v)).limit_denominator(max_denominator)
                if abs(float(f) - float(v)) > 1e-9 * max(1.0, abs(float(v))):
                    return None
                cache[v] = f
            values[str(sid)] = f
            denominators.add(f.denominator)
        fractions[name] = values
    scale = math.lcm(*denominators) if denominators else 1
    if scale > 10**6:
        return None
    out = {}
    for name, series in scores.items():
        ints = {sid: int(f * scale) for sid, f in fractions[name].items()}
        out[name] = pd.Series(ints, index=series.index.astype(str), dtype="Int64")
    return out, scale


@functools.lru_cache(maxsize=4096)
def _half_binomial(c: int) -> np.ndarray:
    """P(K = k), k = 0..c, for K ~ Binomial(c, 1/2): C(c, k) / 2^c from exact integers (Python's
    int / int is correctly rounded at any size), no scipy needed."""
    total = 2**c
    out = np.empty(c + 1)
    comb = 1
    for k in range(c + 1):
        out[k] = comb / total
        comb = comb * (c - k) // (k + 1)
    return out


def sign_flip_p_value(differences: Sequence[int] | np.ndarray) -> float:
    """Exact two-sided p-value of the paired sign-flip permutation test on integer differences.

    Under the null hypothesis (the two rows are exchangeable on every sample) each non-zero
    difference is equally likely to carry either sign, so the sum T of the differences is a sum
    of independent +-|d_i|. Its exact distribution is built by convolution (one binomial kernel
    per distinct |d|), and p = P(|T| >= |t observed|). With 0/1 scores this is the exact sign
    test (``scipy.stats.binomtest`` on the non-zero differences, p = 0.5); for every input it
    equals ``scipy.stats.permutation_test(..., permutation_type="samples")`` enumerating all
    2^n sign patterns (both checked in tests/test_leaderboard_stats.py), without the 2^n cost.
    """
    d = np.asarray(differences, dtype=np.int64)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    g = int(np.gcd.reduce(np.abs(d)))
    mags, counts = np.unique(np.abs(d) // g, return_counts=True)
    pmf = np.ones(1)
    for m, c in zip(mags.tolist(), counts.tolist()):
        kernel = np.zeros(2 * m * c + 1)
        kernel[:: 2 * m] = _half_binomial(c)
        pmf = np.convolve(pmf, kernel)
    total = int(np.abs(d // g).sum())  # T ranges over -total..total; pmf[i] is P(T = i - total)
    t = abs(int((d // g).sum()))
    tail = pmf[: total - t + 1].sum() + pmf[total + t :].sum() if t > 0 else 1.0
    return float(min(1.0, tail))


def paired_p_value(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of paired scores (both on the same samples, no NaN).

    Integer (or exactly fractional) scores: the exact sign-flip permutation test on the exact
    differences (``sign_flip_p_value``). Scores that are not discrete fall back to
    ``scipy.stats.permutation_test`` on the differences (exact up to 2^13 sign patterns, Monte
    Carlo with 20,000 resamples and a fixed seed beyond)."""
    a = pd.Series(np.asarray(a, dtype=float))
    b = pd.Series(np.asarray(b, dtype=float))
    if a.isna().any() or b.isna().any():
        raise ValueError("paired_p_value: NaN in the paired scores; pass only samples both have a score for")
    exact = integer_scores({"a": a, "b": b})
    if exact is not None:
        ints, _ = exact
        return sign_flip_p_value((ints["a"] - ints["b"]).astype("int64").to_numpy())
    d = (a - b).to_numpy()
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    res = _scipy_stats().permutation_test(
        (d,),
        lambda x, axis=-1: np.sum(x, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=20_000,
        alternative="two-sided",
        rng=_rng(),
    )
    return float(res.pvalue)


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
    A pair with no shared scored sample cannot be told apart: p = 1. Differences and means are
    computed on exact integers (``integer_scores``) whenever the scores are discrete.
    """
    names = list(scores)
    exact = integer_scores(scores)
    if exact is not None:
        ints, scale = exact
        frame = pd.DataFrame({n: ints[n] for n in names}).astype("float64")  # integers; NaN = no score
    else:
        frame, scale = pd.DataFrame({n: scores[n] for n in names}).astype("float64"), None
    values = {n: frame[n].to_numpy() for n in names}
    records = []
    for a, b in itertools.combinations(names, 2):
        va, vb = values[a], values[b]
        both = ~np.isnan(va) & ~np.isnan(vb)
        xa, xb = va[both], vb[both]
        n = int(both.sum())
        if exact is not None:
            sa, sb = int(xa.sum()), int(xb.sum())  # exact: integers well below 2^53
            p = sign_flip_p_value((xa - xb).astype(np.int64)) if n else 1.0
            ma, mb = (sa / scale / n, sb / scale / n) if n else (math.nan, math.nan)
            diff = Fraction(sa - sb, scale * n) if n else Fraction(0)
            test = "exact sign-flip"
        else:
            ma = float(xa.mean()) if n else math.nan
            mb = float(xb.mean()) if n else math.nan
            p = paired_p_value(xa, xb) if n else 1.0
            diff, test = ma - mb, "permutation (Monte Carlo)"
        records.append(
            {
                "a": a,
                "b": b,
                "n_shared": n,
                "n_differ": int((xa != xb).sum()),
                "mean_a": ma,
                "mean_b": mb,
                "diff": float(diff),
                "p": p,
                "test": test,
                "sign": (diff > 0) - (diff < 0),
            }
        )
    pairwise = pd.DataFrame.from_records(
        records, columns=["a", "b", "n_shared", "n_differ", "mean_a", "mean_b", "diff", "p", "test", "sign"]
    )
    pairwise["p_holm"] = holm(pairwise["p"].tolist())
    # A difference in means of exactly 0 orders nothing, whatever the test says.
    pairwise["significant"] = (pairwise["p_holm"] < ALPHA) & (pairwise["sign"] != 0)
    better: dict[str, int] = {n: 0 for n in names}
    tied: dict[str, list[str]] = {n: [] for n in names}
    for rec in pairwise.itertuples():
        if rec.significant:
            loser = rec.b if rec.sign > 0 else rec.a
            better[loser] += 1
        else:
            tied[rec.a].append(rec.b)
            tied[rec.b].append(rec.a)
    pairwise = pairwise.drop(columns="sign")
    return Ranking(rank={n: 1 + better[n] for n in names}, tied_with=tied, pairwise=pairwise)
