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
