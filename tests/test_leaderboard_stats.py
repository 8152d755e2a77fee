"""Bootstrap CIs, macro-F1, paired tests, Holm and tie-aware ranks against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from emplifai.leaderboard.stats import (
    ALPHA,
    holm,
    integer_scores,
    macro_f1_ci,
    macro_f1_from_codes,
    mean_ci,
    paired_p_value,
    sign_flip_p_value,
    tie_aware_ranks,
)
from emplifai.scorers.label_match import macro_f1_score


def numpy_percentile_bootstrap(x: np.ndarray, seed: int = 7, resamples: int = 20_000) -> tuple[float, float]:
    """A direct percentile bootstrap, independent of scipy's implementation."""
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(resamples, len(x)), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@pytest.mark.parametrize("values", [
    [4, 5, 3, 4, 4, 5, 2, 4, 3, 5],
    [1, 1, 1, 5, 5, 5, 3, 3, 2, 4, 4, 1, 5, 2, 3],
    list(np.random.default_rng(3).integers(0, 2, 200)),
])
def test_mean_ci_matches_a_direct_bootstrap(values):
    iv = mean_ci(values)
    lo, hi = numpy_percentile_bootstrap(np.asarray(values, dtype=float))
    assert iv.estimate == pytest.approx(np.mean(values))
    spread = np.std(values) / np.sqrt(len(values))
    # Two Monte-Carlo bootstraps agree to a small share of the standard error.
    assert iv.low == pytest.approx(lo, abs=0.15 * spread + 1e-9)
    assert iv.high == pytest.approx(hi, abs=0.15 * spread + 1e-9)
    assert iv.low < iv.estimate < iv.high


def test_mean_ci_edge_cases():
    assert mean_ci([3, 3, 3]).low == mean_ci([3, 3, 3]).high == 3.0  # no spread: a point
    one = mean_ci([4.0, float("nan")])
    assert one.estimate == 4.0 and one.n == 1 and np.isnan(one.low) and np.isnan(one.high)
    empty = mean_ci([float("nan")])
    assert empty.n == 0 and np.isnan(empty.estimate)


def test_mean_ci_is_reproducible():
    x = [1, 2, 3, 4, 5, 2, 3]
    assert mean_ci(x) == mean_ci(x)


def test_macro_f1_equals_scikit_learn_and_the_scorer():
    rng = np.random.default_rng(0)
    labels = ["joy", "fear", "sadness", "relief", "anger"]
    for _ in range(20):
        golds = [labels[i] for i in rng.integers(0, 4, 30)]  # "anger" never gold
        preds = [None if rng.random() < 0.15 else labels[i] for i in rng.integers(0, 5, 30)]
        expected = macro_f1_score(golds, preds)
        present = sorted(set(golds) | {p for p in preds if p})
        sk = f1_score(golds, ["<u>" if p is None else p for p in preds], labels=present, average="macro", zero_division=0)
        assert expected == pytest.approx(sk)
        assert macro_f1_ci(golds, preds).estimate == pytest.approx(expected)


def test_macro_f1_vectorises_over_resamples():
    gold = np.array([[0, 0, 1, 2], [1, 1, 1, 1]])
    pred = np.array([[0, -1, 1, 1], [1, 0, -1, 1]])
    got = macro_f1_from_codes(gold, pred, 3)
    for row in range(2):
        g = gold[row].tolist()
        p = [None if v < 0 else v for v in pred[row].tolist()]
        assert got[row] == pytest.approx(macro_f1_score([str(v) for v in g], [None if v is None else str(v) for v in p]))


def test_macro_f1_ci_brackets_the_estimate():
    golds = ["joy"] * 10 + ["fear"] * 10
    preds = ["joy"] * 8 + ["fear"] * 2 + ["fear"] * 7 + [None] * 3
    iv = macro_f1_ci(golds, preds)
    assert iv.low <= iv.estimate <= iv.high and iv.high - iv.low > 0.05


def _scipy_exact_sign_flip(d) -> float:
    """The paired permutation test straight from SciPy, enumerating all 2^n sign patterns."""
    d = np.asarray(d, dtype=float)
    res = stats.permutation_test((d,), lambda x, axis=-1: np.sum(x, axis=axis), permutation_type="samples",
                                 vectorized=True, n_resamples=np.inf, alternative="two-sided")
    return float(res.pvalue)


@pytest.mark.parametrize("seed", range(6))
def test_sign_flip_p_value_equals_scipys_exact_permutation_test(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 13))
    d = rng.integers(-8, 9, n)  # zeros, ties and repeated magnitudes included
    assert sign_flip_p_value(d) == pytest.approx(_scipy_exact_sign_flip(d), rel=1e-9)


def test_sign_flip_p_value_is_the_exact_sign_test_for_correctness():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
        d = a - b
        k, n = int((d > 0).sum()), int((d != 0).sum())
        assert sign_flip_p_value(d) == pytest.approx(stats.binomtest(k, n, 0.5).pvalue, rel=1e-9)
    assert sign_flip_p_value([0, 0, 0]) == 1.0


def test_five_of_600_all_one_way_share_a_rank():
    # The case: Wilcoxon's normal approximation gave p = 0.025 and split these two.
    ids = [f"s{i}" for i in range(600)]
    a = pd.Series([1.0] * 5 + [0.0] * 595, index=ids)
    b = pd.Series([0.0] * 600, index=ids)
    r = tie_aware_ranks({"a": a, "b": b})
    [pair] = r.pairwise.to_dict("records")
    assert pair["p"] == pytest.approx(0.0625) and pair["n_differ"] == 5 and not pair["significant"]
    assert r.rank == {"a": 1, "b": 1}
    # 4 more right answers on 4,125 samples: exact p = 0.125, still one rank
    ids = [f"s{i}" for i in range(4125)]
    r = tie_aware_ranks({"a": pd.Series([1.0] * 4 + [0.0] * 4121, index=ids), "b": pd.Series(0.0, index=ids)})
    assert r.pairwise["p"].iloc[0] == pytest.approx(0.125) and r.rank == {"a": 1, "b": 1}


def test_judge_means_become_exact_integers_so_equal_differences_are_equal():
    # Means of seven integers carry float noise (sum order); on the x7 scale they are exact.
    noisy = [sum([0.1 * 7] * 10) / 7, 1 / 7 * 3, 3 / 7, 22 / 7, sum([3, 3, 4, 3, 3, 3, 3]) / 7]
    ids = [f"s{i}" for i in range(len(noisy))]
    ints, scale = integer_scores({"a": pd.Series(noisy, index=ids), "b": pd.Series([1.0] * 5, index=ids)})
    assert scale == 7
    assert ints["a"].tolist() == [7, 3, 3, 22, 22] and ints["b"].tolist() == [7] * 5
    # 1/7-steps: two differences of exactly 1/7 count as equal magnitudes
    a = pd.Series([4 / 7 + 3, 2 + 1 / 7, 5.0], index=["x", "y", "z"])
    b = pd.Series([3 / 7 + 3, 2.0, 5.0], index=["x", "y", "z"])
    assert paired_p_value(a, b) == pytest.approx(_scipy_exact_sign_flip([1, 1]))
    # a mean over two epochs (halves) and panels (a mean of three judges) stay exact too
    ints, scale = integer_scores({"a": pd.Series([3.5, 10 / 3, 1.0], index=["x", "y", "z"])})
    assert scale == 6 and ints["a"].tolist() == [21, 20, 6]


def test_continuous_scores_fall_back_to_scipys_permutation_test():
    a = np.array([0.3141592653, 0.271828182, 0.5772156649, 0.6931471805, 0.1414213562])
    b = np.zeros(5)
    assert integer_scores({"a": pd.Series(a)}) is None
    assert paired_p_value(a, b) == pytest.approx(_scipy_exact_sign_flip(a))  # 2^5 patterns: exact there too
    assert paired_p_value([1, 2, 3], [1, 2, 3]) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        paired_p_value([1.0, float("nan")], [1.0, 2.0])


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # monotone: never below an earlier step
    assert holm([]) == []


def _series(values):
    return pd.Series(values, index=[f"s{i}" for i in range(len(values))], dtype=float)


def test_ranks_share_when_not_significant_and_list_ties_exactly():
    # a beats c on every sample; b sits between them and differs from neither on enough samples.
    a = _series([1] * 12)
    b = _series([1] * 6 + [0] * 6)
    c = _series([0] * 12)
    r = tie_aware_ranks({"a": a, "b": b, "c": c})
    # a-c: 12 of 12 differ -> significant; a-b and b-c: 6 differ -> p = 2/64 > 0.05 after Holm.
    assert r.rank == {"a": 1, "b": 1, "c": 2}
    assert r.tied_with == {"a": ["b"], "b": ["a", "c"], "c": ["b"]}
    pw = r.pairwise.set_index(["a", "b"])
    assert bool(pw.loc[("a", "c"), "significant"]) and pw.loc[("a", "c"), "p_holm"] < ALPHA


def test_ranks_compare_only_shared_samples():
    a = _series([5, 5, 5, 5, 5, 5, 5, 5, float("nan"), float("nan")])
    b = _series([3, 3, 3, 3, 3, 3, 3, 3, 5, 5])
    r = tie_aware_ranks({"a": a, "b": b})
    row = r.pairwise.iloc[0]
    assert row["n_shared"] == 8 and row["mean_b"] == 3.0
    assert r.rank == {"a": 1, "b": 2}
