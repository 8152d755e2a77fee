"""Known-answer probes judged pairwise: each probe against its own base dialogue.

The probe is the candidate and its base the baseline of the pairwise judge
(``scorers/pairwise_judge.py``), judged in both orders. What a trustworthy judge must answer:

- a **degrading** probe (cold but correct, wrong emotion, dismissive, off topic) must lose to its
  base on every metric it targets (``expected["drop"]``, ``emplifai/probes/kinds.py``): a hit is an
  outcome of 0 on each target, which only a loss in both orders gives;
- an **invariance** probe (neutral padding, an injected instruction, other speaker labels) must tie
  with its base on every metric, and tie in both orders: a violation is any metric where the
  judge preferred either dialogue in either order. An order-dependent answer counts as a
  violation here, although the outcome rule makes it a tie: a judge that always answers "A"
  shows no consistent preference, and no real "no difference" either.

The figures have the absolute probes' names and method (``scorers/probe_metrics.summarise``:
``probe_accuracy``, ``invariance_violation_rate``, per kind, per metric, bootstrap intervals over
base dialogues), so a user reads the pairwise and the absolute judge's probe results side by side
and sees which way of judging is the more trustworthy for their judge. A probe without a usable
outcome (the judge failed, the perturber failed) is counted in ``unpaired_probes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from inspect_ai.scorer import Metric, SampleScore, metric

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.probes.kinds import DEGRADING, INVARIANT
from emplifai.scorers.pairwise_judge import OVERALL
from emplifai.scorers.probe_metrics import N_RESAMPLES, PairOutcome, summarise


def pairwise_outcomes(scores: Sequence[SampleScore]) -> tuple[list[PairOutcome], int]:
    """(the outcome of every probe with a usable pairwise judgement, number of probes without one)."""
    outcomes: list[PairOutcome] = []
    unpaired = 0
    for s in scores:
        md = s.sample_metadata or {}
        kind = md.get("probe_kind")
        if kind not in DEGRADING and kind not in INVARIANT:
            continue
        value = s.score.value if isinstance(s.score.value, dict) else {}
        if not _judged(value, s.score.metadata or {}):
            unpaired += 1
            continue
        bid = str(md.get("base_dialogue_id"))
        inconsistent = set((s.score.metadata or {}).get("position_inconsistent") or [])
        outcome = {k: float(value[k]) for k in METRIC_KEYS}
        if kind in DEGRADING:
            targets = list((md.get("expected") or {}).get("drop") or [])
            per_metric = {k: outcome[k] == 0.0 for k in targets}
            stay = (md.get("expected") or {}).get("stay") or []
            outcomes.append(PairOutcome(bid, kind, bool(targets) and all(per_metric.values()), per_metric,
                                        rose=any(v == 1.0 for v in outcome.values()),
                                        stay_dropped=any(outcome[k] == 0.0 for k in stay)))
        else:
            per_metric = {k: outcome[k] != 0.5 or k in inconsistent for k in METRIC_KEYS}
            outcomes.append(PairOutcome(bid, kind, any(per_metric.values()), per_metric,
                                        rose=any(v == 1.0 for v in outcome.values())))
    return outcomes, unpaired


def _judged(value: dict, metadata: dict) -> bool:
    """A probe the judge compared with its base (a format failure of either side has no judgement)."""
    overall = value.get(OVERALL)
    return bool(metadata.get("judged")) and isinstance(overall, (int, float)) and not math.isnan(float(overall))


@metric
def pairwise_probe_metrics(seed: int = 42, n_resamples: int = N_RESAMPLES) -> Metric:
    """Probe accuracy and invariance violations of the pairwise judge, named and computed as the
    absolute probes' (``probe_metrics.summarise``)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        outcomes, unpaired = pairwise_outcomes(scores)
        return summarise(outcomes, unpaired, seed, n_resamples)

    return compute
