"""The seven-metric rubric LLM judge (EmplifAI task 2), Inspect-native.

The judge is always ``get_model(role="grader")``: bind it with ``--model-role grader=<model>``
(``eval(..., model_roles={"grader": ...})``). Inspect falls back to the candidate model when a
role is unbound, so the scorer checks the bound roles itself and stops with a clear error;
``check_grader()`` does the same as a setup solver so a run stops before any model call.

Per sample:
- the candidate's output is read with ``parse_dialogue``; a format failure is scored 1 on
  every metric without a judge call (the paper's rule), ``format_ok`` = 0;
- otherwise the judge is asked once for all seven metrics (``mode="all"``) or once per metric
  (``mode="per_metric"``), at temperature 0, cached, with structured output where the provider
  supports it; every reply is validated (scores are integers 1..5) and an unusable one is
  retried with a short corrective message, at most ``max_retries`` times;
- a sample whose judge never gave a usable answer is unscored: every metric key holds NaN,
  which Inspect skips in the per-key metrics (and counts in ``unscored_samples``), the
  ``unscored`` metric counts it, and ``Score.reason`` = "grader_failed" with the detail in
  the explanation and metadata. Never a made-up score.
"""

from __future__ import annotations

import math
from logging import getLogger
from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import CachePolicy, GenerateConfig, Model, get_model, model_roles
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    mean,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import collect

from emplifai.dialogue_format import FormatFailure, parse_dialogue
from emplifai.scorers.judge_prompt import (
    JUDGE_PROMPT_SHA256,
    JUDGE_PROMPT_VERSION,
    MetricVerdict,
    VerdictError,
    correction_message,
    judge_messages,
    parse_verdict,
    response_schema,
)
from emplifai.scorers.rubrics import LANGUAGES, METRIC_KEYS, RUBRIC_NAMES, load_rubrics, rubric_hashes
from emplifai.taxonomy import BY_LABEL

logger = getLogger(__name__)

GRADER_ROLE = "grader"
MODES: tuple[str, ...] = ("all", "per_metric")
OVERALL = "overall"
FORMAT_OK = "format_ok"
# The same dialogue judged again (another epoch, a re-run, `inspect score`) is served from
# Inspect's cache: the judge's verdict is a measurement of the dialogue, not of the epoch.
JUDGE_CACHE = CachePolicy(per_epoch=False)

_warned_same: set[tuple[str, str]] = set()


def require_grader() -> Model:
    """The model bound to the "grader" role; ``PrerequisiteError`` if none is bound.

    Call it inside a running eval (a solver, a scorer). ``get_model(role="grader")`` alone would
    silently return the candidate model when the role is unbound.
    """
    if GRADER_ROLE not in model_roles():
        raise PrerequisiteError(
            "The rubric judge needs a grader model and none is bound. Pass one with "
            "`--model-role grader=<provider/model>` (e.g. --model-role grader=google/gemini-2.5-flash), "
            "or model_roles={'grader': ...} in eval(). The judge should not be one of the evaluated models."
        )
    return get_model(role=GRADER_ROLE)


def same_model(a: Model, b: Model) -> bool:
    """True when two models are the same model, also across providers (openrouter/openai/x vs openai/x)."""
    if str(a) == str(b):
        return True
    na, nb = a.name, b.name
    return na == nb or na.endswith("/" + nb) or nb.endswith("/" + na)


def grader_is_candidate(grader: Model) -> bool:
    """Compare the grader with the model under evaluation; warn once per pair when they match."""
    candidate = get_model()
    if not same_model(grader, candidate):
        return False
    pair = (str(grader), str(candidate))
    if pair not in _warned_same:
        _warned_same.add(pair)
        logger.warning(
            f"The grader ({grader}) is the model under evaluation ({candidate}): its scores are "
            "self-judgements and likely biased. Bind a different model with --model-role grader=..."
        )
    return True


@solver
def check_grader() -> Solver:
    """Setup solver: stop the sample before any model call when no grader is bound (and warn
    when the grader is the candidate). Use as ``Task(setup=check_grader(), ...)``."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        grader_is_candidate(require_grader())
        return state

    return solve


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
        return sum(1 for s in scores if _is_nan(s.score.as_dict().get(OVERALL)))

    return compute


class _Judgement:
    """The outcome of one judged question (all metrics, or one), with every call it took.

    A plain class, not a dataclass: `inspect score --scorer scorers/rubric_judge.py@rubric_judge`
    loads this file outside sys.modules, where dataclass creation fails.
    """

    def __init__(self) -> None:
        self.verdicts: dict[str, MetricVerdict] | None = None
        self.calls: list[dict[str, Any]] = []
        self.error: str | None = None


@scorer(
    metrics=[
        {key: [mean(), stderr()] for key in (*METRIC_KEYS, OVERALL)},
        format_failure_rate(),
        unscored(),
    ],
    # The default rubric per language (kept in this shape for readers of the log); a run with another
    # rubric records its name, version and hash in every Score's metadata.
    rubric_versions=rubric_hashes(),
    judge_prompt=f"{JUDGE_PROMPT_VERSION} sha256:{JUDGE_PROMPT_SHA256}",
)
def rubric_judge(
    mode: str = "all",
    language: str = "ja",
    max_retries: int = 2,
    structured_output: bool = True,
    rubric: str = "default",
) -> Scorer:
    """Seven rubric metrics (1-5) from the grader model, plus their mean ("overall").

    Args:
        mode: "all" (one judge call returns all seven scores) or "per_metric" (one call each).
        language: Language of the rubric and judge prompt: "ja" or "en".
        max_retries: Corrective retries after an unusable judge reply before the sample is
            recorded as unscored.
        structured_output: Ask the provider for JSON-schema constrained output (Inspect's
            ``response_schema``). Turn off for servers that reject it (llama.cpp); replies are
            validated either way.
        rubric: Which rubric set the judge sees: "default" (the project's rubric with its scoring
            principles) or "neutral" (the seven definitions only; see scorers/rubrics.py).
    """
    if mode not in MODES:
        raise ValueError(f"rubric_judge: mode must be one of {MODES}, got {mode!r}")
    if language not in LANGUAGES:
        raise ValueError(f"rubric_judge: language must be one of {LANGUAGES}, got {language!r}")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"rubric_judge: max_retries must be an integer >= 0, got {max_retries!r}")
    if rubric not in RUBRIC_NAMES:
        raise ValueError(f"rubric_judge: rubric must be one of {RUBRIC_NAMES}, got {rubric!r}")
    rubrics = load_rubrics(language, rubric)

    async def score(state: TaskState, target: Target) -> Score:
        grader = require_grader()
        meta: dict[str, Any] = {
            "judge_model": str(grader),
            "grader_is_candidate": grader_is_candidate(grader),
            "mode": mode,
            "language": language,
            **rubrics.provenance(),
            "judge_prompt_version": JUDGE_PROMPT_VERSION,
            "judge_prompt_sha256": JUDGE_PROMPT_SHA256,
        }
        completion = state.output.completion
        dialogue = parse_dialogue(completion)
        if isinstance(dialogue, FormatFailure):
            return Score(
                value={**{k: 1 for k in METRIC_KEYS}, OVERALL: 1.0, FORMAT_OK: 0},
                answer=completion,
                explanation=f"format failure (every metric = 1): {dialogue.reason}",
                reason="invalid_response_format",
                metadata={**meta, "format_ok": False, "format_reason": dialogue.reason, "judge_calls": 0},
            )

        emotion, emotion_ja, situation = _sample_context(state)
        questions = [None] if mode == "all" else list(METRIC_KEYS)
        judgements = await collect(
            *(
                _judge(
                    grader,
                    judge_messages(
                        rubrics, dialogue, emotion=emotion, emotion_ja=emotion_ja, situation=situation, metric=q
                    ),
                    q,
                    language,
                    max_retries,
                    structured_output,
                )
                for q in questions
            )
        )
        calls = [c for j in judgements for c in j.calls]
        meta |= {
            "format_ok": True,
            "judge_calls": len(calls),
            "retries": len(calls) - len(judgements),
            "calls": calls,
            **_token_totals(calls),
        }
        verdicts: dict[str, MetricVerdict] = {}
        for j in judgements:
            verdicts |= j.verdicts or {}
        errors = [j.error for j in judgements if j.error is not None]
        if errors:
            detail = "; ".join(errors)
            return Score(
                value={**{k: math.nan for k in METRIC_KEYS}, OVERALL: math.nan, FORMAT_OK: 1},
                answer=completion,
                explanation=f"unscored: the judge gave no usable answer ({detail})",
                reason="grader_failed",
                metadata={
                    **meta,
                    "judge_error": detail,
                    # per_metric: the metrics that did succeed, kept for audit but not scored.
                    "partial_scores": {k: v.score for k, v in verdicts.items()},
                    "rationales": {k: v.rationale for k, v in verdicts.items()},
                },
            )
        scores = {k: verdicts[k].score for k in METRIC_KEYS}
        return Score(
            value={**scores, OVERALL: sum(scores.values()) / len(scores), FORMAT_OK: 1},
            answer=completion,
            explanation="\n".join(f"{k}: {verdicts[k].score} - {verdicts[k].rationale}" for k in METRIC_KEYS),
            metadata={**meta, "rationales": {k: verdicts[k].rationale for k in METRIC_KEYS}},
        )

    return score


async def _judge(
    grader: Model,
    messages: list[Any],
    metric_key: str | None,
    language: str,
    max_retries: int,
    structured_output: bool,
) -> _Judgement:
    """Ask until a reply validates, at most 1 + max_retries calls; each call is recorded."""
    config = GenerateConfig(
        temperature=0, response_schema=response_schema(metric_key) if structured_output else None
    )
    conversation = list(messages)
    out = _Judgement()
    for attempt in range(max_retries + 1):
        output = await grader.generate(conversation, config=config, cache=JUDGE_CACHE)
        record: dict[str, Any] = {
            "metric": metric_key or "all",
            "attempt": attempt,
            "model": output.model,
            "completion": output.completion,
            "usage": output.usage.model_dump(exclude_none=True) if output.usage else None,
            "error": None,
        }
        out.calls.append(record)
        try:
            out.verdicts = parse_verdict(output.completion, metric_key)
            return out
        except VerdictError as e:
            record["error"] = str(e)
            conversation += [output.message, correction_message(language, str(e))]
    out.error = f"{metric_key or 'all metrics'}: {len(out.calls)} replies, none usable; last: {out.calls[-1]['error']}"
    return out


def _sample_context(state: TaskState) -> tuple[str, str, str]:
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


def _token_totals(calls: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"judge_input_tokens": 0, "judge_output_tokens": 0, "judge_total_tokens": 0}
    for c in calls:
        usage = c["usage"] or {}
        totals["judge_input_tokens"] += usage.get("input_tokens", 0)
        totals["judge_output_tokens"] += usage.get("output_tokens", 0)
        totals["judge_total_tokens"] += usage.get("total_tokens", 0)
    return totals


def _is_nan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)
