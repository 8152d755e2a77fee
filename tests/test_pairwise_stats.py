"""The pairwise statistics (scorers/pairwise_stats.py), each checked against an independent
computation: the order rule against its full table, the bootstrap against a direct NumPy
bootstrap, the length-controlled win rate against statsmodels' binomial GLM on a planted length
effect, the length feature against pandas."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from emplifai.scorers.pairwise_stats import (
    bootstrap_ci,
    candidate_outcome,
    combine_orders,
    first_position_share,
    format_outcome,
    length_controlled_ci,
    length_controlled_win_rate,
    length_feature,
)

# (answer with the candidate as A, answer with the candidate as B) -> (outcome, consistent)
TABLE = {
    ("A", "B"): (1.0, True),  # the candidate both times
    ("B", "A"): (0.0, True),  # the baseline both times
    ("tie", "tie"): (0.5, True),
    ("A", "A"): (0.5, False),  # whatever is shown first: position bias
    ("B", "B"): (0.5, False),  # whatever is shown second
    ("A", "tie"): (0.5, False),
    ("tie", "B"): (0.5, False),
    ("B", "tie"): (0.5, False),
    ("tie", "A"): (0.5, False),
}


@pytest.mark.parametrize(("answers", "expected"), TABLE.items())
def test_combine_orders_full_table(answers: tuple[str, str], expected: tuple[float, bool]) -> None:
    assert combine_orders(*answers) == expected


def test_candidate_outcome_and_bad_values() -> None:
    assert candidate_outcome("A", "A") == 1.0 and candidate_outcome("A", "B") == 0.0
    assert candidate_outcome("tie", "B") == 0.5
    with pytest.raises(ValueError, match="preferred"):
        candidate_outcome("a", "A")
    with pytest.raises(ValueError, match="candidate_label"):
        candidate_outcome("A", "C")


def test_format_outcome() -> None:
    assert format_outcome(True, False) == 1.0
    assert format_outcome(False, True) == 0.0
    assert format_outcome(False, False) == 0.5
    with pytest.raises(ValueError):
        format_outcome(True, True)


def test_bootstrap_ci_against_a_direct_numpy_bootstrap() -> None:
    rng = np.random.default_rng(7)
    values = rng.choice([0.0, 0.5, 1.0], size=300, p=[0.3, 0.2, 0.5])
    low, high = bootstrap_ci(values)
    # A plain percentile bootstrap, written out: 20,000 means of resamples with replacement.
    means = values[rng.integers(0, len(values), size=(20_000, len(values)))].mean(axis=1)
    assert low == pytest.approx(np.quantile(means, 0.025), abs=0.006)
    assert high == pytest.approx(np.quantile(means, 0.975), abs=0.006)
    assert low < values.mean() < high
    assert bootstrap_ci(values) == (low, high)  # fixed seed: reproducible


def test_bootstrap_ci_degenerate_cases() -> None:
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_ci([0.5]))
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([0.0, math.nan, 0.0]) == (0.0, 0.0)  # NaN (unscored) left out


def test_length_feature_is_alpacaeval_tanh_of_pandas_standardised_difference() -> None:
    cand, base = np.array([120.0, 300.0, 80.0, 150.0]), np.array([100.0, 100.0, 130.0, 150.0])
    d = pd.Series(cand - base)
    assert length_feature(cand, base) == pytest.approx(np.tanh(d / d.std()).to_numpy())
    assert list(length_feature([5.0, 5.0], [3.0, 3.0])) == [1.0, 1.0]  # sd 0: the sign


def _planted(n: int, intercept: float, slope: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes from logit P(win) = intercept + slope * tanh(d / sd(d)): each pair the mean of two
    draws (two judged orders), so 0, 0.5 (a tie) or 1 with expectation P(win)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(130, 30, n)
    cand = base + rng.normal(60, 70, n)  # the candidate writes longer replies
    p = 1 / (1 + np.exp(-(intercept + slope * length_feature(cand, base))))
    y = ((rng.random(n) < p).astype(float) + (rng.random(n) < p).astype(float)) / 2
    return y, cand, base


def _statsmodels(y: np.ndarray, cand: np.ndarray, base: np.ndarray) -> np.ndarray:
    x = length_feature(cand, base)
    return sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit().params


def test_length_controlled_win_rate_matches_statsmodels_on_a_planted_length_effect() -> None:
    y, cand, base = _planted(600, intercept=0.0, slope=2.0, seed=3)
    lc = length_controlled_win_rate(y, cand, base)
    b0, b1 = _statsmodels(y, cand, base)
    assert lc.intercept == pytest.approx(b0, abs=1e-6) and lc.slope == pytest.approx(b1, abs=1e-6)
    assert lc.lc_win_rate == pytest.approx(1 / (1 + math.exp(-b0)), abs=1e-6)
    assert lc.win_rate == pytest.approx(y.mean()) and lc.n == 600 and lc.note == ""
    # The planted judge favours length only: the raw win rate is inflated, the controlled one is
    # back near the planted 0.5 (the slope recovered near the planted 2).
    assert lc.win_rate > 0.6
    assert abs(lc.lc_win_rate - 0.5) < 0.06
    assert 1.5 < lc.slope < 2.5


def test_length_controlled_ci_against_a_numpy_bootstrap_of_statsmodels_fits() -> None:
    y, cand, base = _planted(150, intercept=0.4, slope=1.5, seed=9)
    low, high, dropped = length_controlled_ci(y, cand, base)
    lc = length_controlled_win_rate(y, cand, base).lc_win_rate
    assert low < lc < high and dropped == 0
    # The same estimator, refitted with statsmodels on 600 resamples drawn with NumPy.
    rng = np.random.default_rng(1)
    draws = []
    for idx in rng.integers(0, len(y), size=(600, len(y))):
        b0, _ = _statsmodels(y[idx], cand[idx], base[idx])
        draws.append(1 / (1 + math.exp(-b0)))
    assert low == pytest.approx(np.quantile(draws, 0.025), abs=0.03)
    assert high == pytest.approx(np.quantile(draws, 0.975), abs=0.03)
    assert length_controlled_ci([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])[:2] != (0.0, 0.0)
    assert all(math.isnan(v) for v in length_controlled_ci([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [2.0] * 3)[:2])


def test_an_estimate_outside_the_data_is_marked_extrapolated() -> None:
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0, 1.0])
    cand = np.array([130.0, 140.0, 150.0, 160.0, 170.0, 200.0])  # always longer than the baseline
    lc = length_controlled_win_rate(y, cand, [100.0] * 6)
    assert not math.isnan(lc.lc_win_rate) and lc.note.startswith("extrapolated")
    mixed = length_controlled_win_rate(y, [90.0, 140.0, 150.0, 80.0, 170.0, 200.0], [100.0] * 6)
    assert mixed.note == ""


def test_no_length_difference_gives_the_raw_win_rate() -> None:
    y = np.array([1.0, 0.0, 0.5, 1.0, 1.0])
    lc = length_controlled_win_rate(y, [100.0] * 5, [100.0] * 5)
    assert lc.lc_win_rate == pytest.approx(y.mean(), abs=1e-6)  # intercept-only MLE = logit(mean)
    assert lc.slope == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("y", "cand", "why"),
    [
        ([1.0, 1.0, 1.0], [10.0, 20.0, 30.0], "same outcome"),
        ([0.0, 0.0, 1.0, 1.0], [10.0, 20.0, 30.0, 40.0], "separated"),  # longer always wins
        ([1.0], [10.0], "fewer than 2"),
        ([1.0, 0.0, 0.5], [30.0, 30.0, 30.0], "does not vary"),  # every candidate 10 longer
    ],
)
def test_no_estimate_without_a_maximum_likelihood_estimate(y: list[float], cand: list[float], why: str) -> None:
    lc = length_controlled_win_rate(y, cand, [20.0] * len(y))
    assert math.isnan(lc.lc_win_rate) and why in lc.note


def test_nan_pairs_are_left_out_and_bad_input_refused() -> None:
    y, cand, base = _planted(80, 0.3, 1.0, seed=5)
    full = length_controlled_win_rate(y, cand, base)
    with_nan = length_controlled_win_rate([*y, math.nan], [*cand, 100.0], [*base, 90.0])
    assert with_nan.lc_win_rate == pytest.approx(full.lc_win_rate) and with_nan.n == 80
    with pytest.raises(ValueError, match="differ in length"):
        length_controlled_win_rate([1.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        length_controlled_win_rate([2.0, 0.0], [1.0, 2.0], [1.0, 1.0])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 1.0]), st.integers(20, 400), st.integers(20, 400)),
        min_size=3, max_size=40,
    )
)
def test_length_controlled_agrees_with_statsmodels_or_says_why_not(rows: list[tuple[float, int, int]]) -> None:
    y, cand, base = (np.array(c, dtype=float) for c in zip(*rows))
    lc = length_controlled_win_rate(y, cand, base)
    if math.isnan(lc.lc_win_rate):
        assert lc.note
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b0, _ = _statsmodels(y, cand, base)
    # A steep fit extrapolated to zero difference can round to exactly 0 or 1 in float64.
    assert 0.0 <= lc.lc_win_rate <= 1.0
    assert lc.lc_win_rate == pytest.approx(1 / (1 + math.exp(-b0)), abs=1e-4)


def test_first_position_share() -> None:
    assert first_position_share(14, 0) == 1.0
    assert first_position_share(7, 7) == 0.5
    assert math.isnan(first_position_share(0, 0))


def test_length_differences_that_tanh_maps_to_one_value_give_no_estimate() -> None:
    # Found by the property test above: differences 11, 10, 11 are 17-19 sd from zero, tanh maps
    # them to 1.0 within 2e-15, and sklearn and statsmodels then extrapolated different numbers.
    lc = length_controlled_win_rate([0.0, 0.5, 0.5], [110.0, 60.0, 32.0], [99.0, 50.0, 21.0])
    assert math.isnan(lc.lc_win_rate) and "does not vary" in lc.note
