"""The EPITOME-style rubric: loaded and validated like the others, selectable with -T rubric=epitome,
scored on its own three metrics (and only those) by the rubric judge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, ModelOutput, get_model

from emplifai.errors import UserError
from emplifai.scorers.judge_prompt import FENCE_OPEN, VerdictError, parse_verdict, response_schema, system_prompt
from emplifai.scorers.rubrics import EPITOME_KEYS, METRIC_KEYS, RubricError, load_rubrics, parse_rubrics, rubric_path
from emplifai.tasks.generation import generation

EPITOME_VERDICT = {"emotional_reactions": 4, "interpretations": 2, "explorations": 5}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_epitome_rubric_loads_with_its_three_keys(language: str) -> None:
    rs = load_rubrics(language, "epitome")
    assert rs.keys == EPITOME_KEYS and rs.version == "epitome-1.0.0" and rs.provenance()["rubric_name"] == "epitome"
    assert all(len(r.levels) == 5 for r in rs.rubrics)
    prompt = system_prompt(rs, None)
    assert all(f'"{k}"' in prompt for k in EPITOME_KEYS) and '"harmlessness"' not in prompt
    # The seven-metric keys are refused in an epitome file, and the other way round.
    raw = rubric_path(language, "epitome").read_bytes()
    with pytest.raises(RubricError, match="expected exactly"):
        parse_rubrics(raw, rubric_path(language, "epitome"), language, "default")


def test_epitome_verdicts_parse_and_schema() -> None:
    reply = json.dumps({k: {"rationale": "返答に表れている", "score": v} for k, v in EPITOME_VERDICT.items()},
                       ensure_ascii=False)
    verdicts = parse_verdict(reply, None, EPITOME_KEYS)
    assert {k: v.score for k, v in verdicts.items()} == EPITOME_VERDICT
    with pytest.raises(VerdictError, match="missing metrics"):
        parse_verdict(reply, None, METRIC_KEYS)
    props = response_schema(None, EPITOME_KEYS).json_schema.properties
    assert set(props) == set(EPITOME_KEYS) and props["explorations"].properties["score"].enum == [1, 2, 3, 4, 5]


def _judge(messages: list[ChatMessage], *_: Any) -> ModelOutput:
    text = "".join(m.text for m in messages)
    assert FENCE_OPEN in text and "情動的な反応" in text
    return ModelOutput.from_content(
        "mockllm/model",
        json.dumps({k: {"rationale": "台本の採点", "score": v} for k, v in EPITOME_VERDICT.items()}, ensure_ascii=False),
    )


def test_generation_task_with_rubric_epitome(tmp_path) -> None:
    [log] = inspect_eval(
        generation(n=2, source="reference", rubric="epitome"), model="none/none",
        model_roles={"grader": get_model("mockllm/model", custom_outputs=_judge)},
        log_dir=str(tmp_path), display="none",
    )
    assert log.status == "success", log.error
    # The judge's score lists the keys its rubric scored: only the epitome ones, overall first.
    [judge] = [s for s in log.results.scores if s.name == "rubric_judge"]
    names = list(judge.metrics)
    assert names[0] == "overall" and set(EPITOME_KEYS) <= set(names) and "harmlessness" not in names, names
    assert judge.metrics["interpretations"].value == 2
    for sample in log.samples:
        score = sample.scores["rubric_judge"]
        assert set(score.value) == {*EPITOME_KEYS, "overall", "format_ok"}
        assert score.value["overall"] == pytest.approx(11 / 3)
        assert score.metadata["rubric_name"] == "epitome"
    with pytest.raises(UserError):
        generation(n=2, rubric="warmth")
