"""Reading generation logs for the audit: items, judges (appended scorers included), lengths."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from inspect_ai import score as inspect_score
from inspect_ai.log import read_eval_log, write_eval_log

from emplifai.audit.logs import read_audit_logs
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.rubric_judge import rubric_judge
from tests.audit_fixture import simulated


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulated(tmp_path_factory)


def test_items_and_judges(sim) -> None:
    logs = read_audit_logs([str(sim["logs"])])
    assert len(logs.logs) == 4 and len(logs.items) == 4 * 24
    assert set(logs.scores["judge"]) == {"mockllm/sim-judge-a", "mockllm/sim-judge-b"}
    assert set(logs.scores["scorer"]) == {"rubric_judge", "rubric_judge1"}  # B appended by `inspect score`
    assert set(logs.scores["metric"]) == {*METRIC_KEYS, "overall"}
    assert logs.items["chars"].notna().all() and (logs.items["log_chars"] == logs.items["chars"].map(math.log)).all()
    assert logs.items["reference_chars"].notna().all()
    limited = logs.items[logs.items["candidate"] == "mockllm/verbose [max_chars=120]"]
    assert len(limited) == 24 and (limited["max_chars"] == 120).all()


def test_same_grader_twice_is_two_judges(sim, tmp_path: Path) -> None:
    src = min(Path(sim["logs"]).glob("*.eval"))
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    log = read_eval_log(str(copy))
    # Judge A scores the log a second time (mockllm's default reply is not a verdict: unscored, NaN).
    log = inspect_score(log, rubric_judge(max_retries=0), action="append", display="none",
                        model_roles={"grader": "mockllm/sim-judge-a"})
    write_eval_log(log, str(copy))
    logs = read_audit_logs([str(copy)])
    assert set(logs.scores["judge"]) == {"mockllm/sim-judge-a [rubric_judge]", "mockllm/sim-judge-a [rubric_judge2]",
                                         "mockllm/sim-judge-b"}
    again = logs.scores[logs.scores["judge"].str.endswith("[rubric_judge2]")]
    assert again["judge_score"].isna().all()
