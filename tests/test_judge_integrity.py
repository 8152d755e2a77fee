"""Judge integrity (issue 9), end to end through inspect_ai.eval with scripted mockllm models.

Each test states an exact outcome: which samples are scored, how many times the grader was called,
what the Score says and what the log holds.
"""

from __future__ import annotations

import http.server
import json
import math
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task, eval, score
from inspect_ai.dataset import MemoryDataset
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import ChatMessage, ModelOutput, ModelUsage, cache_list_expired, cache_prune, get_model

from emplifai.dialogue_format import TEMPLATE_TURNS, format_dialogue
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers import judge_cache
from emplifai.scorers.rubric_judge import RETRY_ECHO_CHARS, judge_replies, require_grader, rubric_judge, structured_for
from emplifai.tasks.generation import generation
from tests.test_rubric_judge import (
    COLD,
    TABLE,
    WARM,
    Candidate,
    Grader,
    _sample,
    fenced,
    metric_values,
    run,
    sample_score,
    valid_reply,
    which_dialogue,
)

DATA = Path(__file__).parent / "fixtures" / "generation" / "dialogues.jsonl"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(path))
    return path


def _nan_scores(s: Any) -> bool:
    return all(math.isnan(s.value[k]) for k in (*METRIC_KEYS, "overall"))


# --- 1. copied templates and copied placeholder reasons ------------------------------------------

COPIED = {
    "ja template": format_dialogue(TEMPLATE_TURNS["ja"], "ja"),
    "en template": format_dialogue(TEMPLATE_TURNS["en"], "en"),
    "ja without brackets": "患者：1回目の発言\n支援者：1回目の返答\n患者：2回目の発言\n支援者：2回目の返答",
    "one placeholder turn": "患者：検査が怖いです。\n支援者：(First reply.)\n患者：眠れません。\n支援者：大丈夫。",
}


@pytest.mark.parametrize("name", list(COPIED))
def test_copied_template_is_a_format_failure_without_a_judge_call(name: str, tmp_path: Path) -> None:
    grader = Grader()
    log = run([_sample("copy", COPIED[name])], grader, tmp_path)
    s = sample_score(log, "copy")
    assert grader.calls == []
    assert s.value == {**{k: 1 for k in METRIC_KEYS}, "overall": 1.0, "format_ok": 0}
    assert s.reason == "invalid_response_format"
    assert "the brief's placeholder" in s.metadata["format_reason"]
    assert "template copied" in s.metadata["format_reason"]


def test_repeated_turn_is_a_format_failure(tmp_path: Path) -> None:
    text = "患者：検査が怖いです。\n支援者：大丈夫だよ。\n患者：眠れません。\n支援者：大丈夫だよ。"
    grader = Grader()
    log = run([_sample("echo", text)], grader, tmp_path)
    s = sample_score(log, "echo")
    assert grader.calls == [] and s.value["format_ok"] == 0
    assert s.metadata["format_reason"] == "turn 4 (支援者) repeats turn 2 verbatim"


@pytest.mark.parametrize("rationale", ["<短い根拠>", "短い根拠", "<short reason>", "", "   ", "); ", "...", "。"])
def test_placeholder_or_empty_rationale_is_refused(rationale: str, tmp_path: Path) -> None:
    def copied(messages: list[ChatMessage], n: int) -> str:
        return json.dumps({k: {"rationale": rationale, "score": 5} for k in METRIC_KEYS}, ensure_ascii=False)

    grader = Grader(copied)
    log = run([_sample("warm", WARM)], grader, tmp_path, max_retries=1)
    s = sample_score(log, "warm")
    assert len(grader.calls) == 2 and _nan_scores(s)
    assert s.reason == "grader_failed" and s.metadata["unscored_reason"] == "invalid_reply"
    expected = (
        "empty rationale" if not rationale.strip()
        else "placeholder" if "根拠" in rationale or "reason" in rationale
        else "has no word in it"
    )
    assert all(expected in c["error"] for c in s.metadata["calls"])
    # and a judge that then writes a reason is scored
    fixed = Grader(lambda m, n: copied(m, n) if n == 1 else valid_reply(m))
    log = run([_sample("warm", WARM)], fixed, tmp_path / "b", grader_name="mockllm/judge-b")
    s = sample_score(log, "warm")
    assert len(fixed.calls) == 2 and s.value["overall"] == pytest.approx(34 / 7)


# --- 2. only validated verdicts are cached --------------------------------------------------------


def test_always_bad_judge_then_good_judge_same_cache(cache_dir: Path, tmp_path: Path) -> None:
    samples = [_sample("warm", WARM), _sample("cold", COLD)]
    bad = Grader(lambda m, n: "採点できません")
    log1 = run(samples, bad, tmp_path / "1", max_retries=1)
    assert len(bad.calls) == 4
    assert metric_values(log1)["rubric_judge"]["unscored"] == 2
    assert all(_nan_scores(sample_score(log1, sid)) for sid in ("warm", "cold"))
    assert not list(cache_dir.rglob(f"{judge_cache.PREFIX}*"))  # nothing unusable was stored

    good = Grader()
    log2 = run(samples, good, tmp_path / "2", max_retries=1)
    assert len(good.calls) == 2  # the grader was really asked, once per sample
    assert metric_values(log2)["rubric_judge"]["unscored"] == 0
    assert sample_score(log2, "warm").value == {**TABLE["WARM"], "overall": 34 / 7, "format_ok": 1}
    assert sample_score(log2, "cold").value == {**TABLE["COLD"], "overall": 20 / 7, "format_ok": 1}
    assert len(list(cache_dir.rglob(f"{judge_cache.PREFIX}*"))) == 2

    never = Grader(lambda m, n: pytest.fail("a validated verdict must come from the cache"))
    log3 = run(samples, never, tmp_path / "3", max_retries=1)
    assert never.calls == []
    cold = sample_score(log3, "cold")
    assert cold.value == sample_score(log2, "cold").value
    assert cold.metadata["judge_calls"] == 0 and cold.metadata["cache_hits"] == 1
    (call,) = cold.metadata["calls"]
    assert call["source"] == "cache" and json.loads(call["reply"])["fluency"]["score"] == TABLE["COLD"]["fluency"]


def test_a_verdict_won_on_retry_is_served_to_the_next_run(tmp_path: Path) -> None:
    first = Grader(lambda m, n: "考え中" if n == 1 else valid_reply(m))
    run([_sample("warm", WARM)], first, tmp_path / "1")
    assert len(first.calls) == 2
    again = Grader()
    log = run([_sample("warm", WARM)], again, tmp_path / "2")
    assert again.calls == [] and sample_score(log, "warm").value["overall"] == pytest.approx(34 / 7)


def test_inspect_score_rejudges_exactly_the_unscored_samples(tmp_path: Path) -> None:
    picky = Grader(lambda m, n: "採点できません" if which_dialogue(m) == "COLD" else valid_reply(m))
    log = run([_sample("warm", WARM), _sample("cold", COLD)], picky, tmp_path, max_retries=0)
    assert sample_score(log, "cold").reason == "grader_failed"

    good = Grader()
    rescored = score(log, rubric_judge(), model_roles={"grader": get_model("mockllm/judge", custom_outputs=good)},
                     action="overwrite")
    assert [which_dialogue(m) for m, _ in good.calls] == ["COLD"]
    assert sample_score(rescored, "cold").value["overall"] == pytest.approx(20 / 7)
    assert sample_score(rescored, "warm").metadata["calls"][0]["source"] == "cache"


def test_cache_entries_are_inspect_cache_files(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grader = get_model("mockllm/judge")
    path = judge_cache.entry_path(grader, "k")
    assert path is not None and cache_dir in path.parents
    out = ModelOutput.from_content("mockllm/judge", "{}")
    assert judge_cache.store(path, out) and judge_cache.fetch(path).completion == "{}"
    assert cache_list_expired() == []
    monkeypatch.setattr(judge_cache, "EXPIRY", -judge_cache.EXPIRY)
    judge_cache.store(path, out)
    assert cache_list_expired() == [path]  # Inspect reads the entry's expiry ...
    cache_prune()  # ... and prunes it like its own
    assert not path.exists()


# --- 3. schema ----------------------------------------------------------------------------------


def test_schema_sent_to_the_judge_bounds_scores_with_an_enum(tmp_path: Path) -> None:
    grader = Grader()
    run([_sample("warm", WARM)], grader, tmp_path)
    schema = grader.calls[0][1].response_schema
    assert schema is not None
    score_schema = schema.json_schema.properties["fluency"].properties["score"]
    assert score_schema.enum == [1, 2, 3, 4, 5] and score_schema.minimum is None


@pytest.mark.parametrize(
    "name, structured, expected",
    [
        ("openai/gpt-4o", "auto", True),
        ("google/gemini-2.5-flash", "auto", True),
        ("openai-api/local/qwen", "auto", True),
        ("gguf/smollm2", "auto", True),
        ("hf/local", "auto", False),
        ("llama-cpp-python/x", "auto", False),
        ("somenewprovider/x", "auto", False),
        ("hf/local", "on", True),
        ("openai/gpt-4o", "off", False),
    ],
)
def test_structured_rule(name: str, structured: str, expected: bool) -> None:
    assert structured_for(name, structured) is expected


# --- 4. one verdict or none; the same rules in both modes ---------------------------------------


def test_two_different_verdicts_are_retried_then_unscored_as_ambiguous(tmp_path: Path) -> None:
    def two(messages: list[ChatMessage], n: int) -> str:
        low = {k: {"rationale": "冷たい", "score": 2} for k in METRIC_KEYS}
        return valid_reply(messages) + "\n訂正します。\n" + json.dumps(low, ensure_ascii=False)

    grader = Grader(two)
    log = run([_sample("warm", WARM)], grader, tmp_path, max_retries=2)
    s = sample_score(log, "warm")
    assert len(grader.calls) == 3 and _nan_scores(s)
    assert s.reason == "grader_failed" and s.metadata["unscored_reason"] == "ambiguous"
    assert [c["error_kind"] for c in s.metadata["calls"]] == ["ambiguous"] * 3
    assert s.explanation.startswith("unscored (ambiguous)")
    assert metric_values(log)["rubric_judge"]["unscored"] == 1


def test_two_verdicts_in_per_metric_mode_are_ambiguous_too(tmp_path: Path) -> None:
    grader = Grader(lambda m, n: '{"rationale": "良い", "score": 4}\n{"rationale": "悪い", "score": 2}')
    log = run([_sample("warm", WARM)], grader, tmp_path, mode="per_metric", max_retries=0)
    s = sample_score(log, "warm")
    assert len(grader.calls) == 7 and s.metadata["unscored_reason"] == "ambiguous"


def test_a_brace_in_the_preamble_does_not_hide_the_verdict(tmp_path: Path) -> None:
    grader = Grader(lambda m, n: "形式 {rationale, score} に従って採点します。\n" + valid_reply(m) + "\n以上 }")
    log = run([_sample("warm", WARM)], grader, tmp_path)
    s = sample_score(log, "warm")
    assert len(grader.calls) == 1 and s.value["overall"] == pytest.approx(34 / 7)


@pytest.mark.parametrize("mode", ["all", "per_metric"])
@pytest.mark.parametrize("flaw", ["extra key", "empty rationale"])
def test_both_modes_apply_the_same_rules(mode: str, flaw: str, tmp_path: Path) -> None:
    def reply(messages: list[ChatMessage], n: int) -> str:
        data = json.loads(valid_reply(messages))
        target = data if "score" in data else data["fluency"]
        if n == 1:
            if flaw == "extra key":
                target["confidence"] = 0.9
            else:
                target["rationale"] = ""
        return json.dumps(data, ensure_ascii=False)

    grader = Grader(reply)
    log = run([_sample("warm", WARM)], grader, tmp_path, mode=mode)
    s = sample_score(log, "warm")
    questions = 1 if mode == "all" else 7
    assert len(grader.calls) == 2 * questions  # every first reply refused, every retry accepted
    assert s.value["overall"] == pytest.approx(34 / 7)
    word = "confidence" if flaw == "extra key" else "empty rationale"
    assert all(word in c["error"] for c in s.metadata["calls"] if c["attempt"] == 0)


# --- 5. epochs -----------------------------------------------------------------------------------


def _epoch_candidate() -> Any:
    seen: Counter[str] = Counter()

    def reply(messages: list[ChatMessage], *args: Any) -> ModelOutput:
        key = messages[-1].text
        seen[key] += 1
        text = f"患者：検査が怖いです。\n支援者：それは辛かったね（{seen[key]}）。\n患者：眠れません。\n支援者：一緒にいるよ。"
        out = ModelOutput.from_content("mockllm/model", text)
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    return reply


def _epoch_judge(second: int | None) -> Grader:
    """All seven metrics 4 for the first dialogue of a sample; for the second, ``second`` (None = no usable reply)."""

    def reply(messages: list[ChatMessage], n: int) -> str:
        value = 4 if "（1）" in fenced(messages) else second
        if value is None:
            return "採点できません"
        return json.dumps({k: {"rationale": "理由", "score": value} for k in METRIC_KEYS})

    return Grader(reply)


def _run_epochs(grader: Grader, tmp_path: Path) -> EvalLog:
    (log,) = eval(
        generation(data=str(DATA), n=2, judge_retries=0),
        model=get_model("mockllm/model", custom_outputs=_epoch_candidate()),
        model_roles={"grader": get_model("mockllm/judge", custom_outputs=grader)},
        epochs=2,
        display="none",
        log_dir=str(tmp_path / "logs"),
    )
    assert log.status == "success", log.error
    return log


def test_epochs_a_sample_is_unscored_unless_every_epoch_was_judged(tmp_path: Path) -> None:
    log = _run_epochs(_epoch_judge(None), tmp_path)
    assert log.eval.config.epochs_reducer == ["judged_mean"]
    assert log.samples is not None and len(log.samples) == 4
    metrics = metric_values(log)
    assert metrics["rubric_judge"]["unscored"] == 2
    assert math.isnan(metrics["rubric_judge"]["overall"])  # no sample scored: no mean
    reduced = log.reductions[0]
    assert reduced.scorer == "rubric_judge"
    for s in reduced.samples:
        assert math.isnan(s.value["overall"]) and s.value["format_ok"] == 1
        assert s.reason == "grader_failed"
        md = s.metadata
        assert (md["epochs"], md["epochs_scored"], md["epochs_unscored"], md["epochs_format_failed"]) == (2, 1, 1, 0)
        assert [v for v in md["epoch_overall"] if not math.isnan(v)] == [4.0]
        assert md["unscored_reason"] == "invalid_reply"


def test_epochs_all_judged_are_averaged(tmp_path: Path) -> None:
    log = _run_epochs(_epoch_judge(2), tmp_path)
    metrics = metric_values(log)
    assert metrics["rubric_judge"]["unscored"] == 0
    assert metrics["rubric_judge"]["overall"] == 3.0 and metrics["rubric_judge"]["fluency"] == 3.0
    for s in log.reductions[0].samples:
        assert s.value["overall"] == 3.0
        assert (s.metadata["epochs_scored"], s.metadata["epochs_unscored"]) == (2, 0)
    # reply_length keeps Inspect's mean
    assert metrics["format_ok"]["mean"] == 1.0


# --- 6. reasoning blocks and trailing notes ------------------------------------------------------


def test_candidate_reasoning_is_removed_and_kept_in_metadata(tmp_path: Path) -> None:
    thinking = "患者：（1回目の発言）\n支援者：下書き"
    grader = Grader()
    log = run([_sample("warm", f"<think>\n{thinking}\n</think>\n{WARM}\n（以上）")], grader, tmp_path)
    s = sample_score(log, "warm")
    assert s.value["overall"] == pytest.approx(34 / 7) and len(grader.calls) == 1
    assert s.metadata["candidate_reasoning"] == thinking
    judged = fenced(grader.calls[0][0])
    assert "下書き" not in judged and "以上" not in judged and judged.endswith("一緒に気持ちを整理していきましょう。")


def test_unclosed_leading_reasoning_is_a_format_failure(tmp_path: Path) -> None:
    grader = Grader()
    log = run([_sample("cut", f"<think>考えています…\n{WARM}")], grader, tmp_path)
    s = sample_score(log, "cut")
    assert grader.calls == [] and s.value["format_ok"] == 0
    assert s.metadata["format_reason"] == "empty output once the reasoning block was removed"
    assert s.metadata["candidate_reasoning"].startswith("考えています…")


def test_judge_reasoning_is_removed_before_the_verdict_is_read(tmp_path: Path) -> None:
    grader = Grader(lambda m, n: '<thinking>{"draft": 1} まず共感を見る</thinking>\n' + valid_reply(m))
    log = run([_sample("warm", WARM)], grader, tmp_path)
    s = sample_score(log, "warm")
    assert len(grader.calls) == 1 and s.value["overall"] == pytest.approx(34 / 7)
    assert s.metadata["calls"][0]["reasoning_chars"] == len('{"draft": 1} まず共感を見る')


# --- 7. each raw reply stored once per call -----------------------------------------------------


def test_each_raw_reply_is_stored_once_per_call(tmp_path: Path) -> None:
    long_bad = "x" * 10_000 + " BAD-REPLY-TAIL-7f3a"

    def reply(messages: list[ChatMessage], n: int) -> str:
        return long_bad if n == 1 else "GOOD-REPLY-HEAD-91c2\n" + valid_reply(messages)

    grader = Grader(reply)
    log = read_eval_log(run([_sample("warm", WARM)], grader, tmp_path).location)
    assert log.samples is not None
    sample = log.samples[0]
    # Each reply is in its own model event (where Inspect keeps it: the output, whose message text
    # Inspect moves to an attachment) and nowhere else: not in the Score, its explanation, the
    # score event, nor the input of the retry.
    data = json.loads(sample.model_dump_json())
    outputs = [e["output"]["completion"] for e in data["events"] if e["event"] == "model"]
    assert [o for o in outputs if "BAD-REPLY-TAIL-7f3a" in o] == [long_bad]
    assert len([o for o in outputs if "GOOD-REPLY-HEAD-91c2" in o]) == 1
    for e in data["events"]:
        if e["event"] == "model":
            del e["output"]
    data["attachments"] = {k: v for k, v in data["attachments"].items() if v not in outputs}
    rest = json.dumps(data, ensure_ascii=False)
    assert "BAD-REPLY-TAIL-7f3a" not in rest and "GOOD-REPLY-HEAD-91c2" not in rest
    # the rejected reply went back to the judge cut short
    echoed = grader.calls[1][0][-2].text
    assert len(echoed) < RETRY_ECHO_CHARS + 50 and echoed.startswith("x" * 100)
    # an audit still gets both raw replies, by the sha256 the Score names
    s = sample.scores["rubric_judge"]
    replies = judge_replies(sample)
    assert [replies[c["reply_sha256"]] for c in s.metadata["calls"]] == [
        long_bad,
        "GOOD-REPLY-HEAD-91c2\n" + valid_reply(grader.calls[1][0]),
    ]


# --- 8. task parameters -------------------------------------------------------------------------


def test_task_parameters_reach_the_judge(tmp_path: Path) -> None:
    grader = Grader(lambda m, n: "採点できません")
    candidate = get_model("mockllm/model", custom_outputs=lambda *a: ModelOutput.from_content("m", WARM))
    (log,) = eval(
        generation(data=str(DATA), n=2, judge_max_tokens=321, judge_retries=0, structured=False),
        model=candidate,
        model_roles={"grader": get_model("mockllm/judge", custom_outputs=grader)},
        display="none",
        log_dir=str(tmp_path / "logs"),
    )
    assert log.status == "success", log.error
    assert len(grader.calls) == 2  # judge_retries=0: one call per sample
    assert all(c.max_tokens == 321 and c.response_schema is None for _, c in grader.calls)
    s = log.samples[0].scores["rubric_judge"]
    assert s.metadata["structured"] is False and s.metadata["judge_max_tokens"] == 321


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"judge_retries": -1}, "-T judge_retries must be an integer >= 0, got -1"),
        ({"judge_retries": "many"}, "-T judge_retries must be an integer >= 0, got 'many'"),
        ({"judge_max_tokens": 0}, "-T judge_max_tokens must be an integer >= 1 (or omitted), got 0"),
        ({"structured": "maybe"}, "-T structured must be one of auto, on, off, got 'maybe'"),
    ],
)
def test_bad_task_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as e:
        generation(data=str(DATA), n=2, **kwargs)
    assert str(e.value) == message


def test_missing_grader_is_one_clear_line() -> None:
    with pytest.raises(UserError) as e:
        require_grader()
    assert "\n" not in str(e.value) and "--model-role grader=" in str(e.value)


# --- 3 (continued): the schema as Inspect's openai-api provider really sends it -------------------


class _OpenAIStub(http.server.BaseHTTPRequestHandler):
    """A chat-completions endpoint that records request bodies and answers a valid verdict."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        verdict = {k: {"rationale": "気持ちを受け止めている", "score": 4} for k in METRIC_KEYS}
        reply = {
            "id": "stub", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(verdict, ensure_ascii=False)}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_openai_api_provider_sends_the_score_enum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _OpenAIStub.bodies = []
    monkeypatch.setenv("STUB_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("STUB_API_KEY", "local")
    try:
        (log,) = eval(
            Task(dataset=MemoryDataset([_sample("warm", WARM)]), scorer=rubric_judge()),
            model=get_model("mockllm/candidate", custom_outputs=Candidate()),
            model_roles={"grader": get_model("openai-api/stub/judge")},
            display="none",
            log_dir=str(tmp_path / "logs"),
        )
    finally:
        server.shutdown()
    assert sample_score(log, "warm").value["overall"] == 4.0
    (body,) = _OpenAIStub.bodies
    sent = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert sent["properties"]["fluency"]["properties"]["score"] == {"type": "integer", "enum": [1, 2, 3, 4, 5]}


# --- rationale bound and a full context window ---------------------------------------------------


def test_prompt_under_a_schema_has_no_placeholder_and_no_bound_for_hosted_apis(tmp_path: Path) -> None:
    # mockllm stands for any provider that does not declare it enforces maxLength (hosted APIs).
    grader = Grader()
    log = run([_sample("warm", WARM)], grader, tmp_path)
    messages, config = grader.calls[0]
    system = messages[0].text
    assert "<短い根拠>" not in system and "<1〜5の整数>" not in system and "60字以内" in system
    rationale = config.response_schema.json_schema.properties["fluency"].properties["rationale"]
    assert rationale.maxLength is None
    assert sample_score(log, "warm").metadata["rationale_max_chars_enforced"] is None


def test_without_a_schema_the_prompt_keeps_its_skeleton(tmp_path: Path) -> None:
    grader = Grader()
    run([_sample("warm", WARM)], grader, tmp_path, structured="off")
    messages, config = grader.calls[0]
    assert '"rationale": "<短い根拠>"' in messages[0].text and config.response_schema is None


def test_an_engine_that_enforces_max_length_gets_the_rationale_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai.model._providers.mockllm import MockLLM

    from emplifai.providers.gguf import GGUFAPI

    assert GGUFAPI.enforces_string_length is True
    monkeypatch.setattr(MockLLM, "enforces_string_length", True, raising=False)
    grader = Grader()
    log = run([_sample("warm", WARM)], grader, tmp_path, language="en")
    schema = grader.calls[0][1].response_schema.json_schema
    assert {schema.properties[k].properties["rationale"].maxLength for k in METRIC_KEYS} == {150}
    assert sample_score(log, "warm").metadata["rationale_max_chars_enforced"] == 150


def test_a_full_context_window_is_unscored_without_retries(tmp_path: Path) -> None:
    calls: list[int] = []

    def full(messages: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        calls.append(1)
        return ModelOutput.from_content("judge", "request (8275 tokens) exceeds the context", stop_reason="model_length")

    task = Task(dataset=MemoryDataset([_sample("warm", WARM)]), scorer=rubric_judge(max_retries=2))
    [log] = eval(task, model=get_model("mockllm/candidate", custom_outputs=Candidate()),
                 model_roles={"grader": get_model("mockllm/judge", custom_outputs=full)},
                 log_dir=str(tmp_path), display="none")
    s = sample_score(log, "warm")
    assert len(calls) == 1 and _nan_scores(s)
    assert "context window is full" in s.explanation and "8275 tokens" in s.explanation
