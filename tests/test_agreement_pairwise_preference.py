"""Judge vs implied human preference (scorers/agreement/pairwise_preference.py), checked against
direct computations: kappa from the confusion matrix by hand, the bootstrap against a NumPy one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emplifai.scorers.agreement.pairwise_preference import implied_preference, kappa, preference_agreement


def _kappa_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    cats = [0.0, 0.5, 1.0]
    po = float(np.mean(a == b))
    pe = sum(float(np.mean(a == c)) * float(np.mean(b == c)) for c in cats)
    return (po - pe) / (1 - pe)


def test_implied_preference() -> None:
    assert implied_preference(3.67, 2.0) == 1.0
    assert implied_preference(2.0, 3.67) == 0.0
    assert implied_preference(3.0, 3.0) == 0.5
    assert implied_preference(3.2, 3.0, tie_margin=0.34) == 0.5
    assert math.isnan(implied_preference(math.nan, 3.0))
    with pytest.raises(ValueError):
        implied_preference(1.0, 2.0, tie_margin=-1)


def test_agreement_kappa_and_confusion_against_a_direct_computation() -> None:
    rng = np.random.default_rng(11)
    human_c = rng.integers(1, 6, 200).astype(float)
    human_b = rng.integers(1, 6, 200).astype(float)
    implied = np.sign(human_c - human_b) / 2 + 0.5
    # A judge that agrees with the humans on 70% of pairs and answers at random otherwise.
    judge = np.where(rng.random(200) < 0.7, implied, rng.choice([0.0, 0.5, 1.0], 200))
    res = preference_agreement(judge, human_c, human_b)
    assert res.n == 200
    assert res.agreement == pytest.approx(float(np.mean(judge == implied)))
    assert res.kappa == pytest.approx(_kappa_by_hand(judge, implied))
    decisive = (judge != 0.5) & (implied != 0.5)
    assert res.decisive_agreement == pytest.approx(float(np.mean(judge[decisive] == implied[decisive])))
    assert res.n_decisive == int(decisive.sum())
    assert res.confusion["win"]["win"] == int(np.sum((judge == 1) & (implied == 1)))
    assert sum(sum(row.values()) for row in res.confusion.values()) == 200
    assert res.judge_tie_rate == pytest.approx(float(np.mean(judge == 0.5)))
    # The kappa CI against a plain NumPy percentile bootstrap of the same statistic.
    idx = rng.integers(0, 200, size=(1500, 200))
    boot = np.array([_kappa_by_hand(judge[i], implied[i]) for i in idx])
    assert res.kappa_ci is not None
    assert res.kappa_ci[0] == pytest.approx(np.quantile(boot, 0.025), abs=0.02)
    assert res.kappa_ci[1] == pytest.approx(np.quantile(boot, 0.975), abs=0.02)
    assert res.agreement_ci is not None and res.agreement_ci[0] < res.agreement < res.agreement_ci[1]


def test_degenerate_cases() -> None:
    # Every pair a tie on both sides: perfect agreement, kappa undefined.
    res = preference_agreement([0.5] * 5, [3.0] * 5, [3.0] * 5)
    assert res.agreement == 1.0 and res.kappa is None and res.kappa_ci is None
    # Perfect agreement with variation: kappa 1.
    res = preference_agreement([1.0, 0.0, 0.5, 1.0], [4, 2, 3, 5], [3, 3, 3, 1])
    assert res.kappa == pytest.approx(1.0) and res.agreement == 1.0
    # Unrated pairs and unscored ones are left out.
    res = preference_agreement([1.0, math.nan, 0.0], [4.0, 4.0, math.nan], [3.0, 3.0, 3.0])
    assert res.n == 1 and res.agreement_ci is None
    empty = preference_agreement([], [], [])
    assert empty.n == 0 and empty.agreement is None and empty.kappa is None
    with pytest.raises(ValueError, match="0, 0.5 or 1"):
        preference_agreement([0.75], [3.0], [2.0])
    with pytest.raises(ValueError, match="differ in length"):
        preference_agreement([1.0], [3.0, 1.0], [2.0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0]), st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=30))
def test_kappa_matches_the_hand_formula_and_is_bounded(rows: list[tuple[float, int, int]]) -> None:
    j, c, b = (np.array(x, dtype=float) for x in zip(*rows))
    res = preference_agreement(j, c, b, n_resamples=50)
    implied = np.sign(c - b) / 2 + 0.5
    assert res.agreement == pytest.approx(float(np.mean(j == implied)))
    if res.kappa is None:
        assert len(set(j.tolist()) | set(implied.tolist())) == 1
    else:
        assert -1.0 <= res.kappa <= 1.0 + 1e-12
        assert res.kappa == pytest.approx(_kappa_by_hand(j, implied))
        assert kappa(implied, j) == pytest.approx(res.kappa)  # symmetric


def _numpy_difference_ci(a: np.ndarray, b: np.ndarray, h: np.ndarray, n: int = 2000) -> tuple[float, float]:
    """A percentile bootstrap of kappa(a, h) - kappa(b, h) written with NumPy indices (no SciPy)."""
    rng = np.random.default_rng(5)
    diffs = []
    for _ in range(n):
        i = rng.integers(0, len(a), len(a))
        if len(set(a[i]) | set(h[i])) > 1 and len(set(b[i]) | set(h[i])) > 1:
            diffs.append(_kappa_by_hand(a[i], h[i]) - _kappa_by_hand(b[i], h[i]))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return float(low), float(high)


def test_kappa_difference_finds_the_better_judge_and_matches_a_numpy_bootstrap() -> None:
    from emplifai.scorers.agreement.pairwise_preference import kappa_difference

    rng = np.random.default_rng(3)
    human = rng.choice([0.0, 0.5, 1.0], 300)
    good = np.where(rng.random(300) < 0.8, human, rng.choice([0.0, 0.5, 1.0], 300))
    poor = np.where(rng.random(300) < 0.2, human, rng.choice([0.0, 0.5, 1.0], 300))
    res = kappa_difference(good, poor, human)
    assert res.difference == pytest.approx(_kappa_by_hand(good, human) - _kappa_by_hand(poor, human))
    assert res.reading == "pairwise agrees more"
    low, high = _numpy_difference_ci(good, poor, human)
    assert res.ci is not None
    assert res.ci[0] == pytest.approx(low, abs=0.03) and res.ci[1] == pytest.approx(high, abs=0.03)
    assert kappa_difference(poor, good, human).reading == "absolute agrees more"
    # The same judge twice: the difference is 0 in every resample.
    same = kappa_difference(good, good, human)
    assert same.difference == 0 and same.ci == (0.0, 0.0) and same.reading == "no difference shown"


def test_kappa_difference_degenerate_cases() -> None:
    from emplifai.scorers.agreement.pairwise_preference import MIN_PAIRS, kappa_difference

    h = np.array([1.0, 0.0, 0.5] * 5)
    # A judge with one answer throughout against humans who also gave one: kappa undefined.
    const = np.full(15, 0.5)
    assert kappa_difference(const, h, const).reading == "undefined"
    few = kappa_difference(h[: MIN_PAIRS - 1], h[::-1][: MIN_PAIRS - 1], h[: MIN_PAIRS - 1])
    assert few.reading == "too few pairs" and few.ci is None and few.difference is not None
    nan_pairs = kappa_difference([*h, math.nan], [*h, 1.0], [*h, 1.0])
    assert nan_pairs.n == len(h)


def test_preference_reading_follows_the_rule() -> None:
    from emplifai.scorers.agreement.pairwise_preference import MIN_PAIRS, preference_reading

    rng = np.random.default_rng(8)
    hc, hb = rng.integers(1, 6, 120).astype(float), rng.integers(1, 6, 120).astype(float)
    implied = np.sign(hc - hb) / 2 + 0.5
    assert preference_reading(preference_agreement(implied, hc, hb)) == "agrees beyond chance"
    # Reversed on every decisive pair, and never a tie where people saw one.
    reversed_ = np.where(implied == 0.5, 1.0, 1 - implied)
    assert preference_reading(preference_agreement(reversed_, hc, hb)) == "worse than chance"
    noise = rng.choice([0.0, 0.5, 1.0], 120)
    assert preference_reading(preference_agreement(noise, hc, hb)) == "not shown beyond chance"
    assert preference_reading(preference_agreement(implied[: MIN_PAIRS - 1], hc[: MIN_PAIRS - 1],
                                                   hb[: MIN_PAIRS - 1])) == "too few pairs"
    assert preference_reading(preference_agreement(np.full(12, 0.5), np.full(12, 3.0), np.full(12, 3.0))) == "undefined"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from([0.0, 0.5, 1.0])), min_size=1, max_size=40))
def test_vectorised_kappa_equals_sklearn(pairs: list[tuple[float, float]]) -> None:
    """The bootstrap's kappa (all resamples at once) is sklearn's cohen_kappa_score, NaN where undefined."""
    from sklearn.metrics import cohen_kappa_score

    from emplifai.scorers.agreement.pairwise_preference import kappa_along

    a, b = (np.array(x) for x in zip(*pairs, strict=True))
    got = float(kappa_along(a, b))
    codes = [np.rint(x * 2).astype(int) for x in (a, b)]
    if len(set(a) | set(b)) == 1:
        assert math.isnan(got)
        return
    with np.errstate(all="ignore"):
        want = cohen_kappa_score(*codes, labels=[0, 1, 2])
    assert got == pytest.approx(want, abs=1e-12) if not math.isnan(want) else math.isnan(got)
    # Along an axis: two resamples stacked give the two kappas.
    stacked = kappa_along(np.stack([a, a[::-1]]), np.stack([b, b[::-1]]), axis=-1)
    assert stacked[0] == pytest.approx(got, nan_ok=True)
