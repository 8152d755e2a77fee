"""The structured dialogue variant (-T dialogue_format=structured): schema, reader, brief, and the
generation task run through inspect_ai.eval with scripted mockllm candidate and grader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from emplifai.dialogue_format import FormatFailure, format_dialogue, parse_dialogue
from emplifai.dialogue_structured import (
    TURN_KEYS,
    dialogue_schema,
    parse_structured,
    turns_as_json,
)
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN
from emplifai.solvers.generation_prompt import prompt_hash, user_prompt
from emplifai.tasks.generation import generation

TURNS = (
    "来週の検査の結果が怖くて、夜も眠れません。",
    "結果を待つ時間は本当に怖いですよね。眠れなくなるのは自然なことです。",
    "家族にも心配をかけたくなくて、誰にも言えていません。",
    "話してくださってありがとうございます。一緒に気持ちを整理していきましょう。",
)
GOOD = json.dumps(dict(zip(TURN_KEYS, TURNS)), ensure_ascii=False)


def test_reads_a_json_object_in_any_wrapping() -> None:
    assert parse_structured(GOOD) == TURNS
    assert parse_structured(f"```json\n{GOOD}\n```") == TURNS
    assert parse_structured(f"<think>考え中</think>はい、こちらです。\n{GOOD}\n以上です。") == TURNS


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("患者：こんにちは", "no JSON object"),
        (json.dumps({"patient_1": "a", "supporter_1": "b", "patient_2": "c"}), "lacks ['supporter_2']"),
        (json.dumps({**dict(zip(TURN_KEYS, TURNS)), "note": "x"}), "other than the four turns"),
        (json.dumps({**dict(zip(TURN_KEYS, TURNS)), "patient_2": 3}), "not strings"),
        (json.dumps(dict(zip(TURN_KEYS, ("（1回目の発言）", *TURNS[1:]))), ensure_ascii=False), "placeholder"),
        (json.dumps(dict(zip(TURN_KEYS, (TURNS[0], TURNS[1], TURNS[2], TURNS[1]))), ensure_ascii=False), "repeats"),
        (json.dumps(dict(zip(TURN_KEYS, (TURNS[0], "  ", TURNS[2], TURNS[3]))), ensure_ascii=False), "empty"),
    ],
)
def test_refuses_what_is_not_a_usable_dialogue(text: str, reason: str) -> None:
    result = parse_structured(text)
    assert isinstance(result, FormatFailure)
    assert reason in result.reason


def test_schema_requires_exactly_the_four_turns() -> None:
    schema = dialogue_schema().json_schema.model_dump(exclude_none=True)
    assert schema["required"] == list(TURN_KEYS)
    assert schema["additionalProperties"] is False
    assert all(schema["properties"][k] == {"type": "string", "minLength": 1} for k in TURN_KEYS)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_structured_brief_asks_for_json_and_leaves_the_free_brief_alone(language: str) -> None:
    free = user_prompt("fear", "検査が怖い。", language=language)
    structured = user_prompt("fear", "検査が怖い。", language=language, dialogue_format="structured")
    assert '"patient_1"' in structured and '"supporter_2"' in structured
    assert "JSON" in structured and '"patient_1"' not in free
    # The template shows the same placeholder turns as the free brief (copying them is refused).
    template = json.loads(structured[structured.index("{") : structured.index("}") + 1])
    assert parse_structured(json.dumps(template, ensure_ascii=False)).reason.endswith("(template copied)")
    assert prompt_hash(language) == prompt_hash(language, "free") != prompt_hash(language, "structured")
    with pytest.raises(ValueError):
        user_prompt("fear", "検査が怖い。", language=language, dialogue_format="yaml")


def test_turns_as_json_round_trips() -> None:
    assert parse_structured(turns_as_json(TURNS)) == TURNS


def _verdict() -> str:
    return json.dumps({k: {"rationale": f"{k}: 受け止めている", "score": 4} for k in METRIC_KEYS}, ensure_ascii=False)


class Scripted:
    """mockllm callable: answers every call with ``reply`` and records what it was asked."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[list[ChatMessage], GenerateConfig]] = []

    def __call__(self, messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig) -> ModelOutput:
        self.calls.append((list(messages), config))
        return ModelOutput.from_content("mockllm/model", self.reply)


def _run(candidate_reply: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Scripted, Scripted]:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    candidate, grader = Scripted(candidate_reply), Scripted(_verdict())
    [log] = eval(
        generation(n=1, dialogue_format="structured"),
        model=get_model("mockllm/model", custom_outputs=candidate),
        model_roles={"grader": get_model("mockllm/judge", custom_outputs=grader)},
        display="none", log_dir=str(tmp_path / "logs"),
    )
    assert log.status == "success", log.error
    return log, candidate, grader


def test_structured_run_judges_the_four_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log, candidate, grader = _run(f"```json\n{GOOD}\n```", tmp_path, monkeypatch)
    assert log.eval.metadata["dialogue_format"] == "structured"
    assert log.eval.metadata["prompt_hash"] == prompt_hash("ja", "structured")
    [(_, config)] = candidate.calls
    assert config.response_schema is not None and config.response_schema.name == dialogue_schema().name
    [sample] = log.samples
    # The scorers read the canonical four lines; the model's JSON is kept beside them.
    assert sample.output.completion == format_dialogue(TURNS)
    assert sample.metadata["structured_raw"].startswith("```json")
    judged = sample.scores["rubric_judge"]
    assert judged.value["format_ok"] == 1 and judged.value["comprehensibility"] == 4
    [(messages, _)] = grader.calls
    fenced = messages[-1].text.split(FENCE_OPEN)[1].split(FENCE_CLOSE)[0]
    assert all(turn in fenced for turn in TURNS)


def test_structured_failure_is_a_format_failure_without_judge_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = json.dumps(dict(zip(TURN_KEYS, ("（1回目の発言）", "（1回目の返答）", "（2回目の発言）", "（2回目の返答）"))),
                        ensure_ascii=False)
    log, _, grader = _run(copied, tmp_path, monkeypatch)
    [sample] = log.samples
    judged = sample.scores["rubric_judge"]
    assert judged.value["format_ok"] == 0 and all(judged.value[k] == 1 for k in METRIC_KEYS)
    assert "placeholder" in sample.metadata["structured_format_failure"]
    assert grader.calls == []
    assert isinstance(parse_dialogue(sample.output.completion), FormatFailure)


def test_free_is_the_default_and_recorded() -> None:
    task = generation(n=1)
    assert task.metadata["dialogue_format"] == "free"
    assert task.metadata["prompt_hash"] == prompt_hash("ja")
    with pytest.raises(UserError, match="dialogue_format"):
        generation(n=1, dialogue_format="json")
