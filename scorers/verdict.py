"""The checks every LLM-judge answer goes through, shared by every judge of the project.

Public, reusable pieces (the pairwise judge uses them as the rubric judge does):

- ``single_answer(text, is_answer)``: the one JSON answer object of a reply. Reasoning blocks
  are removed first; the answer may stand alone or sit in a code block or prose (a brace in prose
  that opens no JSON is skipped); two different answer objects raise ``AmbiguousVerdict``; a key
  given twice anywhere in the answer raises ``DuplicateAnswer`` ("two answers for one metric");
  brackets nested deeper than ``emplifai.json_answer.MAX_DEPTH`` and a reply that ends inside an
  unfinished object are refused with a reason saying so. Raises nothing but ``VerdictError``.
- ``check_rationale(text)``: why a rationale is not a real reason (empty; no word; a placeholder
  such as ``N/A``, ``<rationale>``, ``（根拠）``, ``TODO``, ``なし``; a bare number; the answer
  format's own placeholder; a rubric's own level text), or None.
- ``MetricVerdict`` / ``verdict_model(keys)``: the pydantic shape of one metric's verdict and of
  all of them (exact keys, integer scores 1..5, ``check_rationale`` on every rationale).
- ``parse_verdict(text, metric, keys)``: the rubric judge's reader, built from the three above.

A ``VerdictError``'s message is short: it goes back to the judge as the corrective message of a
retry and into the Score's reason.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, create_model, field_validator

from emplifai.dialogue_format import loose_form, strip_reasoning
from emplifai.json_answer import JSONAnswerError, ObjectsFound, TooDeep, duplicate_keys, find_objects, loads
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.rubrics import LANGUAGES, RUBRIC_NAMES, load_rubrics

# The answer format's placeholders, per language: the prompt shows them (judge_prompt._TEXT takes
# them from here), and a judge that copies one as its rationale has given no reason.
ANSWER_PLACEHOLDERS: dict[str, dict[str, str]] = {
    "ja": {"rationale": "<短い根拠>", "score": "<1〜5の整数>"},
    "en": {"rationale": "<short reason>", "score": "<integer 1-5>"},
}

# Words that stand in for a reason (matched on the loose form, brackets peeled): what small
# models and careless templates write when they have nothing to say.
_PLACEHOLDER_WORDS = frozenset(
    {
        "n/a", "na", "n.a", "none", "null", "nil", "nan", "todo", "tbd", "tba", "fixme", "xxx", "placeholder",
        "short reason", "a short reason", "your reason", "reason here", "rationale here", "...", "-", "--",
        "根拠をここに", "理由をここに", "ここに根拠", "ここに理由", "なし", "無し", "特になし", "特に無し",
        "未記入", "省略", "略",
    }
)
# The bare names of a slot, refused when written as one (in brackets: （根拠）, [reason], ‹理由>).
_SLOT_WORDS = frozenset(
    {"rationale", "reason", "reasons", "explanation", "comment", "text", "string", "根拠", "理由", "短い根拠",
     "説明", "コメント"}
)
_OPEN_BRACKETS = "(<[{（＜［｛「『【〔〈《‹«\"'*_"
_CLOSE_BRACKETS = ")>]}）＞］｝」』】〕〉》›»\"'*_"
# A whole rationale in angle brackets is a template slot (<短い根拠>, ‹理由>, <your reason>).
_ANGLE_OPEN, _ANGLE_CLOSE = "<＜‹〈《«", ">＞›〉》»"
_BARE_NUMBER = re.compile(r"^(?:score\s*)?[0-9]+(?:\s*(?:点|points?|/\s*5))?$")
_LEVEL_PREFIX = re.compile(r"^(?:level\s*|レベル\s*)?[1-5]\s*[:：.)]\s*")


class VerdictError(ValueError):
    """A judge reply that cannot be used; the message is short enough to send back to the judge."""

    kind = "invalid"


class AmbiguousVerdict(VerdictError):
    """A reply holding two or more different answers: which one is meant is unknown."""

    kind = "ambiguous"


class DuplicateAnswer(AmbiguousVerdict):
    """A key given twice in one answer object (JSON readers silently keep the last one)."""


def _peeled(text: str) -> str:
    """The loose form with any bracket, quote or emphasis peeled off either end, matched or not
    (``‹理由>`` -> ``理由``)."""
    s = loose_form(text)
    while len(s) >= 1:
        before = s
        if s and s[0] in _OPEN_BRACKETS:
            s = s[1:].strip()
        if s and s[-1] in _CLOSE_BRACKETS:
            s = s[:-1].strip()
        s = s.rstrip("。.、,!?…:：").strip()
        if s == before:
            break
    return s


@cache
def _format_placeholders() -> dict[str, str]:
    return {loose_form(p): p for t in ANSWER_PLACEHOLDERS.values() for p in t.values()}


@cache
def _rubric_texts() -> frozenset[str]:
    """Every rubric level text and definition of every rubric set, in loose form."""
    texts: set[str] = set()
    for language in LANGUAGES:
        for name in RUBRIC_NAMES:
            for r in load_rubrics(language, name).rubrics:
                texts.update(_peeled(t) for t in (*r.levels, r.definition))
    return frozenset(t for t in texts if t)


def check_rationale(text: str) -> str | None:
    """Why ``text`` is not a real reason for a score, or None when it is one (see the module doc)."""
    if not text.strip():
        return "empty rationale"
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        # "); " or "..." names nothing: no word, no number (SmolLM2 wrote "); " under minLength 1).
        return f"the rationale {text[:20]!r} has no word in it, not a reason"
    copied = _format_placeholders().get(loose_form(text))
    if copied is not None:
        return f"the rationale is the answer format's placeholder {copied!r}, not a reason"
    norm = unicodedata.normalize("NFKC", text).strip()
    peeled = _peeled(text)
    bracketed = norm[:1] in _OPEN_BRACKETS and norm[-1:] in _CLOSE_BRACKETS
    if (
        (norm[:1] in _ANGLE_OPEN and norm[-1:] in _ANGLE_CLOSE)
        or peeled in _PLACEHOLDER_WORDS
        or (bracketed and peeled in _SLOT_WORDS)
    ):
        return f"the rationale {text[:30]!r} is a placeholder, not a reason"
    if _BARE_NUMBER.match(peeled):
        return f"the rationale {text[:30]!r} is a bare number, a placeholder rather than a reason"
    if peeled in _rubric_texts() or _LEVEL_PREFIX.sub("", peeled) in _rubric_texts():
        return "the rationale is the rubric's own text, a placeholder rather than a reason about this dialogue"
    return None


class MetricVerdict(BaseModel):
    """One metric's verdict. Rationale first: the judge writes its reason before the number."""

    model_config = ConfigDict(extra="forbid")
    rationale: str
    # StrictInt: "4", 4.0 and true are not scores; a judge that writes them is asked again.
    score: StrictInt = Field(ge=1, le=5)

    @field_validator("rationale")
    @classmethod
    def _a_real_reason(cls, value: str) -> str:
        problem = check_rationale(value)
        if problem is not None:
            raise ValueError(problem)
        return value


# One field per metric, each a MetricVerdict; extra="forbid" gives additionalProperties=false,
# which strict structured-output providers require.
AllMetricsVerdict: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "AllMetricsVerdict",
    __config__=ConfigDict(extra="forbid"),
    **{key: (MetricVerdict, ...) for key in METRIC_KEYS},
)


@cache
def verdict_model(keys: tuple[str, ...] = METRIC_KEYS) -> type[BaseModel]:
    """The all-metrics verdict model for a rubric's keys (``AllMetricsVerdict`` for the seven)."""
    if keys == METRIC_KEYS:
        return AllMetricsVerdict
    return create_model(  # type: ignore[call-overload]
        "AllMetricsVerdict_" + "_".join(k[:4] for k in keys),
        __config__=ConfigDict(extra="forbid"),
        **{key: (MetricVerdict, ...) for key in keys},
    )


def single_answer(text: str, is_answer: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The one answer object of a reply (see the module docstring); ``is_answer`` tells an answer
    object from another object in the prose. When no object is an answer, the first object is
    returned, for the caller's schema check to say what it lacks.

    A closing reasoning tag with no opening one normally means the chat template opened the block,
    so what precedes it is reasoning; when the text after it holds no answer, the tag was only
    mentioned (a verdict, then "... </think> ...") and the answer is looked for in the whole reply.
    """
    if not (text or "").strip():
        raise VerdictError("empty reply")
    s = strip_reasoning(text)[0].strip()
    answer, found = _answer_in(s, is_answer) if s else (None, None)
    if answer is None:
        whole = strip_reasoning(text, template_opened=False)[0].strip()
        if whole and whole != s:
            answer, found_whole = _answer_in(whole, is_answer)
            found = found if answer is None and found is not None else found_whole
    if answer is not None:
        return _no_duplicates(answer)
    if found is None:
        raise VerdictError("empty reply once the reasoning block was removed")
    if found.unfinished:
        raise VerdictError(f"the reply ends inside an unfinished JSON object, cut short ({found.first_error})")
    if not found.objects:
        raise VerdictError(found.first_error or "no JSON object in the reply")
    return _no_duplicates(found.objects[0])


def _answer_in(s: str, is_answer: Callable[[dict[str, Any]], bool]) -> tuple[dict[str, Any] | None, ObjectsFound]:
    """(the one answer object of ``s`` or None, every object found); ``VerdictError`` when the
    text nests too deeply or holds two different answers."""
    try:
        whole = loads(s)
    except TooDeep as e:
        raise VerdictError(str(e)) from None
    except JSONAnswerError:
        pass
    else:
        if not isinstance(whole, dict):
            raise VerdictError(f"the reply is a JSON {type(whole).__name__}, not an object")
        return whole, ObjectsFound([whole], None, False)
    try:
        found = find_objects(s)
    except JSONAnswerError as e:
        raise VerdictError(str(e)) from None
    answers = [_no_duplicates(o) for o in found.objects if is_answer(o)]  # before two equal ones merge
    distinct = {json.dumps(o, sort_keys=True, ensure_ascii=False): o for o in answers}
    if len(distinct) > 1:
        raise AmbiguousVerdict(f"ambiguous: {len(distinct)} different verdict objects in the reply")
    return (next(iter(distinct.values())) if distinct else None), found


def _no_duplicates(obj: dict[str, Any]) -> dict[str, Any]:
    doubled = duplicate_keys(obj)
    if doubled:
        raise DuplicateAnswer(f"two answers for one metric: the key {doubled[0]!r} is given twice")
    return obj


def looks_like_verdict(obj: dict[str, Any], metric: str | None, keys: tuple[str, ...] = METRIC_KEYS) -> bool:
    """An object that answers the question: it names a metric, or (one metric asked) a rationale or score."""
    names = set(obj)
    return bool(names & set(keys)) or (metric is not None and bool(names & {"rationale", "score"}))


def validate_all_metrics(obj: dict[str, Any], keys: tuple[str, ...], model: type[BaseModel]) -> dict[str, Any]:
    """The per-metric verdicts of one answer object that must hold every key of ``keys``, checked
    by ``model`` (the absolute or the pairwise verdict model), else ``VerdictError``."""
    missing = [k for k in keys if k not in obj]
    if missing:
        raise VerdictError(f"missing metrics: {', '.join(missing)}")
    try:
        parsed = model.model_validate(obj)
    except ValidationError as e:
        raise VerdictError(summarise(e)) from e
    return {k: getattr(parsed, k) for k in keys}


def parse_verdict(
    text: str, metric: str | None = None, keys: tuple[str, ...] = METRIC_KEYS
) -> dict[str, MetricVerdict]:
    """Validated verdicts keyed by metric (all of ``keys``, or just ``metric``); else ``VerdictError``.

    ``single_answer`` finds the one verdict object; it must have exactly the expected keys (for
    one metric, ``{"rationale", "score"}`` or that metric wrapping them); scores are integers 1..5
    and rationales real reasons (``check_rationale``). The same rules hold in both modes.
    """
    if metric is not None and metric not in keys:
        raise ValueError(f"unknown metric {metric!r}; expected one of {keys}")
    obj = single_answer(text, lambda o: looks_like_verdict(o, metric, keys))
    if metric is None:
        return validate_all_metrics(obj, keys, verdict_model(keys))
    # A judge may wrap the single verdict in its metric key; that is unambiguous, so accept it.
    if set(obj) == {metric} and isinstance(obj[metric], dict):
        obj = obj[metric]
    try:
        return {metric: MetricVerdict.model_validate(obj)}
    except ValidationError as e:
        raise VerdictError(summarise(e)) from e


def summarise(e: ValidationError, limit: int = 4) -> str:
    """A pydantic error in one short line: ``field: message`` for the first few."""
    errs = e.errors()
    parts = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in errs[:limit]]
    more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
    return "; ".join(parts) + more
