"""Scripted stages for the synth pipeline tests: mockllm models that answer from the prompt.

The script decides, per scene, what every stage writes, so the tests know exactly which items
must survive which filter. Scenes are found by the condition named in the stage-1 request
(``scene_specs`` with the test's seed), drafts and situations by their text.

With emotions joy, fear, K=4 scenes each and M=2 dialogues per situation:

| scene | stage 1 | stage 2 | stage 3 (both dialogues) | expected |
|---|---|---|---|---|
| joy 1 | good | good | two distinct warm dialogues | d1 kept, d2 dropped by balance |
| joy 2 | good | copies a real (sample-set) situation | - | situation_near_dup |
| joy 3 | English | - | - | draft_format |
| joy 4 | good | good | the brief's placeholder turns | format |
| fear 1 | good | good | cold but correct replies (judge: GE 2, ESE 2, Sec 3) | judge |
| fear 2 | good | good | two near-identical warm dialogues | d1 kept, d2 near_dup |
| fear 3 | near copy of fear 1's scene | - | - | draft_near_dup |
| fear 4 | good | good | warm dialogues the labeler reads as joy | label |
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from emplifai.data import SAMPLE_PATH
from emplifai.dialogue_format import format_dialogue
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN
from emplifai.solvers.synth_prompts import scene_specs

EMOTIONS = ["joy", "fear"]
K, M, SEED = 4, 2, 7

DRAFTS = {
    ("joy", 1): "先月から飲み始めた新しい薬が合ったようで、今朝は久しぶりに手のこわばりがなかった。"
                "自分でシャツのボタンを全部留められて、思わず夫に見せに行った。",
    ("joy", 2): "この一年でいちばん良い検査の数値が出て、主治医にも続けてきた食事の工夫をほめられた。"
                "帰り道、娘と小さなケーキを一つだけ買って分けた。",
    ("joy", 3): "I was very happy today because my test results were much better than last time.",
    ("joy", 4): "退院して初めて庭に出ると、入院前に植えたチューリップが咲いていた。"
                "留守の間、弟が毎朝水やりを続けてくれていたと聞いて胸がいっぱいになった。",
    ("fear", 1): "来週、再発がないかを調べるCT検査がある。前回の結果を聞いた日の診察室の空気を思い出すと、"
                 "夜中に何度も目が覚めてしまう。",
    ("fear", 2): "最近は息切れがひどくなり、駅の階段の途中で立ち止まることが増えた。"
                 "このまま一人で外に出られなくなるのではと考えると落ち着かない。",
    ("fear", 3): "来週、再発がないかを調べるCT検査がある。前回の結果を聞いた日の診察室の空気を思い出すと、"
                 "夜中に何度も目が覚めてしまうのだ。",
    ("fear", 4): "一人でいるときに発作が起きたらどうしようと思うようになり、"
                 "近所のスーパーへ行くのもためらうようになった。",
}
_real = json.loads(SAMPLE_PATH.read_text(encoding="utf-8").splitlines()[0])["situation"]
SITUATIONS = {
    ("joy", 1): "新しい薬が効いて、久しぶりに自分の手でシャツのボタンを全部留められた。",
    ("joy", 2): _real,
    ("joy", 4): "退院して家に戻ると、弟が水やりを続けてくれた庭のチューリップが咲いていた。",
    ("fear", 1): "再発を調べるCT検査が来週あり、前回のことを思い出して夜中に何度も目が覚める。",
    ("fear", 2): "息切れで駅の階段の途中で止まることが増え、このまま外出できなくなるのが怖い。",
    ("fear", 4): "一人のときに発作が起きたらと思うと、近所のスーパーにも行けなくなった。",
}
WARM_JOY = [
    ["見て、自分でボタンを全部留められたよ。こんなの何か月ぶりだろう。", "本当だ、全部留まってる。ずっと悔しい思いをしてきたから、うれしさもひとしおだね。",
     "うん、なんだか泣きそうになっちゃった。", "泣きそうになるくらいうれしいよね。今日は一緒にお祝いしよう。"],
    ["朝、手が軽くて驚いたんだ。薬が合ってきたのかな。", "それはうれしい知らせだね。朝の手の重さにずっと付き合ってきたもんね。",
     "次の診察で先生にも伝えたいな。", "ぜひ伝えよう。良い変化を一緒に喜んでもらえたら、もっと励みになるね。"],
]
PLACEHOLDER = ["（1回目の発言）", "（1回目の返答）", "（2回目の発言）", "（2回目の返答）"]
COLD = [
    ["検査のことを考えると夜中に目が覚めてしまうんだ。", "CT検査は短時間で終わるし、再発率は統計的にはそれほど高くないよ。",
     "でも、どうしても前回のことを思い出してしまって。", "睡眠不足は体に悪いから、寝る前のスマートフォンはやめた方がいい。"],
    ["来週の検査が近づくと眠れなくて。", "検査の前日は食事の制限があるから、説明書をもう一度読んでおいて。",
     "そういうことじゃなくて、怖いんだよ。", "結果は医師が説明するから、今から考えても仕方がないよ。"],
]
WARM_FEAR = [
    ["階段の途中で止まるたびに、このまま外に出られなくなるんじゃないかって怖くなる。",
     "息が切れて立ち止まるたびに、先のことまで考えてしまうよね。怖くなるのは当然だと思う。",
     "一人で出かけるのが不安なんだ。", "不安なときは一緒に行くよ。次の受診で息切れのことも先生に相談してみよう。"],
    ["階段の途中で止まるたびに、このまま外に出られなくなるんじゃないかって怖くなるよ。",
     "息が切れて立ち止まるたびに、先のことまで考えてしまうよね。怖くなるのは当然だと思うよ。",
     "一人で出かけるのが不安なんだよね。", "不安なときは一緒に行くよ。次の受診で息切れのことも先生に相談してみようね。"],
]
MISREAD = [
    ["発作のことが頭から離れなくて、買い物にも行けないの。", "一人のときのことを考えると足がすくむよね。その気持ち、よくわかるよ。",
     "迷惑をかけたくないけど、怖くて。", "迷惑なんかじゃないよ。しばらくは一緒に行こう。発作のときの動き方も一緒に確認しよう。"],
    ["スーパーの前まで行って、引き返してきちゃった。", "そこまで行けたんだね。引き返したくなるほど怖かったんだと思う。",
     "情けなくて。", "情けなくなんかないよ。怖さを抱えながら外に出たこと自体が大きな一歩だよ。次は付き添うね。"],
]
DIALOGUES = {("joy", 1): WARM_JOY, ("joy", 4): [PLACEHOLDER, PLACEHOLDER], ("fear", 1): COLD,
             ("fear", 2): WARM_FEAR, ("fear", 4): MISREAD}
# The items a run of the script must keep, and where each dropped item must fall.
EXPECTED_KEPT = {"synth-joy-001-d1", "synth-fear-002-d1"}
EXPECTED_SITUATION_DROPS = {"synth-joy-002": "situation_near_dup", "synth-joy-003": "draft_format",
                            "synth-fear-003": "draft_near_dup"}
EXPECTED_DIALOGUE_DROPS = {
    "synth-joy-001-d2": "balance", "synth-joy-004-d1": "format", "synth-joy-004-d2": "format",
    "synth-fear-001-d1": "judge", "synth-fear-001-d2": "judge", "synth-fear-002-d2": "near_dup",
    "synth-fear-004-d1": "label", "synth-fear-004-d2": "label",
}


def _scene_of_condition() -> dict[str, tuple[str, int]]:
    out = {}
    for spec in scene_specs(EMOTIONS, K, SEED):
        out.setdefault(spec.condition, (spec.emotion, spec.index))
    return out


def _text(messages: list[ChatMessage]) -> str:
    return messages[-1].text


def _out(content: str) -> ModelOutput:
    return ModelOutput.from_content(model="mockllm/model", content=content)


def generator_model() -> Any:
    """Answers stage 1, 2 and 3 requests from the script; counts calls per situation for M=2."""
    conditions = _scene_of_condition()
    calls: dict[tuple[str, int], int] = {}

    def answer(messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig) -> ModelOutput:
        text = _text(messages)
        if "場面の条件" in text:  # stage 1
            condition = text.split("患者の病気：", 1)[1].split("\n", 1)[0]
            return _out(DRAFTS[conditions[condition]])
        if "元の文章" in text:  # stage 2
            key = next(k for k, d in DRAFTS.items() if d in text)
            return _out(SITUATIONS[key])
        key = next(k for k, s in SITUATIONS.items() if s in text)  # stage 3
        n = calls.get(key, 0)
        calls[key] = n + 1
        return _out(format_dialogue(DIALOGUES[key][n % 2]))

    return get_model("mockllm/model", custom_outputs=answer, memoize=False)


def verdict(scores: dict[str, int]) -> str:
    return json.dumps({k: {"rationale": "台本の採点", "score": scores[k]} for k in METRIC_KEYS}, ensure_ascii=False)


# A trusted judge's verdict on a cold-but-correct dialogue, by the default rubric's levels.
COLD_SCORES = {"comprehensibility": 4, "general_empathy": 2, "emotion_specific_empathy": 2, "consistency": 4,
               "fluency": 5, "harmlessness": 5, "sense_of_security": 3}
WARM_SCORES = dict.fromkeys(METRIC_KEYS, 5)


def judge_model() -> Any:
    """Judge (fenced dialogue in the prompt) and labeler (the emotion task's question) in one."""

    def answer(messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig) -> ModelOutput:
        text = _text(messages)
        if FENCE_OPEN in text:
            dialogue = text.split(FENCE_OPEN, 1)[1].split(FENCE_CLOSE, 1)[0]
            cold = any(d[1] in dialogue for d in COLD)
            return _out(verdict(COLD_SCORES if cold else WARM_SCORES))
        if any(d[1] in text for d in MISREAD):
            return _out("喜び")
        key = next(k for k, s in SITUATIONS.items() if s in text)
        return _out({"joy": "喜び", "fear": "恐れ"}[key[0]])

    return get_model("mockllm/model", custom_outputs=answer, memoize=False)
