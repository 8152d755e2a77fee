"""Prompt for reverse emotion prediction: situation + dialogue in, one of the 28 labels out.

The brief is written by this project. In Japanese runs the model sees the Japanese keywords and is
asked for one of them; in English runs, the English labels. Either way the scorer accepts both,
so a model answering in the "other" language is not penalised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_format import format_dialogue
from emplifai.taxonomy import EMOTIONS, check_language, label_in

EMOTION_PROMPT_VERSION = "emotion-prompt-v1"

_SYSTEM = {
    "ja": (
        "あなたは医療の場での会話を読み、話し手の感情を見きわめる専門家です。"
        "慢性疾患とともに暮らす患者の状況と、患者と身近な支援者との短い会話が示されます。"
        "この状況と会話がもともと表していた患者の感情を、次の28の感情ラベルから一つだけ選んでください。\n"
        "感情ラベル: {labels}\n"
        "答えは選んだラベルの語だけを一行で書いてください。説明や記号は付けないでください。"
    ),
    "en": (
        "You are an expert at reading conversations in medical settings and recognising the speaker's emotion. "
        "You will see the situation of a patient living with a chronic illness and a short conversation between "
        "the patient and someone close to them. Choose the ONE emotion, out of the 28 labels below, that the "
        "situation and conversation were written to express.\n"
        "Labels: {labels}\n"
        "Answer with the chosen label only, on one line, with no explanation or punctuation."
    ),
}

_USER = {
    "ja": "状況:\n{situation}\n\n会話:\n{dialogue}\n\nこの患者の感情はどれですか。",
    "en": "Situation:\n{situation}\n\nConversation:\n{dialogue}\n\nWhich emotion is this patient's?",
}


def system_prompt(language: str = "ja") -> str:
    check_language(language)
    sep = "、" if language == "ja" else ", "
    return _SYSTEM[language].format(labels=sep.join(label_in(e.label, language) for e in EMOTIONS))


def user_prompt(record: DialogueRecord, language: str = "ja") -> str:
    check_language(language)
    return _USER[language].format(situation=record.situation, dialogue=format_dialogue(record.turn_texts(), language))


def emotion_messages(
    record: DialogueRecord, *, language: str = "ja", examples: Sequence[DialogueRecord] = ()
) -> list[ChatMessage]:
    """System brief, then each few-shot example as a user/assistant exchange, then the question."""
    messages: list[ChatMessage] = [ChatMessageSystem(content=system_prompt(language))]
    for ex in examples:
        messages.append(ChatMessageUser(content=user_prompt(ex, language)))
        messages.append(ChatMessageAssistant(content=label_in(ex.emotion, language)))
    messages.append(ChatMessageUser(content=user_prompt(record, language)))
    return messages


def prompt_hash(language: str = "ja") -> str:
    """Short hash of the brief and question templates, recorded in the log with the version."""
    check_language(language)
    text = _SYSTEM[language] + "\n" + _USER[language]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
