"""Prompt for two-turn generation (EmplifAI task 2), and the solver that replays human dialogues.

Given an emotion and a first-person situation, the model writes a short conversation between the
patient and someone close to them, in exactly the four labelled lines of
``emplifai.dialogue_format.format_dialogue``. The brief is written by this project, in the spirit
of what the crowd workers were asked to do; the Japanese version is the benchmark's, the English
one serves English runs. ``generation_messages`` is pure so that the SFT trainer builds exactly
the benchmark's prompt; ``reference_completion`` is the matching training target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, ModelOutput
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_format import SPEAKER_LABELS, TEMPLATE_TURNS, format_dialogue
from emplifai.params import int_param
from emplifai.taxonomy import BY_JA, BY_LABEL, check_language, label_in

PROMPT_VERSION = "generation-prompt-v1"

_SYSTEM = {
    "ja": (
        "あなたは、慢性の病気とともに暮らす人と、その人を身近で支える人との会話を書く書き手です。"
        "患者の気持ちをくみ取った、自然な日本語の短い会話を書いてください。"
    ),
    "en": (
        "You write conversations between a person living with a chronic illness and someone close to "
        "them who supports them. Write short, natural conversations that take the patient's feelings seriously."
    ),
}

_USER = {
    "ja": (
        "患者が、ある状況の中で、ある感情を抱いています。その状況と感情をもとに、患者と、患者の身近にいる人"
        "（家族や友人など。ここでは「支援者」と呼びます）との短い会話を書いてください。\n"
        "\n"
        "書き方:\n"
        "- 会話は2往復です。患者が話し、支援者が応え、患者がもう一度話し、支援者がもう一度応えます。\n"
        "- 患者の発言は、状況と感情から自然に出てくる言葉にしてください。\n"
        "- 支援者は、患者の気持ちを受け止め、患者が安心できるように応えてください。\n"
        "{length_rule}"
        "- 次の形式どおり、ちょうど4行で書いてください。各行は「{patient}：」か「{supporter}：」で始めます。"
        "前置き、説明、見出しは書かないでください。\n"
        "\n"
        "{template}\n"
        "{examples}"
        "\n"
        "では、次の感情と状況で会話を書いてください。\n"
        "感情：{emotion}\n"
        "状況（患者本人の言葉）：{situation}"
    ),
    "en": (
        "A patient feels a certain emotion in a certain situation. Based on that situation and emotion, "
        "write a short conversation between the patient and someone close to them (a family member, a "
        'friend, ...; called the "{supporter}" here).\n'
        "\n"
        "How to write it:\n"
        "- The conversation has two exchanges: the patient speaks, the supporter answers, the patient "
        "speaks again, the supporter answers again.\n"
        "- The patient's lines should follow naturally from the situation and the emotion.\n"
        "- The supporter acknowledges the patient's feelings and answers so that the patient feels safe.\n"
        "{length_rule}"
        '- Write exactly 4 lines in the format below, each starting with "{patient}:" or "{supporter}:". '
        "No introduction, explanation or headings.\n"
        "\n"
        "{template}\n"
        "{examples}"
        "\n"
        "Now write the conversation for this emotion and situation.\n"
        "Emotion: {emotion}\n"
        "Situation (in the patient's own words): {situation}"
    ),
}

_LENGTH_RULE = {
    "ja": "- 支援者の返答は、1回につき{max_chars}文字以内にしてください。\n",
    "en": "- Keep each supporter reply to at most {max_chars} characters.\n",
}

# Placeholder turns shown in the format template.
_EXAMPLES_HEADER = {
    "ja": "\n参考として、別の状況で書かれた会話の例を示します。例の言い回しをそのまま使わないでください。\n",
    "en": "\nFor reference, here are conversations written for other situations. Do not reuse their wording.\n",
}
_EXAMPLE = {
    "ja": "\n例{number}\n感情：{emotion}\n状況：{situation}\n{dialogue}\n",
    "en": "\nExample {number}\nEmotion: {emotion}\nSituation: {situation}\n{dialogue}\n",
}


# The structured variant (-T dialogue_format=structured, emplifai/dialogue_structured.py): the same
# brief with the four-line rule replaced by a JSON rule, and the template shown as JSON with the
# same placeholder turns (so copying them is refused the same way). The free brief is untouched,
# so its prompt_hash does not change.
_FREE_RULE = {
    "ja": "- 次の形式どおり、ちょうど4行で書いてください。各行は「{patient}：」か「{supporter}：」で始めます。"
    "前置き、説明、見出しは書かないでください。\n",
    "en": '- Write exactly 4 lines in the format below, each starting with "{patient}:" or "{supporter}:". '
    "No introduction, explanation or headings.\n",
}
_STRUCTURED_RULE = {
    "ja": "- 会話は、次の形のJSONオブジェクト1つだけで書いてください。patient_1 と patient_2 は{patient}の発言、"
    "supporter_1 と supporter_2 は{supporter}の返答です。値には発言の文章だけを書き、前置き、説明、見出しは書かないでください。\n",
    "en": "- Write the conversation as exactly one JSON object of the form below: patient_1 and patient_2 are the "
    "{patient}'s lines, supporter_1 and supporter_2 the {supporter}'s replies. Each value holds only what is "
    "said; no introduction, explanation or headings.\n",
}
_USER_STRUCTURED = {}
for _lang, _text in _USER.items():
    assert _FREE_RULE[_lang] in _text, f"the free format rule moved in _USER[{_lang!r}]"
    _USER_STRUCTURED[_lang] = _text.replace(_FREE_RULE[_lang], _STRUCTURED_RULE[_lang])


def _dialogue_text(turns: Sequence[str], language: str, dialogue_format: str) -> str:
    """Turns as the brief shows them: four labelled lines (free) or a JSON object (structured)."""
    if dialogue_format == "structured":
        from emplifai.dialogue_structured import turns_as_json

        return turns_as_json(turns)
    return format_dialogue(turns, language)


def _check_format(dialogue_format: str) -> None:
    if dialogue_format not in ("free", "structured"):
        raise ValueError(f"dialogue_format must be 'free' or 'structured', got {dialogue_format!r}")


def emotion_text(emotion: str, language: str = "ja") -> str:
    """How an emotion is named in the brief: the Japanese keyword (ja) or English label (en).

    Accepts a canonical English label or a Japanese keyword; anything else is an error, since a
    misspelt emotion would silently change the task.
    """
    check_language(language)
    if emotion in BY_JA:
        emotion = BY_JA[emotion].label
    elif emotion not in BY_LABEL:
        raise ValueError(f"unknown emotion {emotion!r}: expected one of the 28 English labels or Japanese keywords")
    return label_in(emotion, language)


def reference_completion(record: DialogueRecord, language: str = "ja") -> str:
    """The record's human dialogue as the model should write it (the SFT target, the replay output)."""
    return format_dialogue(record.turn_texts(), language)


def user_prompt(
    emotion: str,
    situation: str,
    *,
    language: str = "ja",
    max_chars: int | None = None,
    examples: Sequence[DialogueRecord] = (),
    dialogue_format: str = "free",
) -> str:
    check_language(language)
    _check_format(dialogue_format)
    if not situation or not situation.strip():
        raise ValueError("situation is empty")
    max_chars = int_param("max_chars", max_chars, min=1, optional=True, flag="")
    patient, supporter = SPEAKER_LABELS[language]
    blocks = ""
    if examples:
        blocks = _EXAMPLES_HEADER[language]
        for i, ex in enumerate(examples, start=1):
            # Few-shot examples from the question's own situation would hand the model the answer.
            if ex.situation.strip() == situation.strip():
                raise ValueError(
                    f"few-shot example {ex.dialogue_id!r} has the same situation as the question; "
                    "examples must come from other situations"
                )
            blocks += _EXAMPLE[language].format(
                number=i,
                emotion=emotion_text(ex.emotion, language),
                situation=ex.situation,
                dialogue=_dialogue_text(ex.turn_texts(), language, dialogue_format),
            )
    user = _USER_STRUCTURED if dialogue_format == "structured" else _USER
    return user[language].format(
        patient=patient,
        supporter=supporter,
        length_rule=_LENGTH_RULE[language].format(max_chars=max_chars) if max_chars is not None else "",
        template=_dialogue_text(TEMPLATE_TURNS[language], language, dialogue_format),
        examples=blocks,
        emotion=emotion_text(emotion, language),
        situation=situation.strip(),
    )


def generation_messages(
    emotion: str,
    situation: str,
    *,
    language: str = "ja",
    max_chars: int | None = None,
    examples: Sequence[DialogueRecord] = (),
    dialogue_format: str = "free",
) -> list[ChatMessage]:
    """System brief and the user request for one (emotion, situation) pair.

    ``emotion``: canonical English label or Japanese keyword. ``max_chars``: when set, the brief
    asks for at most that many characters per supporter reply. ``examples``: solved dialogues
    from other situations, shown in the canonical format. ``dialogue_format``: "free" (the
    paper's four labelled lines) or "structured" (one JSON object with the four turns).
    """
    check_language(language)
    return [
        ChatMessageSystem(content=_SYSTEM[language]),
        ChatMessageUser(
            content=user_prompt(
                emotion, situation, language=language, max_chars=max_chars, examples=examples,
                dialogue_format=dialogue_format,
            )
        ),
    ]


def prompt_hash(language: str = "ja", dialogue_format: str = "free") -> str:
    """Short hash of every template that shapes the brief for ``language``; logged with PROMPT_VERSION.
    The free brief's hash is the same as before the structured variant existed."""
    check_language(language)
    _check_format(dialogue_format)
    if dialogue_format == "structured":
        extra = (_STRUCTURED_RULE[language], _dialogue_text(TEMPLATE_TURNS[language], language, dialogue_format))
        return hashlib.sha256(
            "\n\x1e\n".join((prompt_hash(language), *extra)).encode("utf-8")
        ).hexdigest()[:12]
    parts = (
        _SYSTEM[language],
        _USER[language],
        _LENGTH_RULE[language],
        "|".join(TEMPLATE_TURNS[language]),
        _EXAMPLES_HEADER[language],
        _EXAMPLE[language],
        format_dialogue(TEMPLATE_TURNS[language], language),
    )
    return hashlib.sha256("\n\x1e\n".join(parts).encode("utf-8")).hexdigest()[:12]


@solver
def reference_replay(language: str = "ja") -> Solver:
    """Output the sample's own human dialogue instead of calling a model.

    Scores the crowd workers' dialogues with the same scorers as a model (the paper's human
    baseline for length; a judge calibration point). Reads ``reference_turns`` from the sample
    metadata; the model is never called.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        turns = state.metadata.get("reference_turns")
        if not turns or len(turns) != 4:
            raise ValueError(f"sample {state.sample_id!r}: metadata has no 4 reference_turns to replay")
        content = format_dialogue(turns, language)
        state.output = ModelOutput.from_content(model="reference", content=content)
        state.messages.append(ChatMessageAssistant(content=content, model="reference", source="generate"))
        return state

    return solve
