"""The alt-test on planted data, against a direct re-computation, and its minimum-data rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emplifai.scorers.agreement import alt_test, benjamini_yekutieli


def _planted(n_items: int = 120, n_raters: int = 4, noise: float = 0.7, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(1, 5, n_items)

    def rate() -> np.ndarray:
        return np.clip(np.floor(truth + rng.normal(0, noise, n_items) + 0.5), 1, 5)

    humans = {f"R{i}": dict(enumerate(rate())) for i in range(n_raters)}
    tracks = dict(enumerate(rate()))  # a judge exactly like one more rater
    noise_judge = dict(enumerate(rng.integers(1, 6, n_items).astype(float)))
    return humans, tracks, noise_judge


def test_judge_like_raters_passes_and_noise_fails() -> None:
    humans, tracks, noise = _planted()
    good = alt_test(tracks, humans, epsilon=0.2)
    bad = alt_test(noise, humans, epsilon=0.2)
    assert good.applicable and bad.applicable
    assert good.passed is True and good.winning_rate >= 0.5
    assert bad.passed is False and bad.winning_rate < 0.5
    assert good.advantage_probability > bad.advantage_probability


def _direct(judge: dict, humans: dict, eps: float) -> list[tuple[float, float]]:
    """The procedure written out longhand: (rho_judge, p) per rater, t statistic by formula."""
    out = []
    for r in sorted(humans):
        wf, wh = [], []
        for i in humans[r]:
            rest = [humans[o][i] for o in humans if o != r and i in humans[o]]
            sf = -math.sqrt(sum((judge[i] - a) ** 2 for a in rest) / len(rest))
            sh = -math.sqrt(sum((humans[r][i] - a) ** 2 for a in rest) / len(rest))
            wf.append(float(sf >= sh))
            wh.append(float(sh >= sf))
        d = np.array(wh) - np.array(wf)
        t = (d.mean() - eps) / (d.std(ddof=1) / math.sqrt(len(d)))
        from scipy.stats import t as student

        out.append((float(np.mean(wf)), float(student.cdf(t, len(d) - 1))))
    return out


def test_matches_direct_computation() -> None:
    humans, tracks, _ = _planted(n_items=40, seed=5)
    res = alt_test(tracks, humans, epsilon=0.15)
    direct = _direct(tracks, humans, 0.15)
    assert [p["rho_judge"] for p in res.per_rater] == pytest.approx([d[0] for d in direct])
    assert [p["p"] for p in res.per_rater] == pytest.approx([d[1] for d in direct])
    assert res.advantage_probability == pytest.approx(np.mean([d[0] for d in direct]))


def test_benjamini_yekutieli_direct() -> None:
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    m = len(p)
    c = sum(1 / i for i in range(1, m + 1))
    order = np.argsort(p)
    adj = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):  # step-up: min over ranks >= this one
        i = order[rank - 1]
        running = min(running, p[i] * m * c / rank)
        adj[i] = running
    got, rejected = benjamini_yekutieli(p, 0.05)
    assert got == pytest.approx(list(adj))
    assert rejected == [a <= 0.05 for a in adj]


def test_minimum_data_rules_stated() -> None:
    humans, tracks, _ = _planted(n_items=29)
    res = alt_test(tracks, humans, epsilon=0.2)
    assert not res.applicable and res.passed is None and res.n_raters_tested == 0
    assert any("29 usable items (< 30)" in r for r in res.reasons)
    humans, tracks, _ = _planted(n_items=40, n_raters=2)
    res = alt_test(tracks, humans, epsilon=0.2)
    assert not res.applicable and res.n_raters_tested == 2
    assert any("needs >= 3" in r for r in res.reasons)
    # Items rated by a single rater are not usable (no one left to compare with).
    humans = {"A": {i: 3.0 for i in range(40)}, "B": {i: 3.0 for i in range(40, 80)}, "C": {i: 3.0 for i in range(80, 120)}}
    res = alt_test({i: 3.0 for i in range(120)}, humans, epsilon=0.2)
    assert res.n_items == 0 and not res.applicable
    assert "winning rate >= 0.5" in res.rules and "Benjamini-Yekutieli" in res.rules


def test_constant_differences_have_a_defined_p() -> None:
    humans = {r: {i: 3.0 for i in range(30)} for r in "ABC"}
    res = alt_test({i: 3.0 for i in range(30)}, humans, epsilon=0.1)  # every comparison a tie: d = 0 < eps
    assert res.passed is True and all(p["p"] == 0.0 for p in res.per_rater)


def test_small_sample_uses_the_wilcoxon_signed_rank_test() -> None:
    """Below 30 items per rater (allowed with min_items_per_rater < 30): scipy's Wilcoxon on d - epsilon,
    the authors' recommendation when the t-test's normality cannot be assumed."""
    from scipy import stats

    humans, tracks, _ = _planted(n_items=12, seed=4)
    res = alt_test(tracks, humans, epsilon=0.15, min_items_per_rater=10)
    assert res.applicable and res.small_sample and "Wilcoxon" in res.rules
    direct = []
    for r in sorted(humans):
        wf, wh = [], []
        for i in humans[r]:
            rest = [humans[o][i] for o in humans if o != r]
            sf = -math.sqrt(sum((tracks[i] - a) ** 2 for a in rest) / len(rest))
            sh = -math.sqrt(sum((humans[r][i] - a) ** 2 for a in rest) / len(rest))
            wf.append(float(sf >= sh))
            wh.append(float(sh >= sf))
        direct.append(stats.wilcoxon(np.array(wh) - np.array(wf) - 0.15, alternative="less").pvalue)
    assert [p["p"] for p in res.per_rater] == pytest.approx(direct)
    assert all(p["test"] == "wilcoxon" for p in res.per_rater)
    big = alt_test(tracks, humans, epsilon=0.15)
    assert not big.applicable and not big.small_sample  # the default minimum (30) is unchanged
