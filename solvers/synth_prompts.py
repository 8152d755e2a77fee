"""Briefs of the synthetic-data pipeline's first two stages, and the solver that calls the generator.

The pipeline (``emplifai synth``, tasks in ``tasks/synth.py``) follows the shape of SYNTHEMPATHY
(brainstorm a scenario, rewrite it as a first-person explanation, write empathetic replies) in
EmplifAI's schema:

1. brainstorm: one chronic-care scene per (emotion, index), in the patient's own words. Each
   request names a condition, a stage of care and who is beside the patient, drawn with the run's
   seed from the lists below, so that the scenes vary instead of collapsing onto the model's
   favourite illness;
2. rewrite: the scene becomes one ``situation`` line in the dataset's style (one or two
   first-person sentences), with a few situations of the input data shown for style only;
3. dialogue: the benchmark's own generation brief (``solvers.generation_prompt``), so synthetic
   dialogues are written to exactly the prompt the SFT trainer and the benchmark use.

Every text here is written by this project, in Japanese (the benchmark's language).
``SYNTH_BRIEF_VERSION`` and ``brief_hash()`` go into every output row and log.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from inspect_ai.model import CachePolicy, ChatMessage, ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.taxonomy import BY_LABEL

SYNTH_BRIEF_VERSION = "synth-brief-v1"
GENERATOR_ROLE = "generator"

# Chronic conditions the scenes are set in (common, long-term, managed at home and in clinics).
CONDITIONS: tuple[str, ...] = (
    "2型糖尿病", "1型糖尿病", "関節リウマチ", "慢性腎臓病（人工透析）", "慢性心不全", "COPD（慢性閉塞性肺疾患）",
    "乳がんの治療後の経過観察", "大腸がんの通院治療", "パーキンソン病", "多発性硬化症", "クローン病", "潰瘍性大腸炎",
    "てんかん", "線維筋痛症", "乾癬", "重い喘息", "慢性肝炎", "甲状腺機能低下症", "慢性腰痛", "脳卒中の後遺症",
)
# Where in the course of care the scene happens.
CARE_STAGES: tuple[str, ...] = (
    "診断を受けたばかりの頃", "治療を始めて間もない頃", "治療を続けて数年たった頃", "症状が悪化した時期",
    "入院している間", "退院して家に戻ったばかりの頃", "定期検査の結果を待っている時期", "薬が変わった直後",
    "リハビリに通っている時期", "症状が落ち着いている時期", "仕事や学校に戻ろうとしている時期",
)
# Who is beside the patient (the supporter of the later dialogue).
RELATIONS: tuple[str, ...] = (
    "夫", "妻", "パートナー", "母親", "父親", "娘", "息子", "姉", "弟", "祖母", "親しい友人", "職場の同僚",
)


@dataclass(frozen=True)
class SceneSpec:
    """What one brainstorm request asks for."""

    emotion: str
    index: int
    condition: str
    care_stage: str
    relation: str


def scene_specs(emotions: Sequence[str], per_emotion: int, seed: int) -> list[SceneSpec]:
    """``per_emotion`` specs per emotion, with condition, stage and relation drawn with ``seed``.

    Within an emotion the conditions are drawn without replacement (cycling through the list when
    ``per_emotion`` exceeds it), so K scenes of one emotion are set in K different illnesses
    whenever K <= 20. The draw depends only on (seed, emotion), not on which other emotions run.
    """
    specs: list[SceneSpec] = []
    for emotion in emotions:
        rng = random.Random(f"{seed}:{emotion}")
        conditions: list[str] = []
        while len(conditions) < per_emotion:
            block = list(CONDITIONS)
            rng.shuffle(block)
            conditions += block
        for i in range(per_emotion):
            specs.append(
                SceneSpec(emotion, i + 1, conditions[i], rng.choice(CARE_STAGES), rng.choice(RELATIONS))
            )
    return specs


_BRAINSTORM_SYSTEM = (
    "あなたは、慢性の病気とともに暮らす人の日々の一場面を、本人の立場から具体的に書く書き手です。"
    "医療や介護の現場でありそうな、落ち着いた現実的な場面を書きます。"
)
_BRAINSTORM_USER = (
    "慢性の病気とともに暮らす患者が、ある感情をはっきりと抱いた場面を一つ考えて書いてください。\n"
    "\n"
    "場面の条件:\n"
    "- 患者が抱いた感情：{emotion_ja}\n"
    "- 患者の病気：{condition}\n"
    "- 療養のどの段階か：{care_stage}\n"
    "- 患者のそばにいる人：{relation}\n"
    "\n"
    "書き方:\n"
    "- 患者本人が「私」として語る文章で、2〜4文にしてください。\n"
    "- 何が起きたのか、なぜその気持ちになったのかが、読んだ人に具体的に伝わるようにしてください。\n"
    "- 感情を表す言葉だけに頼らず、出来事や考えたことから気持ちが伝わるようにしてください。\n"
    "- 人の名前、病院の名前、連絡先などの個人を特定できる情報は書かないでください。\n"
    "- 自分や他人を傷つける行為の詳しい描写は書かないでください。\n"
    "- 場面の文章だけを書いてください。前置き、見出し、箇条書き、説明は付けないでください。"
)

_REWRITE_SYSTEM = (
    "あなたは、対話データセットの「状況」欄を書きそろえる編集者です。"
    "元の文章の出来事と気持ちを変えずに、決められた書き方に短くまとめます。"
)
_REWRITE_USER = (
    "次の文章は、慢性の病気とともに暮らす患者が、ある感情を抱いた場面を本人の言葉で書いたものです。"
    "これを、データセットの「状況」欄に入れる1行に書き直してください。\n"
    "\n"
    "書き方:\n"
    "- 患者本人の一人称で、1〜2文、40〜90文字程度の1行にしてください。\n"
    "- 場面の中心となる出来事と、その気持ちになったきっかけを残してください。\n"
    "- 下の「書き方の見本」は文体をそろえるためだけのものです。見本の出来事や言い回しは使わないでください。\n"
    "- 書き直した1行だけを出力してください。かぎかっこ、見出し、説明は付けないでください。\n"
    "\n"
    "書き方の見本（別の場面のものです）:\n"
    "{examples}\n"
    "\n"
    "患者が抱いた感情：{emotion_ja}\n"
    "元の文章:\n"
    "{draft}"
)


def brainstorm_messages(spec: SceneSpec) -> list[ChatMessage]:
    """Stage 1 request for one scene."""
    return [
        ChatMessageSystem(content=_BRAINSTORM_SYSTEM),
        ChatMessageUser(
            content=_BRAINSTORM_USER.format(
                emotion_ja=BY_LABEL[spec.emotion].ja, condition=spec.condition,
                care_stage=spec.care_stage, relation=spec.relation,
            )
        ),
    ]


def rewrite_messages(emotion: str, draft: str, style_examples: Sequence[str]) -> list[ChatMessage]:
    """Stage 2 request: ``draft`` (a stage-1 scene) to one situation line, with style examples."""
    if not draft.strip():
        raise ValueError("draft is empty")
    examples = "\n".join(f"- {s.strip()}" for s in style_examples) or "- （見本なし）"
    return [
        ChatMessageSystem(content=_REWRITE_SYSTEM),
        ChatMessageUser(
            content=_REWRITE_USER.format(examples=examples, emotion_ja=BY_LABEL[emotion].ja, draft=draft.strip())
        ),
    ]


def brief_lines() -> list[str]:
    """Every fixed line of the stage-1/2 briefs (a reply that repeats one is a template copy)."""
    lines: list[str] = []
    for text in (_BRAINSTORM_SYSTEM, _BRAINSTORM_USER, _REWRITE_SYSTEM, _REWRITE_USER):
        for ln in text.splitlines():
            # Keep only the fixed part of lines with a slot; drop bullets.
            fixed = ln.split("{")[0].lstrip("- ").strip()
            if len(fixed) >= 8:
                lines.append(fixed)
    return lines


def brief_hash() -> str:
    """Short hash of the stage-1/2 brief texts and the variety lists."""
    parts = (
        _BRAINSTORM_SYSTEM, _BRAINSTORM_USER, _REWRITE_SYSTEM, _REWRITE_USER,
        "|".join(CONDITIONS), "|".join(CARE_STAGES), "|".join(RELATIONS),
    )
    return hashlib.sha256("\n\x1e\n".join(parts).encode("utf-8")).hexdigest()[:12]


@solver
def role_generate(
    role: str = GENERATOR_ROLE,
    temperature: float | None = None,
    max_tokens: int | None = None,
    cache: bool = True,
    variant: str = "",
) -> Solver:
    """Generate with the model bound to ``role`` (Inspect falls back to the eval's main model).

    ``cache``: Inspect's generation cache, so a re-run with the same seed reuses earlier outputs
    (calls with identical prompts are told apart by ``variant`` and the sample's id, so the M
    dialogues of one situation are M separate generations, not one cached reply).
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model(role=role)
        policy = (
            CachePolicy(expiry=None, scopes={"sample": str(state.sample_id), "variant": variant}) if cache else False
        )
        output = await model.generate(
            state.messages, config=GenerateConfig(temperature=temperature, max_tokens=max_tokens), cache=policy
        )
        state.output = output
        state.messages.append(output.message)
        return state

    return solve
