from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from sklearn.model_selection import train_test_split

from emplifai.data.loaders import load_dialogues
from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_format import ParsedDialogue, parse_dialogue
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.solvers.generation_prompt import reference_completion
from emplifai.tasks.generation import draw_eval_pairs, generation
from emplifai.taxonomy import BY_LABEL

DATA = Path(__file__).parent / "fixtures" / "generation" / "dialogues.jsonl"
DIALOGUE = "患者：検査が怖いです。\n支援者：それは辛かったね。\n患者：眠れません。\n支援者：一緒に頑張ろう！"


def _output(content: str) -> ModelOutput:
    # With usage set, mockllm does not count tokens with tiktoken (which downloads its encoding).
    out = ModelOutput.from_content("mockllm/model", content)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def _records(n_situations: int, per_situation: int = 3) -> list[DialogueRecord]:
    out = []
    for s in range(n_situations):
        for d in range(per_situation):
            out.append(
                DialogueRecord(
                    dialogue_id=f"d{s:03d}-{per_situation - d}",  # later rows have smaller ids
                    situation_id=f"s{s:03d}",
                    emotion="fear",
                    situation=f"状況{s}",
                    patient_1="a", supporter_1="b", patient_2="c", supporter_2="d",
                )
            )
    return out


# --- draw_eval_pairs ---------------------------------------------------------------------------


def test_draw_is_scikit_learn_test_split_of_sorted_pairs() -> None:
    records = _records(30)
    drawn = draw_eval_pairs(records, 10, 42)
    pairs = sorted({r.situation_id for r in records})
    _, expected = train_test_split(pairs, test_size=10, random_state=42)
    assert [r.situation_id for r in drawn] == list(expected)


def test_draw_is_deterministic_and_independent_of_row_order() -> None:
    records = _records(30)
    shuffled = records[:]
    random.Random(0).shuffle(shuffled)
    first = draw_eval_pairs(records, 10, 42)
    assert draw_eval_pairs(shuffled, 10, 42) == first
    assert draw_eval_pairs(records, 10, 42) == first
    assert [r.situation_id for r in draw_eval_pairs(records, 10, 7)] != [r.situation_id for r in first]


def test_one_reference_per_pair_first_by_dialogue_id() -> None:
    drawn = draw_eval_pairs(_records(30), 10, 42)
    assert len({r.situation_id for r in drawn}) == 10
    assert all(r.dialogue_id.endswith("-1") for r in drawn)


@pytest.mark.parametrize("n", [6, 100])
def test_fewer_pairs_than_n_gives_all(n: int) -> None:
    drawn = draw_eval_pairs(_records(6), n, 42)
    assert [r.situation_id for r in drawn] == [f"s{s:03d}" for s in range(6)]


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_draw_bad_n(n: Any) -> None:
    with pytest.raises(ValueError, match="n must be"):
        draw_eval_pairs(_records(6), n, 42)


# --- the task (end to end with the real rubric judge and a mockllm grader) -----------------------

# The judge answers what it is asked: seven metric verdicts for mode="all", one rationale/score
# for each single-metric question of mode="per_metric" (a verdict with extra keys is refused).
ONE_VERDICT = {"rationale": "気持ちを受け止めている", "score": 4}
ALL_VERDICTS = {k: {"rationale": "妥当", "score": 4} for k in METRIC_KEYS}


def _verdict(messages: list[Any], *args: Any) -> ModelOutput:
    asked = sum(f"({k})" in messages[0].text for k in METRIC_KEYS)  # rubric headings "## name (key)"
    return _output(json.dumps(ONE_VERDICT if asked == 1 else ALL_VERDICTS, ensure_ascii=False))


@pytest.fixture
def grader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    # The judge caches its calls; a per-test cache keeps one test's mock verdicts out of another's.
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    return get_model("mockllm/model", custom_outputs=_verdict)


def _run(task: Any, model: Any, grader: Any, log_dir: Path) -> EvalLog:
    roles = {"grader": grader} if grader is not None else None
    (log,) = eval(task, model=model, model_roles=roles, display="none", log_format="json", log_dir=str(log_dir))
    return log


def _metric(log: EvalLog, score_name: str, metric: str = "mean") -> float:
    assert log.results is not None
    return next(sc.metrics[metric].value for sc in log.results.scores if sc.name == score_name)


def _never_called(*args: Any) -> ModelOutput:
    raise AssertionError("source=reference must not call the model")


def test_model_source_end_to_end(grader: Any, tmp_path: Path) -> None:
    candidate = get_model("mockllm/model", custom_outputs=[_output(DIALOGUE) for _ in range(4)])
    log = _run(generation(data=str(DATA), n=4), candidate, grader, tmp_path)
    assert log.status == "success", log.error
    expected_ids = [r.situation_id for r in draw_eval_pairs(load_dialogues(DATA), 4, 42)]
    assert log.samples is not None
    assert sorted(str(s.id) for s in log.samples) == sorted(expected_ids)
    for s in log.samples:
        assert s.scores is not None
        assert s.scores["reply_length"].value == {"chars": 8.5, "words": 4.0, "format_ok": 1}
        judged = s.scores["rubric_judge"]
        assert judged.value["overall"] == 4.0 and judged.value["format_ok"] == 1
        assert judged.metadata is not None and judged.metadata["judge_calls"] == 1
        md = s.metadata
        assert md["situation_id"] == s.id and md["language"] == "ja" and md["max_chars"] is None
        assert len(md["reference_turns"]) == 4 and md["situation"] and md["emotion"] in BY_LABEL
    assert log.eval.task_args["n"] == 4
    meta = log.eval.metadata or {}
    assert meta["n_pairs"] == 4 and meta["fewer_pairs_than_requested"] is False
    assert meta["eval_situation_ids"] == sorted(expected_ids)
    assert _metric(log, "format_ok") == 1.0
    assert _metric(log, "chars") == 8.5
    assert _metric(log, "rubric_judge", "overall") == 4.0  # one score per judge, overall first


def test_reference_source_replays_the_human_dialogue(grader: Any, tmp_path: Path) -> None:
    candidate = get_model("mockllm/model", custom_outputs=_never_called)
    log = _run(generation(data=str(DATA), n=3, source="reference", judge_mode="per_metric"), candidate, grader, tmp_path)
    assert log.status == "success", log.error
    by_situation = {r.situation_id: r for r in draw_eval_pairs(load_dialogues(DATA), 3, 42)}
    assert log.samples is not None and len(log.samples) == 3
    for s in log.samples:
        ref = by_situation[str(s.id)]
        assert s.output.completion == reference_completion(ref)
        assert s.output.model == "reference"
        assert s.metadata["reference_dialogue_id"] == ref.dialogue_id
        assert s.scores is not None and s.scores["reply_length"].value["format_ok"] == 1
        judged = s.scores["rubric_judge"]
        assert judged.metadata is not None and judged.metadata["judge_calls"] == len(METRIC_KEYS)


def test_format_failure_scores_lowest_and_leaves_length_unscored(grader: Any, tmp_path: Path) -> None:
    candidate = get_model("mockllm/model", custom_outputs=lambda *args: _output("つらかったね。いつでも話を聞くよ。"))
    log = _run(generation(data=str(DATA), n=2), candidate, grader, tmp_path)
    assert log.status == "success", log.error
    assert log.samples is not None
    for s in log.samples:
        assert s.scores is not None
        length = s.scores["reply_length"].value
        assert length["format_ok"] == 0 and math.isnan(length["chars"])
        assert s.scores["rubric_judge"].value["overall"] == 1.0
    assert _metric(log, "format_ok") == 0.0


def test_no_grader_stops_the_run(tmp_path: Path) -> None:
    candidate = get_model("mockllm/model", custom_outputs=_never_called)
    log = _run(generation(data=str(DATA), n=2), candidate, None, tmp_path)
    assert log.status == "error"
    assert log.error is not None and "grader" in log.error.message


def test_reference_is_first_dialogue_by_id() -> None:
    task = generation(data=str(DATA), n=100)
    ref_ids = {s.id: s.metadata["reference_dialogue_id"] for s in task.dataset}
    # The fixture lists g02 before g01 for sit-a on purpose.
    assert ref_ids["sit-a"] == "g01"


def test_fewer_pairs_than_n_is_recorded(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="emplifai.tasks.generation"):
        task = generation(data=str(DATA), n=100)
    assert len(task.dataset) == 6
    assert task.metadata["fewer_pairs_than_requested"] is True
    assert task.metadata["n_pairs"] == 6 and task.metadata["n_requested"] == 100
    assert any("only 6" in rec.getMessage() for rec in caplog.records)


def test_fewshot_examples_come_from_other_situations() -> None:
    task = generation(data=str(DATA), n=4, fewshot=2, max_chars=60, language="en")
    by_id = {r.dialogue_id: r for r in load_dialogues(DATA)}
    for s in task.dataset:
        ids = s.metadata["fewshot_dialogue_ids"]
        assert len(ids) == 2
        assert all(by_id[i].situation_id != s.id for i in ids)
        user = s.input[1].text  # type: ignore[index]
        assert all(reference_completion(by_id[i], "en") in user for i in ids)
        assert "at most 60 characters" in user
    again = generation(data=str(DATA), n=4, fewshot=2, max_chars=60, language="en")
    assert [s.metadata["fewshot_dialogue_ids"] for s in again.dataset] == [
        s.metadata["fewshot_dialogue_ids"] for s in task.dataset
    ]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n": 0}, "-T n must be"),
        ({"fewshot": -1}, "-T fewshot must be"),
        ({"judge_mode": "some"}, "-T judge_mode must be one of"),
        ({"source": "human"}, "-T source must be one of"),
        ({"language": "fr"}, "-T language must be one of"),
        ({"max_chars": 0}, "-T max_chars must be"),
    ],
)
def test_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generation(data=str(DATA), **kwargs)


def test_fewshot_larger_than_other_situations() -> None:
    with pytest.raises(ValueError, match="fewshot=6 needs 6 situations"):
        generation(data=str(DATA), n=2, fewshot=6)


def test_bundled_sample_with_default_parameters() -> None:
    task = generation()
    records = load_dialogues()
    assert len(task.dataset) == min(100, len({r.situation_id for r in records}))
    for s in task.dataset:
        # Every reference dialogue replays through the format the model must write.
        parsed = parse_dialogue(str(s.target))
        assert isinstance(parsed, ParsedDialogue), (s.id, parsed)
        assert list(parsed.turns) == s.metadata["reference_turns"]
