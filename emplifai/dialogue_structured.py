"""The structured variant of the two-turn dialogue: the four turns as one JSON object.

``-T dialogue_format=structured`` on the generation task asks the candidate for
``{"patient_1": ..., "supporter_1": ..., "patient_2": ..., "supporter_2": ...}`` with a JSON
schema (enforced by providers that honour ``response_schema``: gguf/, vllm/, openai/, ...). A
model too weak to follow the free four-line format can then still be measured on what it says.
It is a different protocol from the paper's (``free``): the task records ``dialogue_format`` in
its metadata so the two are never ranked together.

``parse_structured`` reads the reply (tolerating a code fence, a reasoning block or a sentence
around the object, since providers without schema support return text) and then applies the
same turn checks as the free format (``dialogue_format.check_turns``: no empty, placeholder or
repeated turn). The turns are never rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from inspect_ai.model import ResponseSchema
from inspect_ai.util import JSONSchema

from emplifai.dialogue_format import FormatFailure, check_turns, strip_reasoning
from emplifai.json_answer import JSONAnswerError, duplicate_keys, find_objects

DIALOGUE_FORMATS: tuple[str, ...] = ("free", "structured")
TURN_KEYS: tuple[str, str, str, str] = ("patient_1", "supporter_1", "patient_2", "supporter_2")


def dialogue_schema() -> ResponseSchema:
    """JSON schema of the structured reply: the four turns, non-empty strings, nothing else."""
    turn = JSONSchema(type="string", minLength=1)
    return ResponseSchema(
        name="two_turn_dialogue",
        description="A two-turn dialogue: patient, supporter, patient, supporter.",
        json_schema=JSONSchema(
            type="object",
            properties={key: turn for key in TURN_KEYS},
            required=list(TURN_KEYS),
            additionalProperties=False,
        ),
        strict=True,
    )


def turns_as_json(turns: Sequence[str]) -> str:
    """The four turns as the structured reply should look (for few-shot examples and the template)."""
    if len(turns) != 4:
        raise ValueError(f"a two-turn dialogue has 4 turns, got {len(turns)}")
    return json.dumps(dict(zip(TURN_KEYS, turns, strict=True)), ensure_ascii=False, indent=2)


def _json_object(text: str) -> dict | str:
    """The first JSON object in ``text`` (the whole text, or from a '{' on), else why there is none."""
    try:
        found = find_objects(text)
    except JSONAnswerError as e:
        return str(e)
    if found.objects:
        obj = found.objects[0]
        doubled = duplicate_keys(obj)
        if doubled:
            return f"two answers for one turn: the key {doubled[0]!r} is given twice"
        return obj
    if found.unfinished:
        return f"the reply ends inside an unfinished JSON object, cut short ({found.first_error})"
    if found.first_error:
        return f"no usable JSON object with the four turns: {found.first_error}"
    return "no JSON object with the four turns found"


def parse_structured(text: str | None, language: str = "ja") -> tuple[str, str, str, str] | FormatFailure:
    """The four turns of a structured reply, or a ``FormatFailure`` saying why there are none."""
    if text is None or not str(text).strip():
        return FormatFailure("empty output")
    body, reasoning = strip_reasoning(str(text))
    obj = _json_object(body)
    if isinstance(obj, str):
        return FormatFailure(obj, reasoning=reasoning)
    missing = [k for k in TURN_KEYS if k not in obj]
    if missing:
        return FormatFailure(f"JSON object lacks {missing} (keys: {sorted(obj)})", reasoning=reasoning)
    extra = sorted(set(obj) - set(TURN_KEYS))
    if extra:
        return FormatFailure(f"JSON object has keys other than the four turns: {extra}", reasoning=reasoning)
    not_text = [k for k in TURN_KEYS if not isinstance(obj[k], str)]
    if not_text:
        return FormatFailure(f"turn(s) {not_text} are not strings", reasoning=reasoning)
    turns = tuple(obj[k].strip() for k in TURN_KEYS)
    problem = check_turns(turns, language)
    if problem is not None:
        return FormatFailure(problem, reasoning=reasoning)
    return turns  # type: ignore[return-value]
