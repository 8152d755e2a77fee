from __future__ import annotations

import asyncio
import math

import pytest
from inspect_ai.model import ModelName, ModelOutput
from inspect_ai.scorer import Score, Target
from inspect_ai.solver import TaskState

from emplifai.scorers.reply_length import count_chars, count_words, reply_length


def _score(completion: str, language: str | None = "ja", metadata_language: str | None = None) -> Score:
    state = TaskState(
        model=ModelName("mockllm/model"),
        sample_id="s1",
        epoch=1,
        input="",
        messages=[],
        output=ModelOutput.from_content(model="mockllm/model", content=completion),
        metadata={"language": metadata_language} if metadata_language else {},
    )
    return asyncio.run(reply_length(language=language)(state, Target("")))


@pytest.mark.parametrize(
    "text,chars,words",
    [
        # それ/は/辛かっ/た/ね + 。(補助記号, not a word)
        ("それは辛かったね。", 9, 5),
        # 一緒/に/頑張ろう + ！
        ("一緒に頑張ろう！", 8, 3),
        # the line break is neither a character nor a word; 。 twice excluded
        ("今夜はそばにいるよ。\n大丈夫。", 14, 7),
        # full-width space counts as a character but is a 空白 token, not a word
        ("はい。\u3000そうだね", 8, 4),
        ("", 0, 0),
    ],
)
def test_japanese_counts(text: str, chars: int, words: int) -> None:
    assert count_chars(text) == chars
    assert count_words(text, "ja") == words


def test_english_words_are_whitespace_tokens() -> None:
    assert count_words("That sounds hard.  I'm here\nfor you.", "en") == 7
    assert count_chars("I'm here\nfor you.") == 16
    with pytest.raises(ValueError, match="language"):
        count_words("x", "fr")


def test_score_is_mean_over_the_two_supporter_replies() -> None:
    score = _score("患者：つらいです。\n支援者：それは辛かったね。\n患者：はい。\n支援者：一緒に頑張ろう！")
    assert score.value == {"chars": 8.5, "words": 4.0, "format_ok": 1}
    assert score.metadata is not None
    assert score.metadata["reply_chars"] == [9, 8]
    assert score.metadata["reply_words"] == [5, 3]


def test_preamble_and_closing_remark_are_not_measured() -> None:
    completion = "会話です。\n\n患者：a\n支援者：それは辛かったね。\n患者：b\n支援者：一緒に頑張ろう！\n\n以上、共感を示す会話でした。"
    assert _score(completion).value == {"chars": 8.5, "words": 4.0, "format_ok": 1}


def test_format_failure_leaves_lengths_unscored() -> None:
    completion = "それは辛かったね。一緒に頑張ろう！"
    score = _score(completion)
    assert isinstance(score.value, dict)
    assert score.value["format_ok"] == 0
    assert math.isnan(score.value["chars"]) and math.isnan(score.value["words"])
    assert score.metadata is not None
    assert score.metadata["raw_chars"] == 17 and score.metadata["raw_words"] == 8
    assert "no speaker labels" in score.metadata["format_failure"]
    assert score.explanation is not None and "format failure" in score.explanation


def test_language_from_sample_metadata() -> None:
    completion = "Patient: hi\nSupporter: that sounds hard\nPatient: yes\nSupporter: I am here"
    score = _score(completion, language=None, metadata_language="en")
    assert score.value == {"chars": 12.5, "words": 3.0, "format_ok": 1}
    with pytest.raises(ValueError, match="language"):
        _score(completion, language=None)
    with pytest.raises(ValueError, match="language"):
        reply_length(language="fr")


def test_english_run_over_japanese_replies_counts_japanese_words() -> None:
    # -T language=en shows an English brief, but the sample set's replies are Japanese.
    assert count_words("それはつらかったね。", "en") == count_words("それはつらかったね。", "ja") > 1
    assert count_words("That sounds hard.", "en") == 3
