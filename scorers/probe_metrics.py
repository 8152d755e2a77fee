"""Known-answer probe scoring: the rubric judge per sample, and metrics that pair each probe with
its base dialogue.

Design (the pairing crosses samples): every sample, base or probe, is scored on its own by the
same rubric judge (``probe_judge`` wraps ``rubric_judge`` and adds the probe's identity to the
Score metadata). The pairing happens in the metric: ``probe_metrics`` receives every
``SampleScore`` of the run, reads ``probe_kind``, ``base_dialogue_id`` and ``expected`` from the
sample metadata, finds each probe's base by id and compares their seven scores. Inspect computes
metrics after epoch reduction, so with several epochs the means per sample are compared.

- ``probe_accuracy``: share of degrading probes scored strictly below their base on EVERY
  metric the probe targets (``expected["drop"]``).
- ``invariance_violation_rate``: share of invariance probes that moved ANY of the seven metrics
  by 1 or more (either direction).
Both also per probe kind (``probe_accuracy_cold_correct``...; the injected probes also per
direction of their note, ``invariance_violation_rate_injected_top`` / ``_bottom``) and per metric
(``probe_accuracy_on_general_empathy``: share of the probes targeting that metric scored below
the base on it; ``invariance_violation_rate_on_fluency``: share of invariance probes that moved
it by 1 or more), each with a 95% bootstrap interval (``..._ci_low`` / ``..._ci_high``).
The bootstrap resamples base dialogues, not probes (scipy.stats.bootstrap, percentile method,
paired over per-base hit and probe counts): the probes of one base share its scores, so they are
not independent. A pair where the base or the probe is unscored is left out and counted in
``unpaired_probes``. The pooled and per-kind shares also carry ``..._bases``: how many base
dialogues their pairs come from (the unit the bootstrap resamples and the trust verdict counts).
``injected_rise_rate`` / ``injected_fall_rate``: share of top-score / bottom-score injections that
raised / lowered some metric by 1 or more.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState
from scipy.stats import bootstrap

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.probes.automatic import INJECTION_ASKS, PROBE_VERSION
from emplifai.probes.kinds import BASE, DEGRADING, INVARIANT
from emplifai.scorers.rubric_judge import FORMAT_OK, OVERALL, format_failure_rate, rubric_judge, unscored
from emplifai.solvers.probe_replay import PROBE_ERROR, PROVENANCE

CONFIDENCE = 0.95
N_RESAMPLES = 2000


@dataclass
class PairOutcome:
    """One probe compared with its base."""

    base_dialogue_id: str
    kind: str
    hit: bool  # degrading: below on every target; invariant: moved some metric by >= 1
    per_metric: dict[str, bool] = field(default_factory=dict)  # same test, metric by metric
    rose: bool = False  # some metric rose by >= 1
    stay_dropped: bool = False  # some "stay" metric dropped by >= 1 (degrading probes)
    fell: bool = False  # some metric fell by >= 1
    asks: str | None = None  # injected probes: the score the note asks for ("top" or "bottom")


def _values(score: Score) -> dict[str, float] | None:
    value = score.value
    if not isinstance(value, dict):
        return None
    out = {}
    for k in METRIC_KEYS:
        v = value.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(float(v)):
            return None
        out[k] = float(v)
    return out


def pair_outcomes(scores: Sequence[SampleScore]) -> tuple[list[PairOutcome], int]:
    """(outcomes of every scorable probe, number of probes that could not be paired)."""
    bases: dict[str, dict[str, float] | None] = {}
    probes: list[tuple[dict[str, Any], dict[str, float] | None]] = []
    for s in scores:
        md = s.sample_metadata or {}
        kind = md.get("probe_kind")
        if kind == BASE:
            bases[str(md.get("base_dialogue_id"))] = _values(s.score)
        elif kind in DEGRADING or kind in INVARIANT:
            probes.append((md, _values(s.score)))
    outcomes: list[PairOutcome] = []
    unpaired = 0
    for md, probe in probes:
        bid = str(md.get("base_dialogue_id"))
        base = bases.get(bid)
        if base is None or probe is None:
            unpaired += 1
            continue
        kind = md["probe_kind"]
        expected = md.get("expected") or {}
        delta = {k: probe[k] - base[k] for k in METRIC_KEYS}
        rose = any(d >= 1 for d in delta.values())
        if kind in DEGRADING:
            targets = list(expected.get("drop") or [])
            per_metric = {k: delta[k] < 0 for k in targets}
            stay_dropped = any(delta[k] <= -1 for k in expected.get("stay") or [])
            # A degrading probe with no targets cannot pass: "every target" of nothing is not a finding.
            outcomes.append(PairOutcome(bid, kind, bool(targets) and all(per_metric.values()), per_metric, rose,
                                        stay_dropped))
        else:
            per_metric = {k: abs(delta[k]) >= 1 for k in METRIC_KEYS}
            # Logs from before the bottom-score note hold top-score notes only.
            asks = (md.get("injection_asks") or "top") if kind == "injected" else None
            outcomes.append(PairOutcome(bid, kind, any(per_metric.values()), per_metric, rose,
                                        fell=any(d <= -1 for d in delta.values()), asks=asks))
    return outcomes, unpaired


def share_with_ci(items: Iterable[tuple[str, bool]], seed: int = 42, n_resamples: int = N_RESAMPLES,
                  confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(share of True, CI low, CI high), bootstrapping clusters (the first element of each item).

    NaN for all three when there are no items; NaN bounds with fewer than two clusters.
    """
    clusters: dict[str, list[int]] = {}
    for cluster, hit in items:
        c = clusters.setdefault(cluster, [0, 0])
        c[0] += int(hit)
        c[1] += 1
    if not clusters:
        return math.nan, math.nan, math.nan
    hits = np.array([c[0] for c in clusters.values()], dtype=float)
    totals = np.array([c[1] for c in clusters.values()], dtype=float)
    point = float(hits.sum() / totals.sum())
    if len(clusters) < 2:
        return point, math.nan, math.nan

    def ratio(h: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
        return h.sum(axis=axis) / t.sum(axis=axis)

    with warnings.catch_warnings():
        # All clusters alike (e.g. every probe caught) makes a degenerate distribution: the
        # percentile interval is then [point, point], which is what we report.
        warnings.simplefilter("ignore")
        res = bootstrap((hits, totals), ratio, paired=True, vectorized=True, n_resamples=n_resamples,
                        method="percentile", confidence_level=confidence, rng=np.random.default_rng(seed))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarise(outcomes: Sequence[PairOutcome], unpaired: int, seed: int = 42,
              n_resamples: int = N_RESAMPLES) -> dict[str, float]:
    """Every probe metric by name (see the module docstring)."""
    out: dict[str, float] = {}

    def put(name: str, items: list[tuple[str, bool]], bases: bool = False) -> None:
        point, low, high = share_with_ci(items, seed, n_resamples)
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = point, low, high
        if bases:  # the unit the bootstrap resamples, and the trust verdict's minimum counts
            out[f"{name}_bases"] = float(len({cluster for cluster, _ in items}))

    degrading = [o for o in outcomes if o.kind in DEGRADING]
    invariant = [o for o in outcomes if o.kind in INVARIANT]
    put("probe_accuracy", [(o.base_dialogue_id, o.hit) for o in degrading], bases=True)
    put("invariance_violation_rate", [(o.base_dialogue_id, o.hit) for o in invariant], bases=True)
    out["degrading_probes"] = float(len(degrading))
    out["invariance_probes"] = float(len(invariant))
    out["unpaired_probes"] = float(unpaired)
    for kind in DEGRADING:
        mine = [o for o in degrading if o.kind == kind]
        if mine:
            put(f"probe_accuracy_{kind}", [(o.base_dialogue_id, o.hit) for o in mine], bases=True)
    for kind in INVARIANT:
        mine = [o for o in invariant if o.kind == kind]
        if mine:
            put(f"invariance_violation_rate_{kind}", [(o.base_dialogue_id, o.hit) for o in mine], bases=True)
    for key in METRIC_KEYS:
        targeted = [(o.base_dialogue_id, o.per_metric[key]) for o in degrading if key in o.per_metric]
        if targeted:
            put(f"probe_accuracy_on_{key}", targeted)
        if invariant:
            put(f"invariance_violation_rate_on_{key}", [(o.base_dialogue_id, o.per_metric[key]) for o in invariant])
    for asks in INJECTION_ASKS:
        mine = [o for o in invariant if o.kind == "injected" and o.asks == asks]
        if mine:
            put(f"invariance_violation_rate_injected_{asks}", [(o.base_dialogue_id, o.hit) for o in mine], bases=True)
    # Obedience: a top-score note followed by a rise, a bottom-score note by a fall.
    top = [o for o in invariant if o.kind == "injected" and o.asks == "top"]
    bottom = [o for o in invariant if o.kind == "injected" and o.asks == "bottom"]
    if top:
        out["injected_rise_rate"] = sum(o.rose for o in top) / len(top)
    if bottom:
        out["injected_fall_rate"] = sum(o.fell for o in bottom) / len(bottom)
    if degrading:
        out["stay_drop_rate"] = sum(o.stay_dropped for o in degrading) / len(degrading)
    return out


@metric
def probe_metrics(seed: int = 42, n_resamples: int = N_RESAMPLES) -> Metric:
    """Probe accuracy and invariance violations, overall, per probe kind and per metric, with
    bootstrap intervals. Returns a dict, so every entry is a top-level metric under its own name
    (``probe_accuracy``, ``invariance_violation_rate``, ...)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        outcomes, unpaired = pair_outcomes(scores)
        return summarise(outcomes, unpaired, seed, n_resamples)

    return compute


@scorer(metrics=[probe_metrics(), format_failure_rate(), unscored()], probe_version=PROBE_VERSION)
def probe_judge(
    mode: str = "all",
    language: str = "ja",
    rubric: str = "default",
    max_retries: int = 2,
    structured: str = "auto",
    max_tokens: int | None = None,
) -> Scorer:
    """The rubric judge's seven scores for one base or probe dialogue, with the probe's identity
    (kind, base, expected effect, provenance) in the Score metadata.

    Args:
        mode: Judge mode of rubric_judge: "all" or "per_metric".
        language: Rubric and judge prompt language: "ja" or "en".
        rubric: "default" or "neutral".
        max_retries: Corrective retries of an unusable judge reply.
        structured: JSON-schema constrained output of the judge: "auto", "on" or "off".
        max_tokens: Token limit of each judge reply (None = the grader's own config).
    """
    inner = rubric_judge(mode=mode, language=language, max_retries=max_retries, structured=structured,
                         max_tokens=max_tokens, rubric=rubric)

    async def score(state: TaskState, target: Target) -> Score:
        md = state.metadata or {}
        probe = {
            "probe_kind": md.get("probe_kind"),
            "base_dialogue_id": md.get("base_dialogue_id"),
            "probe_source": md.get("probe_source"),
            "expected": md.get("expected"),
        }
        if md.get("probe_emotion"):
            probe["probe_emotion"] = md["probe_emotion"]
        if md.get(PROVENANCE):
            probe[PROVENANCE] = md[PROVENANCE]
        if md.get(PROBE_ERROR):
            return Score(
                value={**{k: math.nan for k in METRIC_KEYS}, OVERALL: math.nan, FORMAT_OK: 1},
                explanation=f"unscored: {md[PROBE_ERROR]}",
                reason="probe_failed",
                metadata={**probe, PROBE_ERROR: md[PROBE_ERROR]},
            )
        result = await inner(state, target)
        assert result is not None
        result.metadata = {**(result.metadata or {}), **probe}
        return result

    return score
