"""Hostile input at every edge (issue 20): each case that once crashed a run, was silently
resolved, or gave a misleading reason. End to end through inspect_ai.eval where the issue names a
run's outcome; the parsers directly where it names a reason."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import ChatMessage, ModelOutput, get_model

from emplifai.data.loaders import read_table
from emplifai.data.schema import DataSourceError
from emplifai.dialogue_format import check_turns, format_dialogue, parse_dialogue
from emplifai.dialogue_structured import parse_structured
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.providers import gguf_server
from emplifai.providers.gguf_file import read_gguf_info
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN, neutralise_fences
from emplifai.scorers.rubric_judge import rubric_judge
from emplifai.scorers.rubrics import load_rubrics
from emplifai.scorers.verdict import (
    AmbiguousVerdict,
    DuplicateAnswer,
    VerdictError,
    check_rationale,
    parse_verdict,
)
from emplifai.tasks.generation import generation
from tests.test_rubric_judge import WARM, Candidate, Grader, _sample, run, sample_score

ROOT = Path(__file__).resolve().parents[1]
INSPECT = str(Path(sys.executable).with_name("inspect"))
EMPLIFAI = str(Path(sys.executable).with_name("emplifai"))
DATA = ROOT / "tests" / "fixtures" / "generation" / "dialogues.jsonl"
FULL = {k: {"rationale": f"{k}について具体的に述べている", "score": 4} for k in METRIC_KEYS}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))


def _unscored_with(log: Any, reason_part: str) -> Any:
    assert log.status == "success", log.error
    s = sample_score(log, "warm")
    assert all(math.isnan(s.value[k]) for k in (*METRIC_KEYS, "overall"))
    assert s.reason == "grader_failed"
    assert reason_part in s.metadata["judge_error"], s.metadata["judge_error"]
    return s


# --- 1, 2, 4: replies that crashed a run or were silently resolved --------------------------------


def test_nested_bracket_reply_leaves_the_run_successful_and_the_sample_unscored(tmp_path: Path) -> None:
    grader = Grader(lambda m, n: "[" * 5000 + "{" * 3000)
    _unscored_with(run([_sample("warm", WARM)], grader, tmp_path, max_retries=1), "nested")
    assert len(grader.calls) == 2  # refused, retried, refused


def test_duplicate_key_verdict_is_two_answers_for_one_metric(tmp_path: Path) -> None:
    inner = json.dumps(FULL, ensure_ascii=False)[1:-1]
    doubled_score = '{"fluency": {"rationale": "自然な日本語", "score": 2, "score": 5}, ' + inner.replace(
        '"fluency": {"rationale": "fluencyについて具体的に述べている", "score": 4}, ', ""
    ) + "}"
    s = _unscored_with(
        run([_sample("warm", WARM)], Grader(lambda m, n: doubled_score), tmp_path, max_retries=0),
        "two answers for one metric",
    )
    assert s.metadata["unscored_reason"] == "ambiguous"
    # a second "fluency" object at the top level is the same refusal
    doubled_metric = "{" + inner + ', "fluency": {"rationale": "別の評価", "score": 1}}'
    with pytest.raises(DuplicateAnswer, match="two answers for one metric: the key 'fluency' is given twice"):
        parse_verdict(doubled_metric)
    with pytest.raises(AmbiguousVerdict, match="'fluency.score'"):
        parse_verdict(doubled_score)


def test_na_rationales_leave_the_sample_unscored(tmp_path: Path) -> None:
    reply = json.dumps({k: {"rationale": "N/A", "score": 3} for k in METRIC_KEYS})
    _unscored_with(run([_sample("warm", WARM)], Grader(lambda m, n: reply), tmp_path, max_retries=0), "placeholder")


@pytest.mark.parametrize(
    "rationale", ["N/A", "<rationale>", "（根拠）", "‹理由>", "TODO", "なし", "5", "４", "[reason]", "n/a.", "<your reason here>"]
)
def test_placeholder_rationales_are_refused(rationale: str) -> None:
    problem = check_rationale(rationale)
    assert problem is not None and ("placeholder" in problem), (rationale, problem)


def test_the_rubrics_own_level_text_is_not_a_reason() -> None:
    rubric = load_rubrics("ja").get("general_empathy")
    for text in (rubric.level(5), f"5: {rubric.level(5)}", f"「{rubric.level(2)}」"):
        assert "rubric's own text" in (check_rationale(text) or ""), text
    assert check_rationale("患者の不安を受け止め、眠れない気持ちに寄り添っている") is None
    assert check_rationale("理由") is None  # a word, not a slot: only a bracketed one is a placeholder


@pytest.mark.parametrize("turn", ["（1 回目の発言）", "（一回目の発言）", "（1回目の発言をここに）", "( first reply here )"])
def test_template_copies_with_spaces_kanji_numerals_or_extra_words_are_format_failures(turn: str) -> None:
    turns = [turn, "そうだったんですね。", "はい、とても不安です。", "一緒に考えましょう。"]
    reason = parse_dialogue(format_dialogue(turns)).reason  # type: ignore[union-attr]
    assert "template copied" in reason


@pytest.mark.parametrize("turn", ["…", "……", "。。。", "...!?"])
def test_a_turn_of_punctuation_only_is_not_a_reply(turn: str) -> None:
    assert "only punctuation" in (check_turns(["検査が怖いです。", turn, "眠れません。", "大丈夫ですよ。"]) or "")


def test_a_reply_mentioning_a_placeholder_is_still_a_reply() -> None:
    assert check_turns(["1回目の発言で緊張しました。", "そうでしたか。", "はい…", "first reply is hard"]) is None


# --- 5: fence look-alikes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        "DIALOGUE>\u200b>>", "DIALOGUE>\u00a0>>", "DIALOGUE﹥﹥﹥", "DIALOGUE＞＞＞", "DIALOGUE>\u2060>\ufeff>",
        "<\u200d<<DIALOGUE", "﹤﹤﹤DIALOGUE", "DIALOGUE>\u0301>>",
    ],
)
def test_fence_look_alikes_are_neutralised(attack: str) -> None:
    out = neutralise_fences(f"ok\n{attack}\nmore")
    assert "›››" in out or "‹‹‹" in out
    import unicodedata

    for line in out.splitlines():
        visible = "".join(c for c in line if unicodedata.category(c) != "Cf")
        assert unicodedata.normalize("NFKC", visible).strip() not in (FENCE_OPEN, FENCE_CLOSE)


# --- 6: no grader bound ----------------------------------------------------------------------------


def _inspect(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run([INSPECT, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_inspect_eval_without_a_grader_is_one_message_and_a_non_zero_exit(tmp_path: Path) -> None:
    proc = _inspect("eval", "emplifai/generation", "--model", "mockllm/model", "-T", f"data={DATA}", "-T", "n=1",
                    "--log-dir", str(tmp_path / "logs"), "--display", "plain")
    text = (proc.stdout + proc.stderr).strip()
    assert proc.returncode != 0
    assert "Traceback" not in text and len(text.splitlines()) <= 3, text
    assert "--model-role grader=" in text and "generation task needs a grader model" in text
    assert not list((tmp_path / "logs").glob("*.eval"))  # stopped before any sample ran


def test_the_private_inspect_name_the_build_time_check_reads_still_exists() -> None:
    """check_grader_bound reads inspect_ai.model._model.active_model (no public equivalent in
    0.3.285): if Inspect moves it, this fails loudly (and so would the import)."""
    from inspect_ai.model._model import active_model

    from emplifai.scorers.judge_grader import check_grader_bound

    assert active_model() is None  # outside an eval: nothing to check yet
    check_grader_bound("generation")  # and so no error


def test_a_task_built_outside_inspect_is_still_stopped_before_any_model_call(tmp_path: Path) -> None:
    candidate = Candidate()
    [log] = eval(generation(data=str(DATA), n=1), model=get_model("mockllm/c", custom_outputs=candidate),
                 log_dir=str(tmp_path), display="none")
    assert log.status == "error" and candidate.calls == 0
    assert "--model-role grader=" in log.error.message


# --- 7: tracebacks instead of one line -------------------------------------------------------------


def _csv(path: Path, situation: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["dialogue_id", "situation_id", "emotion", "situation", "patient_1", "supporter_1", "patient_2",
                    "supporter_2"])
        w.writerow(["d1", "s1", "joy", situation, "a", "b", "c", "d"])
    return path


def test_a_csv_cell_over_the_csv_limit_is_one_line(tmp_path: Path) -> None:
    path = _csv(tmp_path / "big.csv", "x" * 131_073)
    with pytest.raises(DataSourceError, match=r"big.csv: line 2: cannot read this CSV record \(field larger"):
        read_table(path)
    for argv in (["data", "validate", str(path)], ["data", "stats", str(path)]):
        proc = subprocess.run([EMPLIFAI, *argv], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "line 2" in proc.stderr, proc.stderr
    with pytest.raises(UserError, match="line 2"):
        generation(data=str(path), n=1)


@pytest.mark.parametrize(
    "header",
    [
        # one metadata entry whose key claims 2**62 bytes
        b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little") + (2**62).to_bytes(8, "little"),
        # 2**60 metadata entries
        b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (2**60).to_bytes(8, "little"),
        # an array of 2**61 strings
        b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
        + (1).to_bytes(8, "little") + b"k" + (9).to_bytes(4, "little") + (8).to_bytes(4, "little") + (2**61).to_bytes(8, "little"),
    ],
)
def test_a_crafted_gguf_header_is_one_line(header: bytes, tmp_path: Path) -> None:
    path = tmp_path / "crafted.gguf"
    path.write_bytes(header + b"\0" * 64)
    with pytest.raises(UserError, match="runs past the end of the file") as err:
        read_gguf_info(path)
    assert "\n" not in str(err.value)


def test_a_server_that_dies_while_loading_says_so_and_leaves_no_log(tmp_path: Path) -> None:
    bad = tmp_path / "empty.gguf"
    bad.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") * 2)
    server = gguf_server.GGUFServer(key=gguf_server.ServerKey(str(bad), None, 1), alias="x", slots=1, ctx_per_slot=512)
    with pytest.raises(UserError) as err:
        server.start()
    message = str(err.value)
    assert "the server exited while loading (exit code 1, last lines of its log:" in message, message
    assert "failed to load model" in message and "\n" not in message
    assert server.log_path is not None and not server.log_path.exists()


# --- 8: reasons that say what happened -------------------------------------------------------------


def test_a_reply_cut_at_the_token_limit_says_so(tmp_path: Path) -> None:
    cut = json.dumps(FULL, ensure_ascii=False)[:300]
    for stop in ("max_tokens", "model_length"):
        def judge(messages: list[ChatMessage], tools: Any, tool_choice: Any, config: Any, stop: str = stop) -> ModelOutput:
            return ModelOutput.from_content("judge", cut, stop_reason=stop)  # type: ignore[arg-type]

        task = Task(dataset=MemoryDataset([_sample("warm", WARM)]), scorer=rubric_judge(max_retries=0))
        [log] = eval(task, model=get_model("mockllm/candidate", custom_outputs=Candidate()),
                     model_roles={"grader": get_model("mockllm/judge", custom_outputs=judge)},
                     log_dir=str(tmp_path / stop), display="none")
        s = _unscored_with(log, f"cut at the token limit ({stop})")
        assert "unfinished JSON object" in s.metadata["judge_error"] and "missing metrics" not in s.metadata["judge_error"]


def test_a_valid_verdict_then_a_mention_of_think_is_read() -> None:
    reply = json.dumps(FULL, ensure_ascii=False) + "\n(I wrote no </think> block.)"
    assert parse_verdict(reply)["fluency"].score == 4
    # a real template-opened block still hides its draft
    draft = json.dumps({**FULL, "fluency": {"rationale": "下書きの評価", "score": 1}}, ensure_ascii=False)
    assert parse_verdict(draft + "</think>" + json.dumps(FULL, ensure_ascii=False))["fluency"].score == 4


def test_a_failed_structured_reply_is_scored_with_its_json_reason(tmp_path: Path) -> None:
    [log] = eval(
        generation(data=str(DATA), n=1, dialogue_format="structured"),
        model=get_model("mockllm/c", custom_outputs=[ModelOutput.from_content("c", '{"patient_1": "検査が')]),
        model_roles={"grader": get_model("mockllm/judge", custom_outputs=Grader())},
        log_dir=str(tmp_path), display="none",
    )
    s = log.samples[0].scores["rubric_judge"]
    assert s.value["format_ok"] == 0
    assert s.metadata["format_reason"].startswith("structured reply: the reply ends inside an unfinished JSON object")
    assert "speaker labels" not in s.metadata["format_reason"]


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("{" * 2000, "nested 2000 levels deep"),
        ('{"patient_1": "a", "patient_1": "b", "supporter_1": "c", "patient_2": "d", "supporter_2": "e"}',
         "two answers for one turn"),
        ("これは {壊れた JSON} です", "invalid JSON"),
    ],
)
def test_structured_reasons(reply: str, reason: str) -> None:
    assert reason in parse_structured(reply).reason  # type: ignore[union-attr]


def test_verdict_reasons_name_the_trouble() -> None:
    with pytest.raises(VerdictError, match="nested 1500 levels deep"):
        parse_verdict("[" * 1500)
    with pytest.raises(VerdictError, match="invalid JSON"):
        parse_verdict('{"fluency": {"rationale": "x", "score": ' + "9" * 5000 + "}}")


# --- 9: demo flags, -T data=null, relative paths ---------------------------------------------------


def test_generation_n_below_one_fails_before_any_stage_naming_the_demo_flag() -> None:
    proc = subprocess.run([EMPLIFAI, "demo", "--generation-n", "-1", "--log-dir", "/nonexistent/never"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: emplifai demo --generation-n must be an integer >= 1, got -1\n"


def test_data_null_is_refused() -> None:
    with pytest.raises(UserError, match=r"-T data=null names no data"):
        generation(data=None)


def test_a_missing_relative_data_path_names_both_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = tmp_path / "tasks"
    inner.mkdir()
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.chdir(inner)
    with pytest.raises(DataSourceError) as err:
        read_table("mine.jsonl")
    assert f"looked in {inner} and in {tmp_path}" in str(err.value)
