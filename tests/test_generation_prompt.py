from __future__ import annotations

import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser

from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_format import ParsedDialogue, format_dialogue, parse_dialogue
from emplifai.solvers.generation_prompt import (
    PROMPT_VERSION,
    emotion_text,
    generation_messages,
    prompt_hash,
    reference_completion,
)

SITUATION = "透析を始めてから、旅行に行けなくなったことが悔しいです。"


def _record(i: int, emotion: str = "fear", situation: str = "検査の結果を一週間待っています。") -> DialogueRecord:
    return DialogueRecord(
        dialogue_id=f"d{i}",
        situation_id=f"s{i}",
        emotion=emotion,
        situation=situation,
        patient_1=f"怖いです{i}",
        supporter_1=f"そうだよね{i}",
        patient_2=f"眠れないんです{i}",
        supporter_2=f"今夜は一緒にいるよ{i}",
    )


@pytest.mark.parametrize("language,emotion_shown", [("ja", "悲しみ"), ("en", "sadness")])
def test_system_then_user_with_emotion_and_situation(language: str, emotion_shown: str) -> None:
    messages = generation_messages("sadness", SITUATION, language=language)
    assert [type(m) for m in messages] == [ChatMessageSystem, ChatMessageUser]
    user = messages[1].text
    assert emotion_shown in user
    assert SITUATION in user
    # The four-line format is shown exactly as format_dialogue writes it.
    template = [ln for ln in user.splitlines() if ln.startswith(("患者：", "支援者：", "Patient: ", "Supporter: "))]
    assert len(template) == 4


def test_emotion_given_as_japanese_keyword() -> None:
    assert generation_messages("悲しみ", SITUATION)[1].text == generation_messages("sadness", SITUATION)[1].text
    assert emotion_text("悲しみ", "en") == "sadness"
    with pytest.raises(ValueError, match="unknown emotion"):
        generation_messages("sad", SITUATION)


@pytest.mark.parametrize("language,sentence", [("ja", "1回につき80文字以内"), ("en", "at most 80 characters")])
def test_length_limit_stated_only_when_set(language: str, sentence: str) -> None:
    with_limit = generation_messages("joy", SITUATION, language=language, max_chars=80)[1].text
    without = generation_messages("joy", SITUATION, language=language)[1].text
    assert sentence in with_limit
    assert "80" not in without
    assert ("文字以内" if language == "ja" else "characters") not in without


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_bad_length_limit(bad: object) -> None:
    with pytest.raises(ValueError, match="max_chars"):
        generation_messages("joy", SITUATION, max_chars=bad)  # type: ignore[arg-type]


def test_examples_are_formatted_dialogues() -> None:
    examples = [_record(1), _record(2, emotion="relief", situation="手術が無事に終わりました。")]
    user = generation_messages("anger", SITUATION, examples=examples)[1].text
    for ex in examples:
        assert reference_completion(ex) in user
        assert ex.situation in user
    assert "感情：恐れ" in user and "感情：安心" in user
    assert user.index("例1") < user.index("例2") < user.index(SITUATION)
    without = generation_messages("anger", SITUATION)[1].text
    assert "例1" not in without


def test_example_from_the_same_situation_is_refused() -> None:
    with pytest.raises(ValueError, match="same situation"):
        generation_messages("anger", SITUATION, examples=[_record(1, situation=SITUATION)])


def test_reference_completion_parses_back_to_the_record() -> None:
    rec = _record(3)
    parsed = parse_dialogue(reference_completion(rec))
    assert isinstance(parsed, ParsedDialogue)
    assert parsed.turns == (rec.patient_1, rec.supporter_1, rec.patient_2, rec.supporter_2)
    assert reference_completion(rec, "en") == format_dialogue(parsed.turns, "en")


def test_version_and_hash() -> None:
    assert PROMPT_VERSION
    assert prompt_hash("ja") != prompt_hash("en")
    assert prompt_hash("ja") == prompt_hash("ja") and len(prompt_hash("ja")) == 12
    with pytest.raises(ValueError, match="language"):
        prompt_hash("fr")
    with pytest.raises(ValueError, match="language"):
        generation_messages("joy", SITUATION, language="fr")
