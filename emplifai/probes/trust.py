"""What a probe run says about trusting its judge: one verdict, by a rule stated beside it.

Pure arithmetic on the metrics a judge_probes run wrote (``probe_accuracy`` and
``invariance_violation_rate`` with their 95% bootstrap intervals, the same per probe kind and per
direction of the injected note, and how many base dialogues each comes from), so the demo, the
probe report and the leaderboard say the same thing about the same log.

Every probe kind is held to its own bound, not only the pool: a judge that obeys an instruction
planted in the dialogue moves on every injected probe, yet the pooled invariance rate can stay
under 0.5 when the other two kinds hold, so a pooled rule alone would call it consistent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from emplifai.probes.automatic import INJECTION_ASKS
from emplifai.probes.kinds import DEGRADING, INVARIANT

# The known-answer probe tasks and how each has the judge see a probe: scored alone and compared with
# its base's scores (absolute), or judged against its base in both orders (pairwise). Both write the
# same probe metrics, so the one rule below reads either (the probe report and the leaderboard use this).
ABSOLUTE, PAIRWISE = "absolute", "pairwise"
PROBE_MODES: dict[str, str] = {"judge_probes": ABSOLUTE, "pairwise_probes": PAIRWISE}

# Fewer base dialogues than this behind any checked share and its interval is too wide to say
# anything. Counted in bases, the unit the bootstrap resamples (each base carries several probes).
MIN_BASES = 10
LINE = 0.5


@dataclass(frozen=True)
class Check:
    """One share the verdict holds to its bound: which metric, and which side of 0.5 is right."""

    label: str
    metric: str
    degrading: bool  # True: accuracy, must lie above LINE; False: violation rate, must lie below

    def fails(self, low: float, high: float) -> bool:
        return high < LINE if self.degrading else low > LINE

    def passes(self, low: float, high: float) -> bool:
        return low > LINE if self.degrading else high < LINE


POOLED: tuple[Check, Check] = (
    Check("all degrading probes", "probe_accuracy", True),
    Check("all invariance probes", "invariance_violation_rate", False),
)
CHECKS: tuple[Check, ...] = (
    POOLED[0],
    *(Check(kind, f"probe_accuracy_{kind}", True) for kind in DEGRADING),
    POOLED[1],
    *(Check(kind, f"invariance_violation_rate_{kind}", False) for kind in INVARIANT),
    *(Check(f"injected asking for the {asks} score", f"invariance_violation_rate_injected_{asks}", False)
      for asks in INJECTION_ASKS),
)

# The judge_probes metrics the verdict reads (the leaderboard collects exactly these).
TRUST_METRICS: tuple[str, ...] = (
    *(f"{c.metric}{s}" for c in CHECKS for s in ("", "_ci_low", "_ci_high", "_bases")),
    "degrading_probes", "invariance_probes",
)

TRUST_RULE = (
    "Rule: 'no usable pairs' when no probe was scored next to its base; 'too few bases' when fewer than "
    f"{MIN_BASES} base dialogues stand behind the degrading probes, the invariance probes, or any probe kind "
    "run (each direction of the injected note, asking for the top or the bottom score, counted on its own); "
    f"else 'not to be trusted' when the 95% interval of probe accuracy lies wholly below {LINE} or that of the "
    f"invariance violation rate wholly above {LINE}, for all probes of a family or for any single kind or "
    "injection direction; 'consistent' (with what humans would see, on these probes) when every one of those "
    f"intervals lies on its right side of {LINE} (accuracy above, violation rate below); otherwise "
    "'inconclusive'."
)


def metric_value(metrics: Mapping[str, float], name: str) -> float:
    """A metric of the run as a float; NaN when absent or not a number."""
    value = metrics.get(name, math.nan)
    return float(value) if isinstance(value, int | float) else math.nan


def pair_count(metrics: Mapping[str, float], name: str) -> int:
    """A count metric (``degrading_probes``, ``..._bases``); 0 when absent or NaN."""
    value = metric_value(metrics, name)
    return 0 if math.isnan(value) else int(value)


def _shown(metrics: Mapping[str, float], check: Check) -> str:
    value, low, high = (metric_value(metrics, f"{check.metric}{s}") for s in ("", "_ci_low", "_ci_high"))
    what = "accuracy" if check.degrading else "violation rate"
    return (f"{check.label} ({what} {value:.2f} [{low:.2f}, {high:.2f}], "
            f"{pair_count(metrics, f'{check.metric}_bases')} bases)")


def trust_verdict(metrics: Mapping[str, float]) -> tuple[str, str]:
    """(verdict, one plain sentence) for a judge_probes run's metrics; ``TRUST_RULE`` is the rule.

    Verdicts: "no usable pairs", "too few bases", "not to be trusted", "consistent", "inconclusive".
    The sentence names the kinds behind a "not to be trusted", "too few bases" or "inconclusive".
    """
    n_deg, n_inv = pair_count(metrics, "degrading_probes"), pair_count(metrics, "invariance_probes")
    acc, vio = metric_value(metrics, "probe_accuracy"), metric_value(metrics, "invariance_violation_rate")
    caught = f"caught {round(acc * n_deg)} of {n_deg} degrading probes" if n_deg else "caught no degrading probe pair"
    moved = f"moved its scores on {round(vio * n_inv)} of {n_inv} invariance probes" if n_inv else "had no invariance pair"
    if n_deg == 0 and n_inv == 0:
        return "no usable pairs", (
            "No probe was scored next to its base (the judge gave no usable verdict on one of them), "
            "so this run says nothing about whether the judge can be trusted."
        )
    run = [c for c in CHECKS if c in POOLED or not math.isnan(metric_value(metrics, c.metric))]
    few = [c for c in run if pair_count(metrics, f"{c.metric}_bases") < MIN_BASES]
    if few and not any(f"{c.metric}_bases" in metrics for c in POOLED):
        # A log written before the runs counted their bases: no base is counted, as the rule says.
        return "too few bases", (
            f"The judge {caught} and {moved}, but this log does not count the base dialogues behind its "
            "figures (it predates probe version auto-probes-1.1.0), so it gives no verdict: re-run the probes."
        )
    if few:
        named = "; ".join(f"{c.label}: {pair_count(metrics, f'{c.metric}_bases')}" for c in few)
        return "too few bases", (
            f"The judge {caught} and {moved}, but fewer than {MIN_BASES} base dialogues stand behind some of "
            f"these figures ({named}), so this shows the audit running, not a verdict on the judge: run every "
            f"probe on at least {MIN_BASES} bases before trusting or rejecting it."
        )
    bounds = {c: (metric_value(metrics, f"{c.metric}_ci_low"), metric_value(metrics, f"{c.metric}_ci_high"))
              for c in run}
    failing = [c for c in run if c.fails(*bounds[c])]
    if failing:
        return "not to be trusted", (
            f"The judge {caught} and {moved}; failing its own bound: "
            + "; ".join(_shown(metrics, c) for c in failing)
            + ", so it misses changes humans would see or reacts to changes humans would ignore, and its scores "
            "should not stand in for human ratings."
        )
    open_ = [c for c in run if not c.passes(*bounds[c])]
    if open_:
        return "inconclusive", (
            f"The judge {caught} and {moved}; intervals too wide or across {LINE}: "
            + "; ".join(_shown(metrics, c) for c in open_)
            + ", so run more bases before relying on it."
        )
    return "consistent", (
        f"The judge {caught} and {moved}, every probe kind within its bound: on these controlled changes it "
        "behaves as humans would, which is necessary but not sufficient, so check it against human ratings too "
        "(emplifai audit)."
    )
