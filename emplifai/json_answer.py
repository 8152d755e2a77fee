"""JSON objects out of model text we do not control: the reader both the judge's verdict parser
and the structured-dialogue parser use.

A model's reply may hold its JSON alone, in a code block, or among prose; it may also hold
things no JSON reader should be trusted with. The rules here, stated once:

- nesting deeper than ``MAX_DEPTH`` brackets (``{`` or ``[``, counted over the whole text,
  strings included) is refused before any decoding: Python's ``json`` recurses once per level
  and a runaway bracket loop of a small model (about 1,000 levels) raised ``RecursionError``,
  which crashed the whole eval. An answer of ours nests 2 levels;
- a key that appears twice in one object is never resolved silently (``json`` keeps the last
  one): every decoded object records its doubled keys (``duplicate_keys``), and the caller
  refuses an answer that has any;
- an object that opens but never closes before the text ends is reported as unfinished (a reply
  cut short), not as whatever smaller object happens to sit inside it;
- any other decoding trouble (a number too long for Python's int conversion, a lone surrogate)
  is a ``JSONAnswerError`` too: nothing but this module's errors leaves it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Far above the 2 levels an answer of ours needs, far below Python's recursion limit (1,000).
MAX_DEPTH = 64


class JSONAnswerError(ValueError):
    """Text whose JSON cannot be used; the message says why in a few words."""


class TooDeep(JSONAnswerError):
    """Brackets nested deeper than ``MAX_DEPTH`` (a runaway bracket loop)."""


class _Object(dict):  # type: ignore[type-arg]
    """A decoded JSON object that remembers the keys it held more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicates = tuple(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs)


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``{``/``[`` in ``text`` (closers lower it, never below 0)."""
    depth = deepest = 0
    for ch in text:
        if ch in "{[":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "}]" and depth:
            depth -= 1
    return deepest


def check_depth(text: str) -> None:
    """``TooDeep`` when ``text`` nests brackets deeper than ``MAX_DEPTH``."""
    deepest = bracket_depth(text)
    if deepest > MAX_DEPTH:
        raise TooDeep(f"brackets nested {deepest} levels deep (a runaway bracket loop; at most {MAX_DEPTH} are read)")


def duplicate_keys(value: Any, path: str = "") -> list[str]:
    """Every doubled key in a decoded value, as ``path.key`` (objects inside objects and lists too)."""
    found: list[str] = []
    if isinstance(value, dict):
        found += [f"{path}{k}" for k in getattr(value, "duplicates", ())]
        for k, v in value.items():
            found += duplicate_keys(v, f"{path}{k}.")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += duplicate_keys(v, f"{path}{i}.")
    return found


def loads(text: str) -> Any:
    """The whole of ``text`` as JSON (objects recording doubled keys); ``JSONAnswerError`` if it is not."""
    check_depth(text)
    try:
        value, end = _DECODER.raw_decode(text.strip())
    except RecursionError:  # a backstop: check_depth stops real cases first
        raise TooDeep("brackets nested too deeply to read") from None
    except ValueError as e:  # JSONDecodeError, and int() refusing a number of over 4,300 digits
        raise JSONAnswerError(_decode_message(e)) from None
    if end != len(text.strip()):
        raise JSONAnswerError(f"text after the JSON value at char {end}")
    return value


@dataclass
class ObjectsFound:
    """The top-level JSON objects of a text, left to right, and what got in the way."""

    objects: list[dict[str, Any]]
    first_error: str | None  # why the first '{' that opened no object failed, if one did
    unfinished: bool  # an object opened and the text ended before it closed


def find_objects(text: str) -> ObjectsFound:
    """Every top-level JSON object in ``text``. A '{' that opens no valid JSON (prose, a template)
    is skipped; objects inside a found one are not listed on their own. ``TooDeep`` first when the
    text nests too deeply."""
    check_depth(text)
    found: list[dict[str, Any]] = []
    first_error: str | None = None
    unfinished = False
    end_of_text = len(text.rstrip())
    i = text.find("{")
    while i >= 0:
        try:
            obj, end = _DECODER.raw_decode(text, i)
        except RecursionError:
            raise TooDeep("brackets nested too deeply to read") from None
        except ValueError as e:
            first_error = first_error or _decode_message(e)
            # Decoding ran into the end of the text (or a string never closed): the object opened
            # here was never closed.
            if isinstance(e, json.JSONDecodeError) and (
                e.pos >= end_of_text or e.msg.startswith("Unterminated string")
            ):
                unfinished = True
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return ObjectsFound(found, first_error, unfinished)


def _decode_message(e: ValueError) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"invalid JSON ({e.msg} at char {e.pos})"
    return f"invalid JSON ({str(e)[:120]})"
