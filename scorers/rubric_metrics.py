"""What the rubric judge's Score holds beside the metric keys, and the metrics it declares.

The declaration is kept here in one small place (``rubric_judge_metrics``) so that a change of
the names or order of the metrics a run reports touches this file only.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, metric

from emplifai.scorers.judge_means import judge_means

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
    """The metrics the rubric judge declares: one score per judge, named by the scorer
    (``judge_means``: ``overall`` first, so it is the headline in inspect view, then its standard
    error and each key the rubric scored with its standard error), then the format-failure rate
    and the count of unscored samples. A judge appended with ``inspect score`` (``rubric_judge1``)
    keeps its own names; scorers/judge_means.py says why a dict of metrics did not."""
    return [
        judge_means(),
        format_failure_rate(),
        unscored(),
    ]
