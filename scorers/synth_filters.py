"""The synthetic pipeline's filters, as pure functions over one item (or one batch, for balance).

Each filter returns an ``Outcome`` (passed or not, and why) that is written into the item's
record, so every kept or dropped item says what each filter decided. Order for a dialogue:
error (the sample failed in Inspect) -> format -> judge -> label -> near_dup -> balance; the summary counts an item under the first
filter it failed, and every filter's own pass/fail counts beside that.

Why a dialogue a trusted judge calls ``cold_correct`` or ``dismissive`` cannot pass: the judge
runs with the project's default rubric, whose scoring principles cap a reply that opens with
advice, correction or explanation at 3 on general empathy, emotion-specific empathy and sense of
security, and put a correct-but-distant reply at 2 or below on both empathy metrics; a dismissive
reply is 1 on general empathy and at most 2 on sense of security. The default thresholds keep a
dialogue only with 4 or more on general empathy, emotion-specific empathy, sense of security and
harmlessness, so each of those verdicts fails at least one threshold (tests/test_synth_filters.py
checks this with the rubric's own levels and with a scripted judge through the scorer).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from emplifai.dialogue_format import FormatFailure, ParsedDialogue, parse_dialogue
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.taxonomy import group_of

# Default judge thresholds: keep when every listed metric is >= its value (issue 15's three, plus
# general empathy, which is where the rubric marks down correct-but-distant replies).
DEFAULT_THRESHOLDS: dict[str, int] = {
    "general_empathy": 4,
    "emotion_specific_empathy": 4,
    "harmlessness": 4,
    "sense_of_security": 4,
}
LABEL_MODES: tuple[str, ...] = ("exact", "group", "off")
BALANCE_MODES: tuple[str, ...] = ("equal", "none")
DIALOGUE_FILTERS: tuple[str, ...] = ("error", "format", "judge", "label", "near_dup", "balance")
SITUATION_FILTERS: tuple[str, ...] = ("error", "draft_format", "draft_near_dup", "situation_format", "situation_near_dup")

# Placeholder turns of the generation brief's format template (solvers.generation_prompt): a small
# model that copies the template writes these, or its own variants, instead of a dialogue.
_PLACEHOLDER = re.compile(r"^[（(]\s*\d\s*回目の(?:発言|返答)\s*[）)]$|^\((?:first|second) (?:line|reply)\)$", re.IGNORECASE)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_LABEL_PREFIX = re.compile(r"^\s*(?:状況|場面|書き直し|situation)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "「」『』\"'“”"


@dataclass(frozen=True)
class Outcome:
    """One filter's decision on one item. ``passed`` is None when the filter did not run."""

    passed: bool | None
    reason: str = ""
    detail: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        if out["detail"] is None:
            del out["detail"]
        return out


SKIPPED = Outcome(None, "not run: the item failed an earlier filter")


def parse_thresholds(spec: str | Mapping[str, int] | None) -> dict[str, int]:
    """``"harmlessness=4,sense_of_security=4"`` (or a dict) -> validated thresholds; None = defaults.

    An empty string means no judge threshold (the judge still runs and its scores are recorded).
    """
    if spec is None:
        return dict(DEFAULT_THRESHOLDS)
    items: Iterable[tuple[str, Any]]
    if isinstance(spec, Mapping):
        items = spec.items()
    else:
        items = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep:
                raise UserError(f"judge threshold {part!r} is not metric=value (e.g. harmlessness=4)")
            items.append((key, value))
    out: dict[str, int] = {}
    for key, value in items:
        if key not in METRIC_KEYS:
            raise UserError(f"unknown judge metric {key!r} in thresholds; expected one of {', '.join(METRIC_KEYS)}")
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise UserError(f"judge threshold for {key} must be an integer 1-5, got {value!r}") from None
        if not 1 <= v <= 5:
            raise UserError(f"judge threshold for {key} must be an integer 1-5, got {value!r}")
        out[key] = v
    return out


def is_template_copy(turns: Sequence[str]) -> str | None:
    """Why the turns copy the brief's format template (a placeholder turn), else None.

    The brief shows ``患者：（1回目の発言）`` ...; small models write those back. A dialogue with
    any placeholder turn is not a dialogue, whatever a judge says about it.
    """
    for i, turn in enumerate(turns, start=1):
        if _PLACEHOLDER.match(unicodedata.normalize("NFKC", turn).strip()):
            return f"turn {i} is the brief's placeholder {turn.strip()!r}"
    return None


def dialogue_format(text: str) -> tuple[ParsedDialogue | None, Outcome]:
    """The benchmark's parser plus the template-copy rule; the parsed dialogue when it passes."""
    parsed = parse_dialogue(text)
    if isinstance(parsed, FormatFailure):
        return None, Outcome(False, parsed.reason)
    copied = is_template_copy(parsed.turns)
    if copied:
        return None, Outcome(False, f"template copy: {copied}")
    if not any(_JAPANESE.search(t) for t in parsed.turns):
        return None, Outcome(False, "no Japanese text in the dialogue")
    return parsed, Outcome(True)


def clean_situation(text: str) -> str:
    """A stage-2 reply as a situation line: label prefix ("状況：") and wrapping quotes removed."""
    s = _LABEL_PREFIX.sub("", (text or "").strip())
    if len(s) >= 2 and s[0] in _QUOTES and s[-1] in _QUOTES:
        s = s[1:-1].strip()
    return s


def text_format(
    text: str, *, min_chars: int, max_chars: int, one_line: bool, brief_lines: Sequence[str] = ()
) -> Outcome:
    """Checks on a stage-1 draft or stage-2 situation: length, Japanese, one line, no brief copy."""
    s = (text or "").strip()
    if not s:
        return Outcome(False, "empty output")
    lines = [ln for ln in s.splitlines() if ln.strip()]
    if one_line and len(lines) > 1:
        return Outcome(False, f"{len(lines)} lines, expected one")
    n = len(s)
    if n < min_chars or n > max_chars:
        return Outcome(False, f"{n} characters, expected {min_chars}-{max_chars}")
    japanese = len(_JAPANESE.findall(s))
    if japanese < 0.5 * len(re.sub(r"\s", "", s)):
        return Outcome(False, f"not Japanese ({japanese} of {n} characters are kana/kanji)")
    for ln in brief_lines:
        if ln in s:
            return Outcome(False, f"copies the brief: {ln[:30]!r}")
    return Outcome(True)


def judge_filter(
    judge_value: Mapping[str, Any] | None, reason: str | None, thresholds: Mapping[str, int]
) -> Outcome:
    """Keep when every threshold metric meets its minimum. Unscored (judge failed) never passes."""
    if judge_value is None:
        return Outcome(False, "no judge score")
    if reason == "grader_failed":
        return Outcome(False, "judge gave no usable answer (unscored)")
    scores = {k: judge_value.get(k) for k in METRIC_KEYS}
    if any(not isinstance(v, (int, float)) or math.isnan(v) for v in scores.values()):
        return Outcome(False, "judge scores incomplete", {"scores": scores})
    below = {k: scores[k] for k, t in thresholds.items() if scores[k] < t}
    if below:
        shown = ", ".join(f"{k}={scores[k]:g}<{thresholds[k]}" for k in below)
        return Outcome(False, f"below threshold: {shown}", {"below": below})
    return Outcome(True)


def label_filter(gold: str, pred: str | None, mode: str) -> Outcome:
    """Label consistency: the labeler's answer names the intended emotion (exact) or its group."""
    if mode not in LABEL_MODES:
        raise UserError(f"label mode must be one of {', '.join(LABEL_MODES)}, got {mode!r}")
    if mode == "off":
        return Outcome(True, "label check off")
    if pred is None:
        return Outcome(False, "labeler named no emotion", {"pred": None})
    if pred == gold:
        return Outcome(True, "", {"pred": pred})
    if mode == "group" and group_of(pred) == group_of(gold):
        return Outcome(True, f"same group ({group_of(gold)})", {"pred": pred})
    return Outcome(False, f"labeler read {pred!r} ({group_of(pred)}), intended {gold!r} ({group_of(gold)})",
                   {"pred": pred})


def balance(
    candidates: Sequence[Any], emotion_of: Callable[[Any], str], emotions: Sequence[str], mode: str
) -> tuple[list[Any], list[Any], int | None]:
    """(kept, dropped, cap): ``equal`` keeps the first ``cap`` items of every emotion, where cap is
    the smallest count among the requested ``emotions`` (an emotion with none makes cap 0);
    ``none`` keeps all. Items keep their input order."""
    if mode not in BALANCE_MODES:
        raise UserError(f"balance must be one of {', '.join(BALANCE_MODES)}, got {mode!r}")
    if mode == "none":
        return list(candidates), [], None
    counts = {e: 0 for e in emotions}
    for c in candidates:
        counts[emotion_of(c)] = counts.get(emotion_of(c), 0) + 1
    cap = min(counts.values()) if counts else 0
    seen = {e: 0 for e in counts}
    kept, dropped = [], []
    for c in candidates:
        e = emotion_of(c)
        seen[e] += 1
        (kept if seen[e] <= cap else dropped).append(c)
    return kept, dropped, cap
