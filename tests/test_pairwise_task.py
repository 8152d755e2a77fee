"""The pairwise task end to end (tasks/pairwise.py with scorers/pairwise_judge.py), through
inspect_ai.eval with scripted writers and scripted judges (tests/pairwise_script.py): the issue's
"done when" figures, the human reference as baseline, format failures, retries, the verdict
cache, missing pairs and the errors a user can make."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from inspect_ai import eval
from inspect_ai.log import EvalLog
from inspect_ai.model import get_model

from emplifai.data.loaders import load_dialogues
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.pairs import draw_eval_pairs
from emplifai.scorers.pairwise_stats import length_controlled_ci, length_feature
from emplifai.solvers.generation_prompt import reference_completion
from emplifai.tasks.generation import generation
from emplifai.tasks.pairwise import pairwise
from tests.pairwise_script import (
    CANDIDATE_PHRASE,
    OTHER_PHRASE,
    Judge,
    always_tie,
    candidate_label,
    dialogue,
    fenced,
    generation_log,
    position_biased,
    prefers_candidate,
    rubric_grader,
    unusable,
    verdict,
    writer,
)

N = 4
NOT_A_DIALOGUE = "申し訳ありませんが、お答えできません。"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The judge caches validated verdicts; each test starts from an empty cache of its own.
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Generation logs of two scripted writers over the same N pairs (paths by name), written once."""
    from inspect_ai.model._providers.mockllm import MockLLM

    async def count_tokens(self: Any, input: Any, config: Any = None) -> int:
        return max(1, len(input if isinstance(input, str) else "".join(m.text for m in input)) // 2)

    tmp = tmp_path_factory.mktemp("generation-logs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSPECT_CACHE_DIR", str(tmp / "cache"))
        # conftest's offline token count (no tiktoken download) is function-scoped: this runs first.
        mp.setattr(MockLLM, "count_tokens", count_tokens)
        return {
            "candidate": generation_log(dialogue(CANDIDATE_PHRASE), tmp / "cand", n=N).location,
            "other": generation_log(dialogue(OTHER_PHRASE), tmp / "other", n=N).location,
        }


def run(judge: Judge, tmp_path: Path, model: Any = "none/none", **task_args: Any) -> EvalLog:
    (log,) = eval(pairwise(n=N, **task_args), model=model, model_roles={"grader": judge.model()},
                  display="none", log_dir=str(tmp_path / "pairwise"))
    assert log.status == "success", log.error
    return log


def metrics(log: EvalLog) -> dict[str, dict[str, float]]:
    assert log.results is not None
    return {s.name: {m.name.removeprefix("emplifai/"): m.value for m in s.metrics.values()}
            for s in log.results.scores}


def unscored_count(log: EvalLog) -> int:
    assert log.results is not None
    return next(s.unscored_samples for s in log.results.scores if s.name == "overall") or 0


def scores(log: EvalLog) -> list[Any]:
    assert log.samples is not None
    return [s.scores["pairwise_judge"] for s in log.samples]  # type: ignore[index]


def test_a_judge_preferring_the_candidate_in_both_orders(logs: dict[str, str], tmp_path: Path) -> None:
    judge = prefers_candidate()
    log = run(judge, tmp_path, baseline=logs["other"], candidate_log=logs["candidate"])
    m = metrics(log)
    assert m["overall"]["mean"] == 1.0 and m["position_consistency"]["mean"] == 1.0
    assert all(m[k]["mean"] == 1.0 for k in METRIC_KEYS)
    assert (m["overall"]["ci_low"], m["overall"]["ci_high"]) == (1.0, 1.0)
    assert m["position_consistency"]["first_position_preference"] == 0.5 and unscored_count(log) == 0
    assert log.results is not None and log.results.scores[0].name == "overall"  # shown first
    # Two calls a pair: the candidate shown once as A and once as B.
    assert len(judge.calls) == 2 * N
    assert sorted(candidate_label(c) for c in judge.calls) == ["A"] * N + ["B"] * N
    for s in scores(log):
        orders = s.metadata["orders"]
        assert orders["candidate_as_a"]["preferred"] == dict.fromkeys(METRIC_KEYS, "A")
        assert orders["candidate_as_b"]["preferred"] == dict.fromkeys(METRIC_KEYS, "B")
        assert s.metadata["position_inconsistent"] == [] and s.metadata["judge_calls"] == 2
        assert s.metadata["baseline_source"] == logs["other"] and s.metadata["candidate_source"] == logs["candidate"]
        assert s.metadata["grader_is_candidate"] is False and s.metadata["grader_is_baseline"] is False
    meta = log.eval.metadata or {}
    assert meta["candidate"]["log"] == logs["candidate"] and meta["baseline"]["log"] == logs["other"]
    assert meta["pairs_missing_from_candidate"] == [] and meta["n_pairs"] == N


def test_a_judge_always_answering_a(logs: dict[str, str], tmp_path: Path) -> None:
    log = run(position_biased(), tmp_path, baseline=logs["other"], candidate_log=logs["candidate"])
    m = metrics(log)
    assert m["overall"]["mean"] == 0.5 and m["position_consistency"]["mean"] == 0.0
    assert m["position_consistency"]["first_position_preference"] == 1.0
    for s in scores(log):
        assert s.metadata["position_inconsistent"] == list(METRIC_KEYS)
        assert s.metadata["position_counts"] == {"A": 14, "B": 0, "tie": 0}


def test_a_judge_always_answering_tie(logs: dict[str, str], tmp_path: Path) -> None:
    m = metrics(run(always_tie(), tmp_path, baseline=logs["other"], candidate_log=logs["candidate"]))
    assert m["overall"]["mean"] == 0.5 and m["position_consistency"]["mean"] == 1.0
    assert math.isnan(m["position_consistency"]["first_position_preference"])


def test_an_unusable_judge_leaves_every_pair_unscored(logs: dict[str, str], tmp_path: Path) -> None:
    judge = unusable()
    log = run(judge, tmp_path, baseline=logs["other"], candidate_log=logs["candidate"], judge_retries=1)
    assert len(judge.calls) == N * 2 * 2  # two orders, one retry each
    assert unscored_count(log) == N
    for s in scores(log):
        assert math.isnan(s.value["overall"]) and math.isnan(s.value["position_consistency"])
        assert s.reason == "grader_failed" and s.metadata["unscored_reason"] == "invalid_reply"
    # Each retry showed the judge its reply and what was wrong with it.
    retries = [c for c in judge.calls if len(c) == 4]
    assert len(retries) == N * 2
    assert all(c[2].role == "assistant" and c[-1].role == "user" and "preferred" in c[-1].text for c in retries)


def test_the_judge_is_flagged_when_it_wrote_a_side(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    judge_log = generation_log(dialogue(CANDIDATE_PHRASE), tmp_path / "judge-wrote", n=2)
    assert judge_log.eval.model == "mockllm/writer"
    judge = prefers_candidate()
    (log,) = eval(pairwise(n=2, candidate_log=judge_log.location), model="none/none",
                  model_roles={"grader": get_model("mockllm/writer", custom_outputs=judge)},
                  display="none", log_dir=str(tmp_path / "p"))
    assert all(s.metadata["grader_is_candidate"] is True and s.metadata["grader_is_baseline"] is False
               for s in scores(log))
    assert "wrote the candidate dialogues" in caplog.text


@pytest.mark.parametrize(("structured", "schema"), [("auto", True), ("off", False)])
def test_structured_output_schema_and_worded_format(
    logs: dict[str, str], tmp_path: Path, structured: str, schema: bool
) -> None:
    judge = prefers_candidate()
    run(judge, tmp_path, candidate_log=logs["candidate"], baseline=logs["other"], structured=structured)
    for messages, config in zip(judge.calls, judge.configs, strict=True):
        assert config.temperature == 0
        system = messages[0].text
        if schema:  # mockllm is a schema provider: the shape in words, no placeholder to copy
            assert config.response_schema is not None and config.response_schema.name == "pairwise_preferences"
            assert "<短い根拠>" not in system
        else:
            assert config.response_schema is None and "<短い根拠>" in system


def test_human_reference_baseline_and_the_model_as_candidate(tmp_path: Path) -> None:
    judge = prefers_candidate()
    model = get_model("mockllm/writer", custom_outputs=writer(dialogue(CANDIDATE_PHRASE)))
    log = run(judge, tmp_path, model=model)
    assert metrics(log)["overall"]["mean"] == 1.0
    pairs = {r.situation_id: r for r in draw_eval_pairs(load_dialogues(None), N, 42)}
    assert log.samples is not None and sorted(str(s.id) for s in log.samples) == sorted(pairs)
    human_replies = {reference_completion(r).split("\n")[1] for r in pairs.values()}
    shown = {fenced(c, "B" if candidate_label(c) == "A" else "A").split("\n")[1] for c in judge.calls}
    assert shown == human_replies  # the human dialogue of each pair, as the baseline
    assert scores(log)[0].metadata["baseline_source"] == "reference"


def test_format_failures_are_decided_without_the_judge(tmp_path: Path) -> None:
    good = generation_log(dialogue(CANDIDATE_PHRASE), tmp_path / "good", n=N).location
    bad = generation_log(NOT_A_DIALOGUE, tmp_path / "bad", n=N).location
    judge = prefers_candidate()
    cases = {(good, bad): 1.0, (bad, good): 0.0, (bad, bad): 0.5}
    for (cand, base), outcome in cases.items():
        log = run(judge, tmp_path, baseline=base, candidate_log=cand)
        m = metrics(log)
        assert m["overall"]["mean"] == outcome and all(m[k]["mean"] == outcome for k in METRIC_KEYS)
        assert m["candidate_format_ok"]["mean"] == float(cand == good)
        assert m["baseline_format_ok"]["mean"] == float(base == good)
        assert all(s.reason == "invalid_response_format" for s in scores(log))
        assert math.isnan(scores(log)[0].value["position_consistency"])
    assert judge.calls == []


def test_retry_then_cache(logs: dict[str, str], tmp_path: Path) -> None:
    def answer(messages: list[Any]) -> str:
        # The first reply of each conversation uses lower-case labels (refused), the retry is right.
        first = messages[-1].role != "user" or len(messages) == 2
        right = verdict(candidate_label(messages))
        return right.replace('"A"', '"a"').replace('"B"', '"b"') if first else right

    judge = Judge(answer)
    log = run(judge, tmp_path, baseline=logs["other"], candidate_log=logs["candidate"])
    assert metrics(log)["overall"]["mean"] == 1.0 and len(judge.calls) == 2 * N * 2
    assert sum(s.metadata["retries"] for s in scores(log)) == N * 2
    again = Judge(answer)
    log2 = run(again, tmp_path, baseline=logs["other"], candidate_log=logs["candidate"])
    assert again.calls == [] and metrics(log2)["overall"]["mean"] == 1.0
    assert all(s.metadata["cache_hits"] == 2 for s in scores(log2))


def test_pairs_missing_from_a_log_are_unscored_and_listed(tmp_path: Path) -> None:
    (partial,) = eval(  # the first two of the N drawn pairs only
        generation(n=N), limit=2,
        model=get_model("mockllm/writer", custom_outputs=writer(dialogue(CANDIDATE_PHRASE))),
        model_roles={"grader": get_model("mockllm/rubric", custom_outputs=rubric_grader)},
        display="none", log_dir=str(tmp_path / "partial"),
    )
    log = run(prefers_candidate(), tmp_path, candidate_log=partial.location)
    m = metrics(log)
    assert unscored_count(log) == N - 2 and m["overall"]["mean"] == 1.0
    missing = (log.eval.metadata or {})["pairs_missing_from_candidate"]
    assert len(missing) == N - 2
    for s in scores(log):
        if math.isnan(s.value["overall"]):
            assert s.reason == "missing_dialogue" and "not in" in s.metadata["missing"]


def test_length_controlled_win_rate_in_the_log_matches_statsmodels(tmp_path: Path) -> None:
    n = 12

    def write(messages: list[Any]) -> str:  # a reply length that varies with the situation
        return dialogue(CANDIDATE_PHRASE, padding=len(messages[-1].text) % 23)

    cand = generation_log(write, tmp_path / "cand", n=n).location

    def answer(messages: list[Any]) -> str:
        # The candidate wins the first k metrics, k set by the situation: outcomes vary by pair.
        k = len(messages[1].text) % 8
        label = candidate_label(messages)
        other = "B" if label == "A" else "A"
        return verdict({key: label if i < k else other for i, key in enumerate(METRIC_KEYS)})

    (log,) = eval(pairwise(n=n, candidate_log=cand), model="none/none",
                  model_roles={"grader": Judge(answer).model()}, display="none", log_dir=str(tmp_path / "p"))
    y = np.array([s.value["overall"] for s in scores(log)])
    cand_len = np.array([s.metadata["candidate_chars"] for s in scores(log)], dtype=float)
    base_len = np.array([s.metadata["baseline_chars"] for s in scores(log)], dtype=float)
    assert len(set(y)) > 1 and len(set(cand_len - base_len)) > 1
    fit = sm.GLM(y, sm.add_constant(length_feature(cand_len, base_len)), family=sm.families.Binomial()).fit()
    m = metrics(log)["overall"]
    assert m["length_controlled_win_rate"] == pytest.approx(1 / (1 + np.exp(-fit.params[0])), abs=1e-5)
    assert m["length_slope"] == pytest.approx(fit.params[1], abs=1e-4)
    order = np.argsort([str(s.id) for s in log.samples or []])
    low, high, _ = length_controlled_ci(y[order], cand_len[order], base_len[order])
    assert (m["lc_ci_low"], m["lc_ci_high"]) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"candidate_log": "no/such.eval"}, "no such log file"),
        ({"baseline": "no/such.eval"}, "-T baseline=no/such.eval: no such log file"),
        ({"n": 0}, "-T n must be"),
        ({"judge_retries": -1}, "-T judge_retries"),
        ({"structured": "maybe"}, "-T structured"),
        ({"language": "fr"}, "-T language"),
    ],
)
def test_bad_parameters(args: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        pairwise(**args)


def test_logs_that_cannot_serve_are_refused(logs: dict[str, str], tmp_path: Path) -> None:
    not_a_log = tmp_path / "x.eval"
    not_a_log.write_text("hello", encoding="utf-8")
    with pytest.raises(UserError, match="not a readable Inspect log"):
        pairwise(candidate_log=str(not_a_log))
    pairwise_log = run(always_tie(), tmp_path, candidate_log=logs["candidate"]).location
    with pytest.raises(UserError, match="expected a generation log"):
        pairwise(candidate_log=pairwise_log)
    other_data = tmp_path / "other.jsonl"
    other_data.write_text("".join(
        line for i, line in enumerate((Path(__file__).parents[1] / "emplifai/data/sample/emplifai_sample_ja.jsonl")
                                      .read_text(encoding="utf-8").splitlines(keepends=True)) if i % 2 == 0
    ), encoding="utf-8")
    with pytest.raises(UserError, match="other data"):
        pairwise(data=str(other_data), candidate_log=logs["candidate"])
    with pytest.raises(UserError, match="none of the"):
        pairwise(n=N, seed=7, candidate_log=logs["candidate"])
