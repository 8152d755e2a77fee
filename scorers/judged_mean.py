"""The generation task's epoch reducer: a sample is unscored unless every epoch was scored.

Inspect's ``mean`` reducer averages the epochs that have a value, so a sample judged in one epoch
of three would look fully scored; ``judged_mean`` keeps it unscored instead.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.scorer import Score, ScoreReducer, mean_score, score_reducer

from emplifai.scorers.rubric_metrics import FORMAT_OK, OVERALL, is_nan


@score_reducer(name="judged_mean")
def judged_mean() -> ScoreReducer:
    """Epoch reducer of the generation task: a sample is unscored unless every epoch was scored.

    Rubric-judge scores (those with an ``overall`` key): when every epoch has a score (a verdict
    or a format failure) each key is the mean over the epochs; when any epoch is unscored every
    metric key and ``overall`` are NaN (``format_ok`` stays the mean), ``reason`` =
    "grader_failed". The reduced metadata is the first epoch's plus ``epochs``,
    ``epochs_scored``, ``epochs_unscored``, ``epochs_format_failed`` and ``epoch_overall`` (each
    epoch's overall, NaN where unscored). Every other scorer's values are reduced with Inspect's
    ``mean`` (which skips unscored epochs).
    """
    fallback = mean_score()

    def reduce(scores: list[Score]) -> Score:
        if not scores or not all(isinstance(s.value, dict) and OVERALL in s.value for s in scores):
            return fallback(scores)
        overall = [float(s.as_dict()[OVERALL]) for s in scores]
        unscored_epochs = [i + 1 for i, v in enumerate(overall) if math.isnan(v)]
        format_failed = sum(1 for s in scores if float(s.as_dict().get(FORMAT_OK, 1)) == 0)
        keys = list(scores[0].as_dict())
        if unscored_epochs:
            value: dict[str, Any] = {k: math.nan for k in keys}
            value[FORMAT_OK] = sum(float(s.as_dict()[FORMAT_OK]) for s in scores) / len(scores)
        else:
            value = {k: sum(float(s.as_dict()[k]) for s in scores) / len(scores) for k in keys}
        first_failed = next((s for s in scores if is_nan(s.as_dict().get(OVERALL))), None)
        metadata = {
            **(scores[0].metadata or {}),
            "epochs": len(scores),
            "epochs_scored": len(scores) - len(unscored_epochs),
            "epochs_unscored": len(unscored_epochs),
            "epochs_format_failed": format_failed,
            "epoch_overall": overall,
        }
        if first_failed is not None:
            metadata["unscored_reason"] = (first_failed.metadata or {}).get("unscored_reason")
            metadata["judge_error"] = (first_failed.metadata or {}).get("judge_error")
        explanation = (
            f"unscored: epoch(s) {unscored_epochs} of {len(scores)} have no judge verdict"
            if unscored_epochs
            else f"mean of {len(scores)} scored epoch(s)"
        )
        return Score(
            value=value,
            answer=scores[0].answer,
            explanation=explanation,
            reason="grader_failed" if unscored_epochs else scores[0].reason,
            metadata=metadata,
        )

    return reduce
