"""The trust verdict of a probe run: each branch of TRUST_RULE on hand-made metrics."""

from __future__ import annotations

import math

import pytest

from emplifai.probes.trust import MIN_PAIRS, TRUST_RULE, trust_verdict


def metrics(acc: float, acc_ci: tuple[float, float], vio: float, vio_ci: tuple[float, float],
            n_deg: int = 40, n_inv: int = 30) -> dict[str, float]:
    return {
        "probe_accuracy": acc, "probe_accuracy_ci_low": acc_ci[0], "probe_accuracy_ci_high": acc_ci[1],
        "invariance_violation_rate": vio, "invariance_violation_rate_ci_low": vio_ci[0],
        "invariance_violation_rate_ci_high": vio_ci[1], "degrading_probes": n_deg, "invariance_probes": n_inv,
    }


@pytest.mark.parametrize(
    ("m", "verdict", "phrase"),
    [
        (metrics(0.9, (0.8, 0.97), 0.1, (0.03, 0.23)), "consistent", "caught 36 of 40 degrading probes"),
        (metrics(0.1, (0.03, 0.2), 0.1, (0.03, 0.23)), "not to be trusted", "moved its scores on 3 of 30"),
        (metrics(0.9, (0.8, 0.97), 0.8, (0.6, 0.93)), "not to be trusted", "should not stand in"),
        (metrics(0.6, (0.45, 0.75), 0.2, (0.07, 0.37)), "inconclusive", "straddle 0.5"),
        (metrics(1.0, (1.0, 1.0), 0.0, (0.0, 0.0), n_deg=1, n_inv=1), "too few pairs", "caught 1 of 1"),
        (metrics(1.0, (1.0, 1.0), 0.0, (0.0, 0.0), n_deg=MIN_PAIRS, n_inv=MIN_PAIRS - 1), "too few pairs", "not a verdict"),
    ],
)
def test_verdicts(m: dict[str, float], verdict: str, phrase: str) -> None:
    got, sentence = trust_verdict(m)
    assert got == verdict and phrase in sentence
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence


def test_no_usable_pairs() -> None:
    nan = math.nan
    got, sentence = trust_verdict(metrics(nan, (nan, nan), nan, (nan, nan), n_deg=0, n_inv=0))
    assert got == "no usable pairs" and "says nothing" in sentence
    assert trust_verdict({})[0] == "no usable pairs"


def test_the_rule_names_its_thresholds() -> None:
    assert str(MIN_PAIRS) in TRUST_RULE and "0.5" in TRUST_RULE and "95%" in TRUST_RULE


def test_the_demo_prints_both_figures_the_verdict_and_its_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from emplifai.demo import _print_probe_verdict

    m = metrics(1.0, (1.0, 1.0), 1.0, (1.0, 1.0), n_deg=1, n_inv=1)
    score = SimpleNamespace(name="probe_judge", metrics={k: SimpleNamespace(value=v) for k, v in m.items()})
    _print_probe_verdict(SimpleNamespace(results=SimpleNamespace(scores=[score])))
    out = capsys.readouterr().out
    assert "judge probe accuracy: 1.00 over 1 pair(s); invariance violations: 1.00 over 1 pair(s)" in out
    assert "trust verdict: too few pairs. The judge caught 1 of 1 degrading probes" in out
    assert TRUST_RULE in out

    nan = math.nan
    empty = metrics(nan, (nan, nan), nan, (nan, nan), n_deg=0, n_inv=0)
    score.metrics = {k: SimpleNamespace(value=v) for k, v in empty.items()}
    _print_probe_verdict(SimpleNamespace(results=SimpleNamespace(scores=[score])))
    out = capsys.readouterr().out
    assert "judge probe accuracy: none (no usable pair of degrading probes)" in out
    assert "trust verdict: no usable pairs." in out
