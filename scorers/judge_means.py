"""The rubric judge's means and standard errors as ONE Inspect metric, so each judge is one score.

Inspect turns a scorer's dict of metrics (``{key: [mean(), stderr()]}``) into one score per key,
named by the key alone: a second judge of the same log (``inspect score --action append``, which
names the scorer ``rubric_judge1``) writes scores named ``comprehensibility`` ... again, and
``evals_df`` keeps one judge's columns. A list metric that returns a dict instead lands in one
score named by the scorer, with the dict's keys as metric names: ``rubric_judge`` /
``rubric_judge1`` each keep their own ``overall``, ``general_empathy``, ... (``evals_df``:
``score_rubric_judge_overall``, ``score_rubric_judge1_overall``). ``overall`` comes first, so it
is the headline of the log in ``inspect view``. The arithmetic is Inspect's own ``mean()`` and
``stderr()`` on each key's scored samples (NaN = unscored, left out, as Inspect does per key).
"""

from __future__ import annotations

import math

from inspect_ai.scorer import Metric, SampleScore, Score, mean, metric, stderr

from emplifai.judge_metrics import OVERALL, stderr_name
from emplifai.scorers.rubrics import ALL_METRIC_KEYS


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(float(value)):
        return None
    return float(value)


def judged_keys(scores: list[SampleScore]) -> list[str]:
    """``overall`` then the rubric keys the scores carry, in the rubric's order."""
    present: set[str] = set()
    for s in scores:
        if isinstance(s.score.value, dict):
            present.update(s.score.value)
    return [k for k in (OVERALL, *ALL_METRIC_KEYS) if k in present]


@metric
def judge_means() -> Metric:
    """Mean and standard error of ``overall`` and of each rubric metric, unscored samples left out."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        out: dict[str, float] = {}
        for key in judged_keys(scores):
            scored = []
            for s in scores:
                v = _number(s.score.as_dict().get(key)) if isinstance(s.score.value, dict) else None
                if v is not None:
                    scored.append(SampleScore(score=Score(value=v), sample_id=s.sample_id,
                                              sample_metadata=s.sample_metadata))
            out[key] = float(mean()(scored)) if scored else math.nan
            out[stderr_name(key)] = float(stderr()(scored)) if scored else math.nan
        return out

    return compute
