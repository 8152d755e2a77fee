"""The pairwise rubric judge: does the candidate's dialogue beat the baseline dialogue of the same
(emotion, situation)? Inspect-native, beside the absolute judge (``scorers/rubric_judge.py``), whose
grader binding, structured-output rule, retry rule, validated-only cache and unscored rule it uses.

Per sample (the task puts the baseline dialogue in the sample metadata, the candidate's is the
sample's output):
- both dialogues are read with ``parse_dialogue``; when either is not in the format, no judge is
  asked and every metric gets the format outcome (``pairwise_stats.format_outcome``); a dialogue
  that does not exist (not in the log it was to come from) makes the sample unscored;
- otherwise the grader is asked twice, concurrently: candidate as A and baseline as B, then the
  other way round, each a validated reply (``parse_pair_verdict``), retried with a short
  correction at most ``max_retries`` times, cached only once it validated (``judge_cache``);
- per metric the two judgements are combined (``pairwise_stats.combine_orders``: agreement gives
  win 1 / tie 0.5 / loss 0, disagreement a tie recorded as position-inconsistent);
- a sample where either order never gave a usable reply is unscored: every outcome key and
  ``position_consistency`` are NaN (Inspect leaves them out of the means and counts them as
  unscored), ``Score.reason`` = "grader_failed". Never a made-up outcome.

Score value: ``overall`` (mean over the metrics) first, each metric's outcome,
``position_consistency`` (share of the metrics whose two judgements agreed; NaN without a judge
call), ``candidate_format_ok`` and ``baseline_format_ok``. Metrics, per key: the mean with its
bootstrap CI (``ci_low``, ``ci_high``); for ``overall`` also the length-controlled win rate and
its length slope (``pairwise_stats``); for ``position_consistency`` also the share of non-tie
judgements given to whichever dialogue was shown as A. Each key's ``unscored_samples`` counts
the samples without an outcome.
"""

from __future__ import annotations

import math
from logging import getLogger
from typing import Any

from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, mean, metric, scorer
from inspect_ai.solver import TaskState
from inspect_ai.util import collect

from emplifai.dialogue_format import FormatFailure, ParsedDialogue, parse_dialogue, strip_reasoning
from emplifai.errors import UserError
from emplifai.scorers.judge_loop import Judgement, ask_until_valid, token_totals
from emplifai.scorers.judge_prompt import RATIONALE_MAX_CHARS
from emplifai.scorers.pairwise_prompt import (
    PAIRWISE_PROMPT_SHA256,
    PAIRWISE_PROMPT_VERSION,
    PairVerdict,
    correction_message,
    pairwise_messages,
    parse_pair_verdict,
    response_schema,
)
from emplifai.scorers.pairwise_stats import (
    LengthControlled,
    bootstrap_ci,
    combine_orders,
    first_position_share,
    format_outcome,
    length_controlled_ci,
    length_controlled_win_rate,
)
from emplifai.scorers.rubric_judge import (
    STRUCTURED,
    enforces_string_length,
    grader_is_candidate,
    require_grader,
    sample_context,
    structured_for,
)
from emplifai.scorers.rubrics import ALL_METRIC_KEYS, LANGUAGES, RUBRIC_NAMES, load_rubrics, rubric_hashes
from emplifai.solvers.probe_replay import PROBE_ERROR

logger = getLogger(__name__)

OVERALL = "overall"
POSITION_CONSISTENCY = "position_consistency"
CANDIDATE_FORMAT_OK = "candidate_format_ok"
BASELINE_FORMAT_OK = "baseline_format_ok"
# Sample metadata the task fills in.
BASELINE_DIALOGUE = "baseline_dialogue"
BASELINE_MISSING = "baseline_missing"
CANDIDATE_MISSING = "candidate_missing"
# The two orders a pair is judged in: which side is shown as A.
ORDERS: tuple[tuple[str, str], ...] = (("candidate_as_a", "candidate"), ("candidate_as_b", "baseline"))


def same_name(grader: str, writer: str | None) -> bool:
    """Whether a logged writer's model name is the grader's, also across providers
    (``openrouter/openai/x`` vs ``openai/x``), as ``rubric_judge.same_model`` compares models."""
    if not writer or writer in ("none/none", "reference"):
        return False
    a, b = grader.split("/", 1)[-1], writer.split("/", 1)[-1]
    return grader == writer or a == b or a.endswith("/" + b) or b.endswith("/" + a)


_warned_wrote: set[tuple[str, str, str]] = set()


def _wrote(grader: str, writer: str | None, side: str) -> bool:
    """``same_name``, with a warning once per (grader, writer, side) when the grader wrote that side."""
    if not same_name(grader, writer):
        return False
    if (grader, str(writer), side) not in _warned_wrote:
        _warned_wrote.add((grader, str(writer), side))
        logger.warning(f"The grader ({grader}) wrote the {side} dialogues ({writer}): its preferences are "
                       "self-judgements and likely biased. Bind a different model with --model-role grader=...")
    return True


def supporter_chars(dialogue: ParsedDialogue) -> int:
    """Characters of the two supporter replies, line breaks excluded (the reply_length scorer's
    ``chars``, summed): the length the length-controlled win rate controls for."""
    return sum(len(reply.replace("\n", "")) for reply in dialogue.supporter_replies())


@metric
def bootstrap() -> Metric:
    """95% percentile bootstrap CI of the mean over samples (``pairwise_stats.bootstrap_ci``)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        low, high = bootstrap_ci([float(s.score.as_float()) for s in scores])
        return {"ci_low": low, "ci_high": high}

    return compute


def _length_data(scores: list[SampleScore]) -> tuple[list[float], list[float], list[float]]:
    """(``overall``, candidate length, baseline length) of the judged samples, in sample-id order
    (the bootstrap of the length-controlled win rate then does not depend on the order samples
    finished in)."""
    outcomes, cand, base = [], [], []
    for s in sorted(scores, key=lambda s: str(s.sample_id)):
        md = s.score.metadata or {}
        if md.get("judged"):
            outcomes.append(float(s.score.as_float()))
            cand.append(float(md["candidate_chars"]))
            base.append(float(md["baseline_chars"]))
    return outcomes, cand, base


def _length_fit(scores: list[SampleScore]) -> LengthControlled:
    """The length-controlled fit over the judged samples."""
    return length_controlled_win_rate(*_length_data(scores))


@metric
def lc_interval() -> Metric:
    """95% bootstrap CI of the length-controlled win rate (``pairwise_stats.length_controlled_ci``)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        low, high, _ = length_controlled_ci(*_length_data(scores))
        return {"lc_ci_low": low, "lc_ci_high": high}

    return compute


@metric(name="length_controlled_win_rate")
def length_controlled_win_rate_metric() -> Metric:
    """The length-controlled win rate of ``overall`` (AlpacaEval-style, ``pairwise_stats``) over
    the samples where both dialogues were judged; NaN where it cannot be estimated."""

    def compute(scores: list[SampleScore]) -> float:
        return _length_fit(scores).lc_win_rate

    return compute


@metric
def lc_extrapolated() -> Metric:
    """1 when the length-controlled win rate is an extrapolation (every pair's length difference
    has the same sign, so zero difference lies outside the data), 0 when not, NaN without one."""

    def compute(scores: list[SampleScore]) -> float:
        fit = _length_fit(scores)
        if math.isnan(fit.lc_win_rate):
            return math.nan
        return float(fit.note.startswith("extrapolated"))

    return compute


@metric
def length_slope() -> Metric:
    """The slope of that fit on the tanh-standardised length difference (> 0: longer wins more)."""

    def compute(scores: list[SampleScore]) -> float:
        return _length_fit(scores).slope

    return compute


@metric
def first_position_preference() -> Metric:
    """Share of all non-tie single-order judgements that went to the dialogue shown as A: 0.5 is
    no position preference, 1.0 a judge that always answers "A"."""

    def compute(scores: list[SampleScore]) -> float:
        a = sum(int((s.score.metadata or {}).get("position_counts", {}).get("A", 0)) for s in scores)
        b = sum(int((s.score.metadata or {}).get("position_counts", {}).get("B", 0)) for s in scores)
        return first_position_share(a, b)

    return compute


def pairwise_metrics() -> dict[str, list[Metric]]:
    """The pairwise judge's metrics, by Score key (one dict, so the results list ``overall``
    first: Inspect lists a scorer's plain metrics before its keyed ones). Unscored samples are
    each key's ``unscored_samples``."""
    return {
        OVERALL: [
            mean(), bootstrap(), length_controlled_win_rate_metric(), lc_interval(), lc_extrapolated(), length_slope(),
        ],
        **{key: [mean(), bootstrap()] for key in ALL_METRIC_KEYS},
        POSITION_CONSISTENCY: [mean(), bootstrap(), first_position_preference()],
        CANDIDATE_FORMAT_OK: [mean()],
        BASELINE_FORMAT_OK: [mean()],
    }


@scorer(
    metrics=pairwise_metrics(),
    rubric_versions=rubric_hashes(),
    judge_prompt=f"{PAIRWISE_PROMPT_VERSION} sha256:{PAIRWISE_PROMPT_SHA256}",
)
def pairwise_judge(
    language: str = "ja",
    max_retries: int = 2,
    structured: str = "auto",
    max_tokens: int | None = None,
    cache: bool = True,
    rubric: str = "default",
) -> Scorer:
    """The candidate's dialogue against the baseline's, per rubric metric, judged in both orders.

    Args:
        language: Language of the rubric and the judge prompt: "ja" or "en".
        max_retries: Corrective retries after an unusable judge reply, per order (>= 0).
        structured: JSON-schema constrained output: "on", "off", or "auto" (the absolute judge's
            rule, ``rubric_judge.structured_for``). Replies are validated the same way either way.
        max_tokens: Token limit of each judge reply (None = the grader's own config).
        cache: Reuse validated verdicts from earlier runs (``judge_cache``); False = always ask.
        rubric: The rubric set the judge sees ("default", "neutral", "epitome"; scorers/rubrics.py).
    """
    if language not in LANGUAGES:
        raise UserError(f"pairwise_judge: language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise UserError(f"pairwise_judge: max_retries must be an integer >= 0, got {max_retries!r}")
    if structured not in STRUCTURED:
        raise UserError(f"pairwise_judge: structured must be one of {', '.join(STRUCTURED)}, got {structured!r}")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise UserError(f"pairwise_judge: max_tokens must be a positive integer or None, got {max_tokens!r}")
    if rubric not in RUBRIC_NAMES:
        raise UserError(f"pairwise_judge: rubric must be one of {', '.join(RUBRIC_NAMES)}, got {rubric!r}")
    rubrics = load_rubrics(language, rubric)
    keys = rubrics.keys

    async def score(state: TaskState, target: Target) -> Score:
        grader = require_grader()
        schema_on = structured_for(str(grader), structured)
        bound = RATIONALE_MAX_CHARS[language] if schema_on and enforces_string_length(grader) else None
        md = state.metadata or {}
        meta: dict[str, Any] = {
            "judge_model": str(grader),
            # A judge comparing its own dialogue with another is a self-preference test, not a
            # measurement: flagged for either side (the logged writer's name for a log).
            "grader_is_candidate": (grader_is_candidate(grader) if md.get("candidate_model") is None
                                    else _wrote(str(grader), md["candidate_model"], "candidate")),
            "grader_is_baseline": _wrote(str(grader), md.get("baseline_model"), "baseline"),
            "language": language,
            **rubrics.provenance(),
            "judge_prompt_version": PAIRWISE_PROMPT_VERSION,
            "judge_prompt_sha256": PAIRWISE_PROMPT_SHA256,
            "structured": schema_on,
            "rationale_max_chars_enforced": bound,
            "judge_max_tokens": max_tokens,
            "baseline_source": md.get("baseline_source"),
            "candidate_source": md.get("candidate_source"),
            "judged": False,
        }
        missing = _missing_side(md)
        if missing is not None:
            return _missing_score(keys, state, meta, missing, md)
        candidate = parse_dialogue(state.output.completion, language)
        baseline = parse_dialogue(str(md[BASELINE_DIALOGUE]), language)
        answer, _ = strip_reasoning(state.output.completion)
        if isinstance(candidate, FormatFailure) or isinstance(baseline, FormatFailure):
            return _format_score(keys, candidate, baseline, answer, meta)
        meta |= {"candidate_chars": supporter_chars(candidate), "baseline_chars": supporter_chars(baseline)}
        emotion, emotion_ja, situation = sample_context(state)
        config = GenerateConfig(temperature=0, max_tokens=max_tokens)
        if schema_on:
            config = config.merge(GenerateConfig(response_schema=response_schema(keys, bound)))
        shown = {"candidate_as_a": (candidate, baseline), "candidate_as_b": (baseline, candidate)}
        judgements = await collect(
            *(
                ask_until_valid(
                    grader,
                    pairwise_messages(rubrics, *shown[order], emotion=emotion, emotion_ja=emotion_ja,
                                      situation=situation, structured=schema_on),
                    lambda reply: parse_pair_verdict(reply, keys),
                    question=order, correction=lambda error: correction_message(language, error),
                    max_retries=max_retries, config=config, use_cache=cache,
                )
                for order, _ in ORDERS
            )
        )
        return _judged_score(keys, judgements, answer, meta)

    return score


def _missing_side(md: dict[str, Any]) -> str | None:
    """Why a side has no dialogue at all, or None when both exist."""
    if md.get(CANDIDATE_MISSING):
        return f"no candidate dialogue: {md[CANDIDATE_MISSING]}"
    if md.get(PROBE_ERROR):  # the probe perturber wrote no usable rewrite (pairwise probes)
        return f"no probe dialogue: {md[PROBE_ERROR]}"
    if md.get(BASELINE_MISSING) or md.get(BASELINE_DIALOGUE) is None:
        return f"no baseline dialogue: {md.get(BASELINE_MISSING) or 'the sample metadata has none'}"
    return None


def _missing_score(keys: tuple[str, ...], state: TaskState, meta: dict[str, Any], why: str, md: dict[str, Any]) -> Score:
    def ok(text: Any, missing: Any) -> float:
        if missing or text is None:
            return math.nan
        return float(not isinstance(parse_dialogue(str(text), meta["language"]), FormatFailure))

    cand_ok = ok(state.output.completion, md.get(CANDIDATE_MISSING))
    base_ok = ok(md.get(BASELINE_DIALOGUE), md.get(BASELINE_MISSING))
    return Score(
        value={OVERALL: math.nan, **{k: math.nan for k in keys}, POSITION_CONSISTENCY: math.nan,
               CANDIDATE_FORMAT_OK: cand_ok, BASELINE_FORMAT_OK: base_ok},
        answer=state.output.completion,
        explanation=f"unscored (missing_dialogue): {why}",
        reason="missing_dialogue",
        metadata={**meta, "unscored_reason": "missing_dialogue", "missing": why, "judge_calls": 0},
    )


def _format_score(
    keys: tuple[str, ...], candidate: ParsedDialogue | FormatFailure, baseline: ParsedDialogue | FormatFailure,
    answer: str, meta: dict[str, Any],
) -> Score:
    cand_ok, base_ok = not isinstance(candidate, FormatFailure), not isinstance(baseline, FormatFailure)
    outcome = format_outcome(cand_ok, base_ok)
    reasons = {side: d.reason for side, d in (("candidate", candidate), ("baseline", baseline))
               if isinstance(d, FormatFailure)}
    return Score(
        value={OVERALL: outcome, **{k: outcome for k in keys}, POSITION_CONSISTENCY: math.nan,
               CANDIDATE_FORMAT_OK: int(cand_ok), BASELINE_FORMAT_OK: int(base_ok)},
        answer=answer,
        explanation="format failure, no judge call (every metric = {}): {}".format(
            outcome, "; ".join(f"{side}: {why}" for side, why in reasons.items())),
        reason="invalid_response_format",
        metadata={**meta, "format_reasons": reasons, "judge_calls": 0},
    )


def _judged_score(keys: tuple[str, ...], judgements: list[Judgement], answer: str, meta: dict[str, Any]) -> Score:
    calls = [c for j in judgements for c in j.calls]
    model_calls = [c for c in calls if c["source"] == "model"]
    meta |= {
        "judge_calls": len(model_calls),
        "cache_hits": sum(1 for c in calls if c["source"] == "cache" and c["error"] is None),
        "retries": sum(1 for c in model_calls if c["attempt"] > 0),
        "calls": calls,
        **token_totals(model_calls),
        "orders": {
            j.question: {
                "shown_as_a": dict(ORDERS)[j.question],
                "preferred": {k: v.preferred for k, v in (j.answer or {}).items()},
                "rationales": {k: v.rationale for k, v in (j.answer or {}).items()},
            }
            for j in judgements
        },
    }
    failed = [j for j in judgements if j.error is not None]
    if failed:
        detail = "; ".join(j.error or "" for j in failed)
        why = "ambiguous" if any(j.error_kind == "ambiguous" for j in failed) else "invalid_reply"
        return Score(
            value={OVERALL: math.nan, **{k: math.nan for k in keys}, POSITION_CONSISTENCY: math.nan,
                   CANDIDATE_FORMAT_OK: 1, BASELINE_FORMAT_OK: 1},
            answer=answer,
            explanation=f"unscored ({why}): the judge gave no usable answer ({detail})",
            reason="grader_failed",
            metadata={**meta, "unscored_reason": why, "judge_error": detail},
        )
    as_a, as_b = (j.answer for j in judgements)
    assert as_a is not None and as_b is not None
    outcomes: dict[str, float] = {}
    inconsistent: list[str] = []
    for k in keys:
        outcomes[k], consistent = combine_orders(as_a[k].preferred, as_b[k].preferred)
        if not consistent:
            inconsistent.append(k)
    counts = {p: sum(1 for v in (*as_a.values(), *as_b.values()) if v.preferred == p) for p in ("A", "B", "tie")}
    return Score(
        value={OVERALL: sum(outcomes.values()) / len(outcomes), **outcomes,
               POSITION_CONSISTENCY: 1 - len(inconsistent) / len(keys),
               CANDIDATE_FORMAT_OK: 1, BASELINE_FORMAT_OK: 1},
        answer=answer,
        explanation="\n".join(_explain(k, outcomes[k], as_a[k], as_b[k]) for k in keys),
        metadata={**meta, "judged": True, "position_inconsistent": inconsistent, "position_counts": counts},
    )


def _explain(key: str, outcome: float, as_a: PairVerdict, as_b: PairVerdict) -> str:
    word = {1.0: "win", 0.5: "tie", 0.0: "loss"}[outcome]
    return (f"{key}: {word} (candidate as A: {as_a.preferred} - {as_a.rationale} | "
            f"candidate as B: {as_b.preferred} - {as_b.rationale})")
