"""The trust verdict of a probe run: each branch of TRUST_RULE on hand-made metrics, per probe kind."""

from __future__ import annotations

import math

import pytest

from emplifai.probes.kinds import DEGRADING, INVARIANT
from emplifai.probes.trust import CHECKS, MIN_BASES, TRUST_METRICS, TRUST_RULE, trust_verdict

GOOD_ACC, GOOD_VIO = (0.9, 0.8, 0.97), (0.1, 0.03, 0.23)
INJECTED_DIRECTIONS = ("invariance_violation_rate_injected_top", "invariance_violation_rate_injected_bottom")


def metrics(acc: tuple[float, float, float] = GOOD_ACC, vio: tuple[float, float, float] = GOOD_VIO,
            n_deg: int = 40, n_inv: int = 30, bases: int = 10, **kinds: tuple[float, float, float]) -> dict[str, float]:
    """A run's metrics: the pools, every kind and injection direction good unless given in ``kinds``."""
    out: dict[str, float] = {"degrading_probes": n_deg, "invariance_probes": n_inv}

    def put(name: str, triple: tuple[float, float, float]) -> None:
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = triple
        out[f"{name}_bases"] = bases

    put("probe_accuracy", acc)
    put("invariance_violation_rate", vio)
    for kind in DEGRADING:
        put(f"probe_accuracy_{kind}", kinds.get(kind, GOOD_ACC))
    for kind in INVARIANT:
        put(f"invariance_violation_rate_{kind}", kinds.get(kind, GOOD_VIO))
    for name in INJECTED_DIRECTIONS:
        put(name, kinds.get(name.rsplit("_", 2)[-2] + "_" + name.rsplit("_", 1)[-1], GOOD_VIO))
    return out


@pytest.mark.parametrize(
    ("m", "verdict", "phrases"),
    [
        (metrics(), "consistent", ["caught 36 of 40 degrading probes", "every probe kind within its bound"]),
        (metrics(acc=(0.1, 0.03, 0.2)), "not to be trusted", ["all degrading probes (accuracy 0.10 [0.03, 0.20]"]),
        (metrics(vio=(0.8, 0.6, 0.93)), "not to be trusted", ["should not stand in"]),
        (metrics(acc=(0.6, 0.45, 0.75)), "inconclusive", ["across 0.5: all degrading probes"]),
        # One kind failing its own bound is enough, and the sentence names it.
        (metrics(cold_correct=(0.0, 0.0, 0.0)), "not to be trusted", ["cold_correct (accuracy 0.00"]),
        (metrics(padded=(1.0, 1.0, 1.0)), "not to be trusted", ["padded (violation rate 1.00"]),
        (metrics(injected=(0.5, 0.5, 0.5), injected_top=(1.0, 1.0, 1.0)), "not to be trusted",
         ["injected asking for the top score (violation rate 1.00 [1.00, 1.00], 10 bases)"]),
        (metrics(injected_bottom=(0.9, 0.7, 1.0)), "not to be trusted", ["injected asking for the bottom score"]),
        # A kind inside its bound but across 0.5 keeps the verdict from "consistent".
        (metrics(label_noise=(0.3, 0.1, 0.6)), "inconclusive", ["label_noise (violation rate 0.30"]),
        # The minimum is in bases, for every share the verdict reads.
        (metrics(bases=MIN_BASES - 1), "too few bases", [f"all degrading probes: {MIN_BASES - 1}"]),
        (metrics(n_deg=200, n_inv=200, bases=4), "too few bases", ["caught 180 of 200", "at least 10 bases"]),
    ],
)
def test_verdicts(m: dict[str, float], verdict: str, phrases: list[str]) -> None:
    got, sentence = trust_verdict(m)
    assert got == verdict, sentence
    for phrase in phrases:
        assert phrase in sentence
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence


def test_one_kind_short_of_bases_is_too_few() -> None:
    m = metrics()
    m["probe_accuracy_off_topic_bases"] = 3
    got, sentence = trust_verdict(m)
    assert got == "too few bases" and "off_topic: 3" in sentence


def test_kinds_not_run_are_not_required() -> None:
    m = {k: v for k, v in metrics().items() if "wrong_emotion" not in k and "label_noise" not in k}
    assert trust_verdict(m)[0] == "consistent"


def test_no_usable_pairs() -> None:
    nan = math.nan
    got, sentence = trust_verdict(metrics((nan, nan, nan), (nan, nan, nan), n_deg=0, n_inv=0, bases=0))
    assert got == "no usable pairs" and "says nothing" in sentence
    assert trust_verdict({})[0] == "no usable pairs"


def test_the_rule_names_every_branch_and_threshold() -> None:
    for phrase in ("no usable pairs", "too few bases", "not to be trusted", "consistent", "inconclusive",
                   str(MIN_BASES), "base dialogues", "0.5", "95%", "any single kind", "bottom score"):
        assert phrase in TRUST_RULE
    # The leaderboard collects exactly the metrics every check reads.
    for check in CHECKS:
        for suffix in ("", "_ci_low", "_ci_high", "_bases"):
            assert f"{check.metric}{suffix}" in TRUST_METRICS


def test_the_demo_prints_both_figures_the_verdict_and_its_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from emplifai.demo import _print_probe_verdict

    m = metrics((1.0, 1.0, 1.0), (1.0, 1.0, 1.0), n_deg=1, n_inv=1, bases=1)
    score = SimpleNamespace(name="probe_judge", metrics={k: SimpleNamespace(value=v) for k, v in m.items()})
    _print_probe_verdict(SimpleNamespace(results=SimpleNamespace(scores=[score])))
    out = capsys.readouterr().out
    assert "judge probe accuracy: 1.00 over 1 pair(s); invariance violations: 1.00 over 1 pair(s)" in out
    assert "trust verdict: too few bases. The judge caught 1 of 1 degrading probes" in out
    assert TRUST_RULE in out

    nan = math.nan
    empty = metrics((nan, nan, nan), (nan, nan, nan), n_deg=0, n_inv=0, bases=0)
    score.metrics = {k: SimpleNamespace(value=v) for k, v in empty.items()}
    _print_probe_verdict(SimpleNamespace(results=SimpleNamespace(scores=[score])))
    out = capsys.readouterr().out
    assert "judge probe accuracy: none (no usable pair of degrading probes)" in out
    assert "trust verdict: no usable pairs." in out


def test_a_log_without_base_counts_gives_no_verdict() -> None:
    m = {k: v for k, v in metrics().items() if not k.endswith("_bases")}
    got, sentence = trust_verdict(m)
    assert got == "too few bases" and "does not count the base dialogues" in sentence
    assert sentence.count(". ") == 0
