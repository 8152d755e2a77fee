"""The seven-metric rubric LLM judge (EmplifAI task 2), Inspect-native.

The judge is always ``get_model(role="grader")``: bind it with ``--model-role grader=<model>``
(``eval(..., model_roles={"grader": ...})``). Inspect falls back to the candidate model when a
role is unbound, so the scorer checks the bound roles itself and stops with a clear error;
``check_grader()`` does the same as a setup solver so a run stops before any model call.

Per sample:
- reasoning blocks are removed from the candidate's output (kept in ``candidate_reasoning``), which
  is then read with ``parse_dialogue``; a format failure (including a copied template or a repeated
  turn) is scored 1 on every metric without a judge call (the paper's rule), ``format_ok`` = 0;
- otherwise the judge is asked once for all seven metrics (``mode="all"``) or once per metric
  (``mode="per_metric"``), at temperature 0, with JSON-schema structured output where the provider
  is known to support it (``structured``); every reply goes through ``parse_verdict`` (one verdict
  object, exact keys, integer scores 1..5, real rationales) and an unusable one is retried with a
  short corrective message, at most ``max_retries`` times;
- only a reply that validated is cached (``judge_cache``): a re-run, ``inspect score`` or
  ``inspect eval-retry`` gets validated verdicts back for free and re-judges exactly the samples
  that were unscored;
- a sample whose judge never gave a usable answer is unscored: every metric key holds NaN,
  which Inspect skips in the per-key metrics (and counts in ``unscored_samples``), the
  ``unscored`` metric counts it, ``Score.reason`` = "grader_failed" and
  ``metadata.unscored_reason`` = "ambiguous" (two different verdicts in the last reply) or
  "invalid_reply". Never a made-up score.
- with several epochs the task uses the ``judged_mean`` reducer: a sample is unscored unless every
  epoch was scored, and the reduced Score says how many epochs were scored, unscored and format
  failures.

Each judge reply is stored once per call: in the log's model event for a call made in this run,
in ``metadata.calls[i].reply`` for a reply served from the verdict cache (no model event exists
then). ``judge_replies(sample)`` gives an audit every raw reply of a sample either way.
"""

from __future__ import annotations

import hashlib
import math
from logging import getLogger
from typing import Any

from inspect_ai.log import EvalSample
from inspect_ai.model import ChatMessageAssistant, GenerateConfig, Model, ModelOutput, get_model, model_roles
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    ScoreReducer,
    Target,
    mean,
    mean_score,
    metric,
    score_reducer,
    scorer,
    stderr,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import collect

from emplifai.dialogue_format import FormatFailure, parse_dialogue, strip_reasoning
from emplifai.errors import UserError
from emplifai.params import int_param
from emplifai.scorers import judge_cache
from emplifai.scorers.judge_prompt import (
    JUDGE_PROMPT_SHA256,
    JUDGE_PROMPT_VERSION,
    RATIONALE_MAX_CHARS,
    MetricVerdict,
    VerdictError,
    correction_message,
    judge_messages,
    parse_verdict,
    response_schema,
)
from emplifai.scorers.rubrics import ALL_METRIC_KEYS, LANGUAGES, METRIC_KEYS, RUBRIC_NAMES, load_rubrics, rubric_hashes
from emplifai.taxonomy import BY_LABEL

logger = getLogger(__name__)

GRADER_ROLE = "grader"
MODES: tuple[str, ...] = ("all", "per_metric")
STRUCTURED: tuple[str, ...] = ("auto", "on", "off")
OVERALL = "overall"
FORMAT_OK = "format_ok"
# structured="auto" sends the JSON schema to these providers (the prefix of the grader's name):
# the ones whose Inspect provider passes `response_schema` on and whose servers honour it. Any
# other provider (hf/ ignores the schema; llama-cpp-python's server rejects json_schema with an
# HTTP 500; providers not listed are unknown) is asked without it. mockllm ignores the schema; it
# is listed so the tests see what a real provider receives. Replies are validated either way.
SCHEMA_PROVIDERS: frozenset[str] = frozenset(
    {
        "openai", "openai-api", "azureai", "anthropic", "google", "vertex", "mistral", "grok", "groq",
        "deepseek", "bedrock", "together", "fireworks", "openrouter", "vllm", "sglang", "ollama",
        "gguf", "mockllm",
    }
)
# A rejected reply is sent back to the judge with the correction; beyond this many characters it
# is cut (the judge only needs to see what went wrong, and the log need not copy it again).
RETRY_ECHO_CHARS = 2000

_warned_same: set[tuple[str, str]] = set()


def require_grader() -> Model:
    """The model bound to the "grader" role; ``UserError`` (one line, no traceback) if none is bound.

    Call it inside a running eval (a solver, a scorer). ``get_model(role="grader")`` alone would
    silently return the candidate model when the role is unbound.
    """
    if GRADER_ROLE not in model_roles():
        raise UserError(
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


def enforces_string_length(grader: Model) -> bool:
    """Whether the grader's provider says it enforces a response schema's ``maxLength`` while
    decoding (the ``gguf/`` provider does; hosted APIs are not assumed to accept the keyword)."""
    return bool(getattr(grader.api, "enforces_string_length", False))


def structured_for(grader: str, structured: str) -> bool:
    """Whether the judge asks the grader named ``grader`` ("provider/model") for JSON-schema output:
    "on", "off", or for "auto" whether the provider (the name before the first "/") is in
    ``SCHEMA_PROVIDERS``."""
    if structured == "auto":
        return grader.split("/", 1)[0] in SCHEMA_PROVIDERS
    return structured == "on"


class _Judgement:
    """The outcome of one judged question (all metrics, or one), with every call it took.

    A plain class, not a dataclass: `inspect score --scorer scorers/rubric_judge.py@rubric_judge`
    loads this file outside sys.modules, where dataclass creation fails.
    """

    def __init__(self, question: str) -> None:
        self.question = question
        self.verdicts: dict[str, MetricVerdict] | None = None
        self.calls: list[dict[str, Any]] = []
        self.error: str | None = None
        self.error_kind: str | None = None  # "ambiguous" | "invalid" of the last reply when failed


@scorer(
    metrics=[
        # Every key any rubric scores: Inspect resolves these against the keys a run's scores
        # have, so a run with the seven metrics and an "epitome" run each get their own.
        {key: [mean(), stderr()] for key in (*ALL_METRIC_KEYS, OVERALL)},
        format_failure_rate(),
        unscored(),
    ],
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
        # parse_dialogue removes reasoning blocks itself and hands back what it removed.
        dialogue = parse_dialogue(state.output.completion, language)
        completion, _ = strip_reasoning(state.output.completion)
        if dialogue.reasoning:
            meta["candidate_reasoning"] = dialogue.reasoning
        if isinstance(dialogue, FormatFailure):
            return Score(
                value={**{k: 1 for k in keys}, OVERALL: 1.0, FORMAT_OK: 0},
                answer=completion,
                explanation=f"format failure (every metric = 1): {dialogue.reason}",
                reason="invalid_response_format",
                metadata={**meta, "format_ok": False, "format_reason": dialogue.reason, "judge_calls": 0},
            )

        emotion, emotion_ja, situation = _sample_context(state)
        config = GenerateConfig(temperature=0, max_tokens=max_tokens)
        questions = [None] if mode == "all" else list(keys)
        judgements = await collect(
            *(
                _judge(
                    grader,
                    judge_messages(
                        rubrics, dialogue, emotion=emotion, emotion_ja=emotion_ja, situation=situation, metric=q,
                        structured=schema_on,
                    ),
                    q,
                    language,
                    max_retries,
                    config.merge(GenerateConfig(response_schema=response_schema(q, keys, bound))) if schema_on else config,
                    cache,
                    keys,
                )
                for q in questions
            )
        )
        calls = [c for j in judgements for c in j.calls]
        model_calls = [c for c in calls if c["source"] == "model"]
        meta |= {
            "format_ok": True,
            "judge_calls": len(model_calls),
            "cache_hits": sum(1 for c in calls if c["source"] == "cache" and c["error"] is None),
            "retries": sum(1 for c in model_calls if c["attempt"] > 0),
            "calls": calls,
            **_token_totals(model_calls),
        }
        verdicts: dict[str, MetricVerdict] = {}
        for j in judgements:
            verdicts |= j.verdicts or {}
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

    return score


async def _judge(
    grader: Model,
    messages: list[Any],
    metric_key: str | None,
    language: str,
    max_retries: int,
    config: GenerateConfig,
    use_cache: bool,
    keys: tuple[str, ...] = METRIC_KEYS,
) -> _Judgement:
    """A validated verdict from the cache, else ask until a reply validates (at most
    1 + max_retries calls); every call and cache read is recorded, and only a validated reply is
    cached, under the first messages."""
    out = _Judgement(metric_key or "all")
    path = judge_cache.entry_path(grader, judge_cache.verdict_key(grader, messages, config)) if use_cache else None
    cached = judge_cache.fetch(path)
    if cached is not None:
        record = _record(out.question, None, "cache", cached)
        record["reply"] = cached.completion  # no model event in this log holds it
        out.calls.append(record)
        try:
            out.verdicts = parse_verdict(cached.completion, metric_key, keys)
            return out
        except VerdictError as e:
            # Stored under older, looser rules: ignore it; the next usable reply overwrites it.
            record["error"], record["error_kind"] = str(e), e.kind
    conversation = list(messages)
    for attempt in range(max_retries + 1):
        output = await grader.generate(conversation, config=config, cache=False)
        record = _record(out.question, attempt, "model", output)
        out.calls.append(record)
        if output.stop_reason == "model_length" and not output.completion.lstrip().startswith("{"):
            # The judge's context window is full: a retry would only make the conversation longer.
            record["error"], record["error_kind"] = f"the judge's context window is full ({output.completion[:200]})", "context"
            break
        try:
            out.verdicts = parse_verdict(output.completion, metric_key, keys)
        except VerdictError as e:
            record["error"], record["error_kind"] = str(e), e.kind
            if output.stop_reason == "model_length":
                break  # the reply filled the context window: a retry would not fit either
            conversation += [_echo(output), correction_message(language, str(e))]
            continue
        judge_cache.store(path, output)
        return out
    last = out.calls[-1]
    out.error = f"{out.question}: {len(out.calls)} replies, none usable; last: {last['error']}"
    out.error_kind = last["error_kind"]
    return out


def _record(question: str, attempt: int | None, source: str, output: ModelOutput) -> dict[str, Any]:
    """What the Score keeps of one reply: a reference to it (sha256, length), not a copy."""
    text = output.completion
    _, reasoning = strip_reasoning(text)
    return {
        "metric": question,
        "attempt": attempt,
        "source": source,
        "model": output.model,
        "reply_sha256": _sha256(text),
        "reply_chars": len(text),
        "reasoning_chars": len(reasoning),
        "usage": output.usage.model_dump(exclude_none=True) if output.usage else None,
        "error": None,
        "error_kind": None,
    }


def _echo(output: ModelOutput) -> ChatMessageAssistant:
    """The rejected reply as the judge's turn of the retry conversation: reasoning removed, cut to
    RETRY_ECHO_CHARS."""
    text, _ = strip_reasoning(output.completion)
    text = text.strip()
    if len(text) > RETRY_ECHO_CHARS:
        text = text[:RETRY_ECHO_CHARS] + f"\n[... {len(text) - RETRY_ECHO_CHARS} characters cut]"
    return ChatMessageAssistant(content=text or "(empty)", model=output.model)


def judge_replies(sample: EvalSample, scorer_name: str = "rubric_judge") -> dict[str, str]:
    """Every raw judge reply of a logged sample, by the ``reply_sha256`` its Score's ``calls`` name.

    Replies of calls made in that run are read from the sample's model events; replies served from
    the verdict cache from the Score metadata. A call whose reply is found nowhere is missing from
    the result (an audit can compare the keys with ``calls``).
    """
    score = (sample.scores or {}).get(scorer_name)
    calls = (score.metadata or {}).get("calls", []) if score is not None else []
    wanted = {c["reply_sha256"] for c in calls}
    found = {c["reply_sha256"]: c["reply"] for c in calls if "reply" in c}
    for event in sample.events:
        if event.event == "model" and event.output is not None:
            text = event.output.completion
            digest = _sha256(text)
            if digest in wanted:
                found.setdefault(digest, text)
    return found


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        first_failed = next((s for s in scores if _is_nan(s.as_dict().get(OVERALL))), None)
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
    """Tokens of the calls made in this run (cache reads cost nothing)."""
    totals = {"judge_input_tokens": 0, "judge_output_tokens": 0, "judge_total_tokens": 0}
    for c in calls:
        usage = c["usage"] or {}
        totals["judge_input_tokens"] += usage.get("input_tokens", 0)
        totals["judge_output_tokens"] += usage.get("output_tokens", 0)
        totals["judge_total_tokens"] += usage.get("total_tokens", 0)
    return totals


def _is_nan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)
