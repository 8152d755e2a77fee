"""What a probe run says about trusting its judge: one verdict, by a rule stated beside it.

Pure arithmetic on the metrics a judge_probes run wrote (``probe_accuracy`` and
``invariance_violation_rate`` with their 95% bootstrap intervals, and the pair counts), so the
demo, the probe report and the leaderboard say the same thing about the same log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# The judge_probes metrics the verdict reads.
TRUST_METRICS: tuple[str, ...] = (
    "probe_accuracy", "probe_accuracy_ci_low", "probe_accuracy_ci_high",
    "invariance_violation_rate", "invariance_violation_rate_ci_low", "invariance_violation_rate_ci_high",
    "degrading_probes", "invariance_probes",
)

# Fewer pairs than this of either family and the intervals are too wide to say anything.
MIN_PAIRS = 10

TRUST_RULE = (
    f"Rule: with fewer than {MIN_PAIRS} degrading or {MIN_PAIRS} invariance probe pairs, 'too few pairs'; "
    "else 'not to be trusted' when the 95% interval of probe accuracy lies wholly below 0.5 or that of the "
    "invariance violation rate wholly above 0.5; 'consistent' (with what humans would see, on these "
    "probes) when the first lies above 0.5 and the second below 0.5; otherwise 'inconclusive'."
)


def metric_value(metrics: Mapping[str, float], name: str) -> float:
    """A metric of the run as a float; NaN when absent or not a number."""
    value = metrics.get(name, math.nan)
    return float(value) if isinstance(value, int | float) else math.nan


def pair_count(metrics: Mapping[str, float], name: str) -> int:
    """A count metric (``degrading_probes``, ``invariance_probes``); 0 when absent or NaN."""
    value = metric_value(metrics, name)
    return 0 if math.isnan(value) else int(value)


def trust_verdict(metrics: Mapping[str, float]) -> tuple[str, str]:
    """(verdict, one plain sentence) for a judge_probes run's metrics; ``TRUST_RULE`` is the rule.

    Verdicts: "no usable pairs", "too few pairs", "not to be trusted", "consistent", "inconclusive".
    """
    n_deg, n_inv = pair_count(metrics, "degrading_probes"), pair_count(metrics, "invariance_probes")
    acc, acc_lo, acc_hi = (metric_value(metrics, f"probe_accuracy{s}") for s in ("", "_ci_low", "_ci_high"))
    vio, vio_lo, vio_hi = (metric_value(metrics, f"invariance_violation_rate{s}") for s in ("", "_ci_low", "_ci_high"))
    caught = f"caught {round(acc * n_deg)} of {n_deg} degrading probes" if n_deg else "caught no degrading probe pair"
    moved = f"moved its scores on {round(vio * n_inv)} of {n_inv} invariance probes" if n_inv else "had no invariance pair"
    if n_deg == 0 and n_inv == 0:
        return "no usable pairs", (
            "No probe was scored next to its base (the judge gave no usable verdict on one of them), "
            "so this run says nothing about whether the judge can be trusted."
        )
    if n_deg < MIN_PAIRS or n_inv < MIN_PAIRS:
        return "too few pairs", (
            f"The judge {caught} and {moved}; with so few pairs this shows the audit running, not a "
            f"verdict on the judge: run every probe on at least {MIN_PAIRS} bases before trusting or "
            "rejecting it."
        )
    if acc_hi < 0.5 or vio_lo > 0.5:
        verdict = "not to be trusted"
    elif acc_lo > 0.5 and vio_hi < 0.5:
        verdict = "consistent"
    else:
        verdict = "inconclusive"
    meaning = {
        "not to be trusted": (
            "it misses changes humans would see or reacts to changes humans would ignore, so its scores "
            "should not stand in for human ratings"
        ),
        "consistent": (
            "on these controlled changes it behaves as humans would, which is necessary but not sufficient: "
            "check it against human ratings too (emplifai audit)"
        ),
        "inconclusive": "the intervals are too wide or straddle 0.5, so run more bases before relying on it",
    }[verdict]
    return verdict, f"The judge {caught} and {moved}: {meaning}."
