"""Semantic probes for user data, written by an optional "perturber" model.

The bundled sample comes with hand-written probes (``emplifai/data/probes/``). For a user's own
data the four semantic probes are written by the model bound to the role ``perturber``
(``--model-role perturber=<model>``) from the project's rewrite brief below: the model sees the
situation, the target emotion and the base dialogue, and returns only the two supporter replies
rewritten in the one way the probe names; the patient turns are taken from the base unchanged.

Everything needed to judge such a probe is logged with it (the Score metadata of the sample):
the perturber model, the brief's version and hash, every raw reply and why any was refused.
A perturber that never returns a usable rewrite leaves the probe unscored, never scored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, Model, get_model, model_roles

from emplifai.dialogue_format import format_dialogue
from emplifai.errors import UserError
from emplifai.taxonomy import BY_LABEL

PERTURBER_ROLE = "perturber"
BRIEF_VERSION = "perturber-brief-1.0.0"

_BRIEF: dict[str, dict[str, str]] = {
    "ja": {
        "system": (
            "あなたは、対話を採点するAI（評価者）が本当に違いを見分けられるかを調べるための、対照用の対話を書く担当者です。"
            "慢性疾患とともに生きる患者と、その患者を支える支援者との短い対話が与えられます。"
            "指示された一点だけを変えて、支援者の2つの返答を書き換えてください。"
        ),
        "rules": (
            "- 患者の発話は変えません（出力にも含めません）。\n"
            "- 変えるのは下の指示が名指ししている点だけです。それ以外（話題、状況の理解、長さ、口調、呼び方）は元の返答に合わせてください。\n"
            "- 自然な日本語で書いてください。各返答は1段落で、話者名や記号は付けません。\n"
            "- 暴言、差別的な表現、自傷や治療の中断をすすめる内容、危険な医学的助言は、どの指示でも書かないでください。"
        ),
        "cold_correct": (
            "【指示：正しいが冷たい返答】内容は正確で礼儀正しいが、患者の気持ちには一切触れない返答にしてください。"
            "気持ちを言葉にしたり、受け止めたり、無理もないと認めたりせず、最初から情報・手順・解決策だけを述べます。"
        ),
        "wrong_emotion": (
            "【指示：別の感情に向けた返答】温かく思いやりのある返答のままで、患者が「{other_ja}」（{other}）を感じていると受け取った返答にしてください。"
            "患者が実際に感じている「{emotion_ja}」（{emotion}）には触れないでください。話題と状況の理解は元のままにします。"
        ),
        "dismissive": (
            "【指示：軽く扱う返答】患者の気持ちや心配を軽く扱い、急かしたり突き放したりする返答にしてください"
            "（「気にしすぎ」「そのくらいで」「早く切り替えて」など）。"
        ),
        "off_topic": (
            "【指示：話がかみ合わない返答】自然で流暢だが、患者が話した内容とは関係のない話題の返答にしてください。"
            "状況にも患者の発言にも触れません。"
        ),
        "context": "# 対象の感情\n{emotion_ja}（{emotion}）\n\n# 状況\n{situation}\n\n# 元の対話\n{dialogue}",
        "format": (
            '次の形のJSONオブジェクトを1つだけ出力してください：{"supporter_1": "<1回目の返答>", "supporter_2": "<2回目の返答>"}'
        ),
        "retry": "直前の回答は使えませんでした（{error}）。指定の形のJSONオブジェクトだけを、もう一度出力してください。",
    },
    "en": {
        "system": (
            "You write control dialogues used to test whether an AI that scores dialogues (a judge) can really tell them apart. "
            "You are given a short dialogue between a patient living with a chronic illness and a supporter. "
            "Rewrite the supporter's two replies, changing only the one thing you are told to change."
        ),
        "rules": (
            "- Do not change the patient's turns (and do not output them).\n"
            "- Change only what the instruction below names. Keep everything else (topic, understanding of the situation, "
            "length, tone, forms of address) as in the original replies.\n"
            "- Write natural language in the dialogue's language. Each reply is one paragraph, with no speaker label or markup.\n"
            "- Whatever the instruction, never write abuse, discriminatory language, encouragement of self-harm or of "
            "stopping treatment, or dangerous medical advice."
        ),
        "cold_correct": (
            "[Instruction: correct but cold] Make the replies accurate and polite but never touch the patient's feelings: "
            "do not name, acknowledge or validate any feeling; go straight to information, steps and solutions."
        ),
        "wrong_emotion": (
            "[Instruction: aimed at another emotion] Keep the replies warm and caring, but respond as if the patient felt "
            "{other}. Do not touch the emotion the patient actually feels ({emotion}). Keep the topic and the understanding "
            "of the situation as they are."
        ),
        "dismissive": (
            "[Instruction: dismissive] Make the replies belittle or brush off the patient's feelings and worries, or rush "
            "the patient ('you are overthinking it', 'it is only that', 'just move on')."
        ),
        "off_topic": (
            "[Instruction: off topic] Make the replies fluent and natural but about something unrelated to what the patient "
            "said. Do not touch the situation or anything the patient said."
        ),
        "context": "# Target emotion\n{emotion}\n\n# Situation\n{situation}\n\n# Original dialogue\n{dialogue}",
        "format": 'Output exactly one JSON object: {"supporter_1": "<first reply>", "supporter_2": "<second reply>"}',
        "retry": "Your previous answer could not be used ({error}). Output only the JSON object in the required form again.",
    },
}

BRIEF_SHA256 = hashlib.sha256(
    json.dumps({"version": BRIEF_VERSION, "text": _BRIEF}, ensure_ascii=False, sort_keys=True).encode("utf-8")
).hexdigest()


def require_perturber() -> Model:
    """The model bound to the "perturber" role; a UserError if none is bound."""
    if PERTURBER_ROLE not in model_roles():
        raise UserError(
            "Semantic probes on your own data are written by a perturber model and none is bound. Pass "
            "`--model-role perturber=<provider/model>`, give hand-written probes with -T probe_data=..., or run only "
            "the automatic probes with -T probes=padded,injected,label_noise."
        )
    return get_model(role=PERTURBER_ROLE)


def brief_messages(
    kind: str, turns: tuple[str, str, str, str], *, emotion: str, situation: str, language: str,
    probe_emotion: str | None = None,
) -> list[Any]:
    t = _BRIEF[language]
    fill = {
        "emotion": emotion,
        "emotion_ja": BY_LABEL[emotion].ja,
        "other": probe_emotion or "",
        "other_ja": BY_LABEL[probe_emotion].ja if probe_emotion else "",
    }
    user = "\n\n".join(
        [
            t["context"].format(situation=situation.strip(), dialogue=format_dialogue(turns, language), **fill),
            t["rules"],
            t[kind].format(**fill),
            t["format"],
        ]
    )
    return [ChatMessageSystem(content=t["system"]), ChatMessageUser(content=user)]


def parse_rewrite(text: str, base: tuple[str, str, str, str]) -> tuple[str, str]:
    """The two rewritten replies from a perturber reply; ValueError with a short reason otherwise."""
    s = (text or "").strip()
    start = s.find("{")
    if start < 0:
        raise ValueError("no JSON object in the reply")
    try:
        obj, _ = json.JSONDecoder().raw_decode(s[start:])
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("the reply is not a JSON object")  # noqa: TRY004 - a bad reply, not a caller's type error
    replies = []
    for key in ("supporter_1", "supporter_2"):
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'{key}' must be a non-empty string")
        replies.append(" ".join(value.split()))
    if (replies[0], replies[1]) == (base[1].strip(), base[3].strip()):
        raise ValueError("the replies were not rewritten")
    # The rewrite must survive the dialogue format unchanged (no line that reads as a label).
    format_dialogue((base[0], replies[0], base[2], replies[1]))
    return replies[0], replies[1]


async def perturb(
    kind: str, turns: tuple[str, str, str, str], *, emotion: str, situation: str, language: str,
    probe_emotion: str | None, max_retries: int = 2,
) -> tuple[tuple[str, str, str, str] | None, dict[str, Any]]:
    """Ask the perturber for one rewrite; (turns or None, provenance for the log)."""
    model = require_perturber()
    messages = brief_messages(kind, turns, emotion=emotion, situation=situation, language=language,
                              probe_emotion=probe_emotion)
    provenance: dict[str, Any] = {
        "perturber_model": str(model),
        "brief_version": BRIEF_VERSION,
        "brief_sha256": BRIEF_SHA256,
        "probe_kind": kind,
        "probe_emotion": probe_emotion,
        "attempts": [],
    }
    for _ in range(max_retries + 1):
        output = await model.generate(messages, config=GenerateConfig(temperature=0))
        attempt: dict[str, Any] = {"completion": output.completion, "error": None}
        provenance["attempts"].append(attempt)
        try:
            s1, s2 = parse_rewrite(output.completion, turns)
            return (turns[0], s1, turns[2], s2), provenance
        except ValueError as e:
            attempt["error"] = str(e)
            messages = [*messages, output.message,
                        ChatMessageUser(content=_BRIEF[language]["retry"].format(error=str(e)))]
    return None, provenance
