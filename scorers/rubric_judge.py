"""The seven-metric rubric LLM judge (EmplifAI task 2), Inspect-native.

The judge is always ``get_model(role="grader")`` (``judge_grader``: bound, checked, compared
with the candidate). Per sample, in named steps:

- ``read_candidate``: reasoning blocks are removed from the candidate's output (kept in
  ``candidate_reasoning``), which is then read with ``parse_dialogue``; a format failure
  (including a copied template or a repeated turn, and a structured reply that failed its own
  checks) is scored 1 on every metric without a judge call (the paper's rule), ``format_ok`` = 0;
- otherwise the judge is asked once for all seven metrics (``mode="all"``) or once per metric
  (``mode="per_metric"``), at temperature 0, with JSON-schema structured output where the provider
  is known to support it (``structured``); ``judge_loop.ask_until_valid`` runs the cache, call,
  parse (``verdict.parse_verdict``: one verdict object, no key twice, exact keys, integer scores
  1..5, real rationales) and retry steps, and caches only a reply that validated;
- a sample whose judge never gave a usable answer is unscored: every metric key holds NaN,
  which Inspect skips in the per-key metrics, the ``unscored`` metric counts it,
  ``Score.reason`` = "grader_failed" and ``metadata.unscored_reason`` = "ambiguous" (two
  different answers in the last reply) or "invalid_reply". Never a made-up score.

Elsewhere: the metrics declared (``rubric_metrics``), the epoch reducer (``judged_mean``), the
audit's reader of raw replies (``judge_replies``). Their names stay importable from here.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.model import GenerateConfig, Model
from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from inspect_ai.util import collect

from emplifai.dialogue_format import FormatFailure, ParsedDialogue, parse_dialogue, strip_reasoning
from emplifai.errors import UserError
from emplifai.params import int_param
from emplifai.scorers.judge_grader import (
    GRADER_ROLE,
    SCHEMA_PROVIDERS,
    check_grader,
    check_grader_bound,
    enforces_string_length,
    grader_is_candidate,
    require_grader,
    same_model,
    structured_for,
)
from emplifai.scorers.judge_loop import RETRY_ECHO_CHARS, Judgement, ask_until_valid, token_totals
from emplifai.scorers.judge_prompt import (
    JUDGE_PROMPT_SHA256,
    JUDGE_PROMPT_VERSION,
    RATIONALE_MAX_CHARS,
    correction_message,
    judge_messages,
    response_schema,
)
from emplifai.scorers.judge_replies import judge_replies
from emplifai.scorers.judged_mean import judged_mean
from emplifai.scorers.rubric_metrics import FORMAT_OK, OVERALL, format_failure_rate, rubric_judge_metrics, unscored
from emplifai.scorers.rubrics import LANGUAGES, RUBRIC_NAMES, RubricSet, load_rubrics, rubric_hashes
from emplifai.scorers.verdict import MetricVerdict, parse_verdict
from emplifai.taxonomy import BY_LABEL

__all__ = [  # names importers had from this module before it was split
    "FORMAT_OK", "GRADER_ROLE", "MODES", "OVERALL", "RETRY_ECHO_CHARS", "SCHEMA_PROVIDERS", "STRUCTURED",
    "check_grader", "check_grader_bound", "enforces_string_length", "format_failure_rate", "grader_is_candidate",
    "judge_replies", "judged_mean", "require_grader", "rubric_judge", "same_model", "structured_for", "unscored",
]

MODES: tuple[str, ...] = ("all", "per_metric")
STRUCTURED: tuple[str, ...] = ("auto", "on", "off")


def _check_parameters(mode: str, language: str, max_retries: int, structured: str, max_tokens: int | None,
                      rubric: str) -> tuple[int, int | None]:
    """``UserError`` naming the first scorer parameter that is wrong (checked once, at construction);
    the two counts as integers."""
    if mode not in MODES:
        raise UserError(f"rubric_judge: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if language not in LANGUAGES:
        raise UserError(f"rubric_judge: language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    max_retries = int_param("max_retries", max_retries, min=0, flag="rubric_judge:")
    if structured not in STRUCTURED:
        raise UserError(f"rubric_judge: structured must be one of {', '.join(STRUCTURED)}, got {structured!r}")
    max_tokens = int_param("max_tokens", max_tokens, min=1, optional=True, flag="rubric_judge:")
    if rubric not in RUBRIC_NAMES:
        raise UserError(f"rubric_judge: rubric must be one of {', '.join(RUBRIC_NAMES)}, got {rubric!r}")
    return max_retries, max_tokens


@scorer(
    metrics=rubric_judge_metrics(),
    rubric_versions=rubric_hashes(),
    judge_prompt=f"{JUDGE_PROMPT_VERSION} sha256:{JUDGE_PROMPT_SHA256}",
)
def rubric_judge(
    mode: str = "all",
    language: str = "ja",
    max_retries: int = 2,
    structured: str = "auto",
    max_tokens: int | None = None,
    cache: bool = True,
    rubric: str = "default",
) -> Scorer:
    """Seven rubric metrics (1-5) from the grader model, plus their mean ("overall").

    Args:
        mode: "all" (one judge call returns all seven scores) or "per_metric" (one call each).
        language: Language of the rubric and judge prompt: "ja" or "en".
        max_retries: Corrective retries after an unusable judge reply before the sample is
            recorded as unscored (>= 0).
        structured: JSON-schema constrained output (Inspect's ``response_schema``): "on", "off",
            or "auto" = on when the grader's provider is in ``SCHEMA_PROVIDERS`` (openai, google,
            anthropic, vllm, gguf, ...), off otherwise (hf, llama-cpp-python, unknown providers).
            Replies are validated the same way either way.
        max_tokens: Token limit of each judge reply (None = the grader's own config / provider
            default).
        cache: Reuse validated verdicts from earlier runs (``judge_cache``); False = always ask.
        rubric: Which rubric set the judge sees: "default" (the project's rubric with its scoring
            principles), "neutral" (the seven definitions only) or "epitome" (three metrics:
            emotional_reactions, interpretations, explorations); see scorers/rubrics.py.
    """
    max_retries, max_tokens = _check_parameters(mode, language, max_retries, structured, max_tokens, rubric)
    rubrics = load_rubrics(language, rubric)
    keys = rubrics.keys  # METRIC_KEYS, or the three EPITOME_KEYS for rubric="epitome"

    async def score(state: TaskState, target: Target) -> Score:
        grader = require_grader()
        schema_on = structured_for(str(grader), structured)
        # A rationale bound in the schema only where the engine enforces maxLength in decoding.
        bound = RATIONALE_MAX_CHARS[language] if schema_on and enforces_string_length(grader) else None
        meta: dict[str, Any] = {
            "judge_model": str(grader),
            "grader_is_candidate": grader_is_candidate(grader),
            "mode": mode,
            "language": language,
            **rubrics.provenance(),
            "judge_prompt_version": JUDGE_PROMPT_VERSION,
            "judge_prompt_sha256": JUDGE_PROMPT_SHA256,
            "structured": schema_on,
            "rationale_max_chars_enforced": bound,
            "judge_max_tokens": max_tokens,
        }
        dialogue, completion = read_candidate(state, language, meta)
        if isinstance(dialogue, FormatFailure):
            return _format_failure_score(dialogue, completion, keys, meta)
        config = GenerateConfig(temperature=0, max_tokens=max_tokens)
        questions: list[str | None] = [None] if mode == "all" else list(keys)
        judgements = await collect(
            *(
                _ask(grader, rubrics, dialogue, state, q, schema_on, bound, config, max_retries, cache, language)
                for q in questions
            )
        )
        return _judged_score(judgements, completion, keys, meta)

    return score


def read_candidate(state: TaskState, language: str, meta: dict[str, Any]) -> tuple[ParsedDialogue | FormatFailure, str]:
    """The candidate's dialogue (or why there is none) and its output without reasoning blocks.

    A structured reply that failed its own checks (``structured_format_failure``, set by the
    structured solver) is that failure: its raw JSON is not read again as four labelled lines."""
    # parse_dialogue removes reasoning blocks itself and hands back what it removed.
    dialogue = parse_dialogue(state.output.completion, language)
    completion, _ = strip_reasoning(state.output.completion)
    if dialogue.reasoning:
        meta["candidate_reasoning"] = dialogue.reasoning
    structured_failure = (state.metadata or {}).get("structured_format_failure")
    if structured_failure:
        dialogue = FormatFailure(f"structured reply: {structured_failure}", reasoning=dialogue.reasoning)
    return dialogue, completion


def _format_failure_score(failure: FormatFailure, completion: str, keys: tuple[str, ...],
                          meta: dict[str, Any]) -> Score:
    return Score(
        value={**{k: 1 for k in keys}, OVERALL: 1.0, FORMAT_OK: 0},
        answer=completion,
        explanation=f"format failure (every metric = 1): {failure.reason}",
        reason="invalid_response_format",
        metadata={**meta, "format_ok": False, "format_reason": failure.reason, "judge_calls": 0},
    )


async def _ask(grader: Model, rubrics: RubricSet, dialogue: ParsedDialogue, state: TaskState, metric: str | None,
               schema_on: bool, bound: int | None, config: GenerateConfig, max_retries: int, cache: bool,
               language: str) -> Judgement:
    """One judged question (all metrics, or ``metric``) through the shared judge loop."""
    emotion, emotion_ja, situation = sample_context(state)
    messages = judge_messages(
        rubrics, dialogue, emotion=emotion, emotion_ja=emotion_ja, situation=situation, metric=metric,
        structured=schema_on,
    )
    if schema_on:
        config = config.merge(GenerateConfig(response_schema=response_schema(metric, rubrics.keys, bound)))
    return await ask_until_valid(
        grader, messages, lambda reply: parse_verdict(reply, metric, rubrics.keys),
        question=metric or "all", correction=lambda error: correction_message(language, error),
        max_retries=max_retries, config=config, use_cache=cache,
    )


def _judged_score(judgements: list[Judgement], completion: str, keys: tuple[str, ...],
                  meta: dict[str, Any]) -> Score:
    """The Score of a judged sample: the verdicts, or unscored with every reply's error."""
    calls = [c for j in judgements for c in j.calls]
    model_calls = [c for c in calls if c["source"] == "model"]
    meta |= {
        "format_ok": True,
        "judge_calls": len(model_calls),
        "cache_hits": sum(1 for c in calls if c["source"] == "cache" and c["error"] is None),
        "retries": sum(1 for c in model_calls if c["attempt"] > 0),
        "calls": calls,
        **token_totals(model_calls),
    }
    verdicts: dict[str, MetricVerdict] = {}
    for j in judgements:
        verdicts |= j.answer or {}
    failed = [j for j in judgements if j.error is not None]
    if failed:
        detail = "; ".join(j.error or "" for j in failed)
        why = "ambiguous" if any(j.error_kind == "ambiguous" for j in failed) else "invalid_reply"
        return Score(
            value={**{k: math.nan for k in keys}, OVERALL: math.nan, FORMAT_OK: 1},
            answer=completion,
            explanation=f"unscored ({why}): the judge gave no usable answer ({detail})",
            reason="grader_failed",
            metadata={
                **meta,
                "unscored_reason": why,
                "judge_error": detail,
                # per_metric: the metrics that did succeed, kept for audit but not scored.
                "partial_scores": {k: v.score for k, v in verdicts.items()},
                "rationales": {k: v.rationale for k, v in verdicts.items()},
            },
        )
    scores = {k: verdicts[k].score for k in keys}
    return Score(
        value={**scores, OVERALL: sum(scores.values()) / len(scores), FORMAT_OK: 1},
        answer=completion,
        explanation="\n".join(f"{k}: {verdicts[k].score} - {verdicts[k].rationale}" for k in keys),
        metadata={**meta, "rationales": {k: verdicts[k].rationale for k in keys}},
    )


def sample_context(state: TaskState) -> tuple[str, str, str]:
    """Target emotion (EN label and JA keyword) and situation from the sample metadata."""
    md = state.metadata or {}
    missing = [k for k in ("emotion", "situation") if not md.get(k)]
    if missing:
        raise ValueError(
            f"rubric_judge: sample {state.sample_id!r} has no metadata field(s) {missing}; "
            "the judge needs the target emotion and the situation"
        )
    emotion = md["emotion"]
    if emotion not in BY_LABEL:
        raise ValueError(f"rubric_judge: sample {state.sample_id!r}, field 'emotion': unknown label {emotion!r}")
    return emotion, md.get("emotion_ja") or BY_LABEL[emotion].ja, md["situation"]
