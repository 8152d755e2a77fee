"""Scorers of the synthetic-pipeline tasks: format checks for stage 1/2 text, label consistency.

The rubric judge for stage 3 is the benchmark's own ``rubric_judge`` (model role "grader"); these
two add what the judge does not do. Their outcomes are stored in the Score (value and metadata),
so the driver (``emplifai.synth.pipeline``) applies its thresholds from the log alone, and a
different label mode or threshold can be applied to an existing log without new model calls.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.model import CachePolicy, GenerateConfig, Model, get_model, model_roles
from inspect_ai.scorer import Score, Scorer, Target, accuracy, mean, scorer
from inspect_ai.solver import TaskState

from emplifai.data.schema import DialogueRecord
from emplifai.scorers.synth_filters import clean_situation, dialogue_format, text_format
from emplifai.solvers.emotion_prompt import emotion_messages
from emplifai.taxonomy import group_of, normalize_label

LABELER_ROLE = "labeler"
# Bounds of a stage-1 scene and a stage-2 situation line, in characters. The sample set's
# situations are 51-82 characters; a scene is 2-4 sentences.
DRAFT_CHARS = (30, 500)
SITUATION_CHARS = (20, 160)


@scorer(metrics=[accuracy()])
def text_check(kind: str, brief_lines: list[str] | None = None) -> Scorer:
    """1 when the stage's text passes its format check, else 0 (reason in the explanation).

    Args:
        kind: "draft" (stage 1: a scene of a few sentences) or "situation" (stage 2: one line).
        brief_lines: Fixed lines of the brief; a reply that contains one is a template copy.
    """
    if kind not in ("draft", "situation"):
        raise ValueError(f"text_check: kind must be 'draft' or 'situation', got {kind!r}")
    lines = list(brief_lines or [])

    async def score(state: TaskState, target: Target) -> Score:
        raw = state.output.completion if state.output else ""
        if kind == "draft":
            text = (raw or "").strip()
            outcome = text_format(text, min_chars=DRAFT_CHARS[0], max_chars=DRAFT_CHARS[1], one_line=False,
                                  brief_lines=lines)
        else:
            text = clean_situation(raw)
            outcome = text_format(text, min_chars=SITUATION_CHARS[0], max_chars=SITUATION_CHARS[1], one_line=True,
                                  brief_lines=lines)
        return Score(
            value=1 if outcome.passed else 0,
            answer=text,
            explanation=outcome.reason or "ok",
            metadata={"outcome": outcome.as_json(), "text": text},
        )

    return score


def labeler_model() -> Model:
    """The "labeler" role when bound, else the "grader" (the judge), else the eval's model."""
    roles = model_roles()
    if LABELER_ROLE in roles:
        return get_model(role=LABELER_ROLE)
    if "grader" in roles:
        return get_model(role="grader")
    return get_model()


@scorer(metrics=[mean()])
def label_consistency(language: str = "ja", max_tokens: int = 32) -> Scorer:
    """Reverse emotion prediction on the generated dialogue (the emotion task's own brief).

    Value 1 when the labeler names the intended emotion, 0 otherwise; NaN (unscored) when the
    output is not a dialogue. Metadata: ``gold``, ``pred`` (canonical label or None) and
    ``group_match``, so the pipeline can apply its exact / group rule from the log.
    """

    async def score(state: TaskState, target: Target) -> Score:
        completion = state.output.completion if state.output else ""
        parsed, outcome = dialogue_format(completion)
        md = state.metadata or {}
        gold = md["emotion"]
        if parsed is None:
            return Score(value=math.nan, explanation=f"not labelled: {outcome.reason}",
                         metadata={"gold": gold, "pred": None, "skipped": True})
        record = DialogueRecord(
            dialogue_id=str(state.sample_id), situation_id=md.get("situation_id", str(state.sample_id)),
            emotion=gold, situation=md["situation"],
            patient_1=parsed.turns[0], supporter_1=parsed.turns[1],
            patient_2=parsed.turns[2], supporter_2=parsed.turns[3],
        )
        model = labeler_model()
        output = await model.generate(
            emotion_messages(record, language=language),
            config=GenerateConfig(temperature=0, max_tokens=max_tokens),
            cache=CachePolicy(expiry=None),
        )
        pred = normalize_label(output.completion)
        meta: dict[str, Any] = {
            "gold": gold, "pred": pred, "raw": output.completion[:200], "labeler": str(model),
            "group_match": pred is not None and group_of(pred) == group_of(gold), "skipped": False,
        }
        return Score(value=1 if pred == gold else 0, answer=pred or "", explanation=output.completion[:200],
                     metadata=meta)

    return score
