"""Length of the supporter's replies (the paper's length table) and whether the output was in format.

Per sample, both supporter replies are measured and averaged, because the paper reports the average
length per reply:

- ``chars``: characters of the reply, line breaks excluded (they are layout: the parser joins a
  reply written over several lines with "\\n"). Spaces and punctuation count.
- ``words``: Japanese: tokens from fugashi with UniDic (unidic-lite), excluding tokens whose
  UniDic part of speech is 補助記号 (punctuation, brackets, emoji) or 空白 (whitespace); fugashi
  already drops ASCII spaces. English: whitespace-separated tokens.
- ``format_ok``: 1 when ``parse_dialogue`` read four turns in the right order, else 0. The failure
  reason goes into the score's explanation, so this doubles as the task's format check.

An output that is not in the format has no supporter replies to measure. Its ``chars`` and
``words`` are NaN, which Inspect leaves out of the means and counts as unscored, rather than
inventing a reply length (half the completion, or the whole completion as one reply, would both
be made-up numbers). The raw completion's own character and word counts are kept in the score
metadata (``raw_chars``, ``raw_words``) so a length analysis can still look at them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from emplifai.dialogue_format import FormatFailure, parse_dialogue
from emplifai.taxonomy import LANGUAGES, check_language

# UniDic pos1 values that are not words.
_NON_WORD_POS = frozenset({"補助記号", "空白"})


@lru_cache(maxsize=1)
def _tagger() -> Any:
    try:
        import fugashi
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reply_length needs fugashi and unidic-lite to count Japanese words: "
            "pip install fugashi unidic-lite (dependencies of emplifai)"
        ) from e
    try:
        return fugashi.Tagger()
    except RuntimeError as e:  # pragma: no cover - fugashi raises this when no dictionary is found
        raise ImportError(
            "fugashi found no UniDic dictionary; pip install unidic-lite (a dependency of emplifai)"
        ) from e


def count_chars(text: str) -> int:
    """Characters of ``text`` without line breaks."""
    return sum(1 for ch in text if ch not in "\r\n")


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def count_words(text: str, language: str) -> int:
    """Words of ``text``: UniDic tokens that are not punctuation or whitespace (ja), or whitespace tokens (en).

    An "en" run over Japanese data (the brief in English, the replies still Japanese) would count a
    whole Japanese reply as one whitespace token, so text holding kana or kanji is always counted
    with the Japanese tokenizer.
    """
    check_language(language)
    if language == "en" and not _JAPANESE.search(text):
        return len(text.split())
    return sum(1 for tok in _tagger()(text) if tok.feature.pos1 not in _NON_WORD_POS)


def _sample_language(state: TaskState, language: str | None) -> str:
    lang = language if language is not None else state.metadata.get("language")
    if lang not in LANGUAGES:
        raise ValueError(
            f"sample {state.sample_id!r}: reply_length needs language in {LANGUAGES} "
            f"(scorer argument or sample metadata 'language'), got {lang!r}"
        )
    return lang


@scorer(
    metrics={
        "chars": [mean(), stderr()],
        "words": [mean(), stderr()],
        "format_ok": [mean(), stderr()],
    }
)
def reply_length(language: str | None = None) -> Scorer:
    """Mean characters and words per supporter reply, and format_ok (see the module docstring).

    Args:
        language: "ja" or "en", the language the replies are written in; None = the sample's
            metadata "language".
    """
    if language is not None:
        check_language(language)

    async def score(state: TaskState, target: Target) -> Score:
        lang = _sample_language(state, language)
        completion = state.output.completion
        parsed = parse_dialogue(completion)
        raw = {"raw_chars": count_chars(completion), "raw_words": count_words(completion, lang), "language": lang}
        if isinstance(parsed, FormatFailure):
            return Score(
                value={"chars": float("nan"), "words": float("nan"), "format_ok": 0},
                answer=completion,
                explanation=f"format failure: {parsed.reason}; reply lengths unscored",
                metadata={**raw, "format_failure": parsed.reason},
            )
        replies = parsed.supporter_replies()
        chars = [count_chars(r) for r in replies]
        words = [count_words(r, lang) for r in replies]
        return Score(
            value={"chars": sum(chars) / len(chars), "words": sum(words) / len(words), "format_ok": 1},
            answer="\n".join(replies),
            explanation=f"supporter replies: {chars} chars, {words} words",
            metadata={**raw, "reply_chars": chars, "reply_words": words},
        )

    return score
