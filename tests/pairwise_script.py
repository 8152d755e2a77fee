"""Scripted models for the pairwise tests: two candidate writers (each marks its supporter replies
with a phrase of its own), the generation logs they write, and judges that answer from the fenced
dialogues they are shown.

A judge finds which fence (A or B) holds which dialogue by those phrases (or, against the human
reference, by the candidate's phrase), so a dialogue put behind the wrong label, or a prompt
that shows one dialogue twice, changes the outcome the tests check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai import eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from emplifai.dialogue_format import format_dialogue
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.judge_prompt import FENCE_CLOSE
from emplifai.scorers.pairwise_prompt import fence_open
from emplifai.tasks.generation import generation

CANDIDATE_PHRASE = "一緒に少しずつ考えていきましょう"
OTHER_PHRASE = "まずは深呼吸をしてみてください"


def dialogue(phrase: str, padding: int = 0) -> str:
    """A valid two-turn dialogue whose supporter replies carry ``phrase`` (``padding`` extra
    characters in the first reply)."""
    return format_dialogue([
        "最近、体調のことでずっと不安なんです。",
        f"不安な気持ちを話してくださってありがとうございます。{phrase}。" + "ね" * padding,
        "誰にも相談できなくて。",
        f"ひとりで抱えてこられたのですね。{phrase}。",
    ])


def writer(text: str | Callable[[list[ChatMessage]], str]) -> Callable[..., ModelOutput]:
    def generate(messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig) -> ModelOutput:
        return ModelOutput.from_content("mockllm/writer", text(messages) if callable(text) else text)

    return generate


def rubric_grader(messages: list[ChatMessage], *args: Any) -> ModelOutput:
    """The absolute judge of the generation runs that write the logs: 3 everywhere."""
    verdict = {k: {"rationale": "受け止めはあるが具体性に欠ける", "score": 3} for k in METRIC_KEYS}
    return ModelOutput.from_content("mockllm/rubric", json.dumps(verdict, ensure_ascii=False))


def generation_log(
    text: str | Callable[[list[ChatMessage]], str], log_dir: Path, n: int = 4, name: str = "mockllm/writer", **args: Any
) -> EvalLog:
    """Run the generation task with a scripted writer (model ``name``); the log (on disk in ``log_dir``)."""
    (log,) = eval(
        generation(n=n, **args),
        model=get_model(name, custom_outputs=writer(text)),
        model_roles={"grader": get_model("mockllm/rubric", custom_outputs=rubric_grader)},
        display="none", log_dir=str(log_dir),
    )
    assert log.status == "success", log.error
    return log


def fenced(messages: list[ChatMessage], label: str) -> str:
    """The text of dialogue ``label`` in the judge's user message (exactly one fence each)."""
    user = next(m.text for m in messages if m.role == "user")
    lines = user.split("\n")
    assert lines.count(fence_open(label)) == 1, user
    start = lines.index(fence_open(label)) + 1
    return "\n".join(lines[start : lines.index(FENCE_CLOSE, start)])


def verdict(preferred: dict[str, str] | str) -> str:
    prefs = preferred if isinstance(preferred, dict) else dict.fromkeys(METRIC_KEYS, preferred)
    return json.dumps(
        {k: {"rationale": f"{k}: 返答の受け止め方を比べた", "preferred": p} for k, p in prefs.items()},
        ensure_ascii=False,
    )


class Judge:
    """A mockllm grader ``answer(messages) -> reply``, recording every conversation it was sent."""

    def __init__(self, answer: Callable[[list[ChatMessage]], str]) -> None:
        self.answer = answer
        self.calls: list[list[ChatMessage]] = []
        self.configs: list[GenerateConfig] = []

    def __call__(self, messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig) -> ModelOutput:
        self.calls.append(list(messages))
        self.configs.append(config)
        return ModelOutput.from_content("mockllm/judge", self.answer(messages))

    def model(self) -> Any:
        return get_model("mockllm/judge", custom_outputs=self)


def candidate_label(messages: list[ChatMessage], phrase: str = CANDIDATE_PHRASE) -> str:
    """The label of the fence holding the candidate (the dialogue with ``phrase``; exactly one has it)."""
    a, b = fenced(messages, "A"), fenced(messages, "B")
    assert (phrase in a) != (phrase in b), (a, b)
    return "A" if phrase in a else "B"


def prefers_candidate(phrase: str = CANDIDATE_PHRASE) -> Judge:
    return Judge(lambda m: verdict(candidate_label(m, phrase)))


def position_biased() -> Judge:
    return Judge(lambda m: verdict("A"))


def always_tie() -> Judge:
    return Judge(lambda m: verdict("tie"))


def unusable() -> Judge:
    return Judge(lambda m: "どちらの対話も良いと思います。")
