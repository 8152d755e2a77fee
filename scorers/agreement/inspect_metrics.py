"""The agreement statistics as Inspect metrics, for logs whose samples carry human ratings.

A sample carries its raters' mean score per metric in its metadata, ``human_scores`` by default
(``{"general_empathy": 3.67, ...}``, e.g. written by a dataset built from ``emplifai audit import``'s
output). Attached to a scorer whose value is a dict holding ``key`` (the rubric judge), the metric
reports the judge-vs-human agreement of that key across the samples that have both. A sample
without a human score for the key is left out; with fewer than 3 pairs (or a constant side) the
value is NaN, never a made-up number. The cross-log report (raters, alt-test, length) stays with
``emplifai audit``: a metric sees one log at a time and no individual raters.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, metric

from emplifai.scorers.agreement.correlation import pair_agreement
from emplifai.scorers.agreement.reliability import pair_alpha

HUMAN_FIELD = "human_scores"


def _pairs(scores: list[SampleScore], key: str, field: str) -> tuple[list[float], list[float]]:
    judge, human = [], []
    for s in scores:
        value: Any = s.score.value
        h = (s.sample_metadata or {}).get(field) or {}
        if not isinstance(value, dict) or key not in value or key not in h:
            continue
        j, hv = value[key], h[key]
        if j is None or hv is None or math.isnan(float(j)) or math.isnan(float(hv)):
            continue
        judge.append(float(j))
        human.append(float(hv))
    return judge, human


@metric
def human_pearson(key: str, field: str = HUMAN_FIELD) -> Metric:
    """Pearson r of the judge's ``key`` and the human mean in sample metadata ``field``."""

    def compute(scores: list[SampleScore]) -> float:
        r = pair_agreement(*_pairs(scores, key, field), n_resamples=0).pearson_r if scores else None
        return math.nan if r is None else r

    return compute


@metric
def human_alpha(key: str, field: str = HUMAN_FIELD) -> Metric:
    """Krippendorff's alpha (interval) of the judge's ``key`` and the human mean."""

    def compute(scores: list[SampleScore]) -> float:
        a = pair_alpha(*_pairs(scores, key, field), "interval")
        return math.nan if a is None else a

    return compute


@metric
def human_mad(key: str, field: str = HUMAN_FIELD) -> Metric:
    """Mean absolute difference of the judge's ``key`` and the human mean."""

    def compute(scores: list[SampleScore]) -> float:
        mad = pair_agreement(*_pairs(scores, key, field), n_resamples=0).mad
        return math.nan if mad is None else mad

    return compute
