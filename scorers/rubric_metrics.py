"""What the rubric judge's Score holds beside the metric keys, and the metrics it declares.

The declaration is kept here in one small place (``rubric_judge_metrics``) so that a change of
the names or order of the metrics a run reports touches this file only.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, mean, metric, stderr

from emplifai.scorers.rubrics import ALL_METRIC_KEYS

OVERALL = "overall"
FORMAT_OK = "format_ok"


def is_nan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


@metric
def format_failure_rate() -> Metric:
    """Share of samples whose output was not a two-turn dialogue (scored 1 on every metric)."""

    def compute(scores: list[SampleScore]) -> float:
        # 1 - format_ok rather than counting zeros: after an epoch reducer format_ok is a share.
        values = [1.0 - float(s.score.as_dict()[FORMAT_OK]) for s in scores]
        return sum(values) / len(values) if values else 0.0

    return compute


@metric
def unscored() -> Metric:
    """Number of samples the judge could not score (no usable reply after the retries)."""

    def compute(scores: list[SampleScore]) -> int:
        return sum(1 for s in scores if is_nan(s.score.as_dict().get(OVERALL)))

    return compute


def rubric_judge_metrics() -> list[Any]:
    """The metrics the rubric judge declares: mean and stderr of every key any rubric scores (Inspect
    resolves them against the keys a run's scores have, so a run of the seven metrics and an
    "epitome" run each get their own) and of ``overall``, then the format-failure rate and the
    count of unscored samples."""
    return [
        {key: [mean(), stderr()] for key in (*ALL_METRIC_KEYS, OVERALL)},
        format_failure_rate(),
        unscored(),
    ]
