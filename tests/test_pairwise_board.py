"""The pairwise boards (leaderboard/pairwise_board.py) from real pairwise logs of scripted runs:
one board per (baseline, judge, data, rubric, language), rows sorted by win rate, newest run per
candidate, self-judged runs apart, and the leaderboard's hook writing them beside its own files."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.model import get_model

from emplifai.leaderboard import write_leaderboard
from emplifai.leaderboard.pairwise_board import build_pairwise_boards, pairwise_markdown
from emplifai.tasks.pairwise import pairwise
from tests.pairwise_script import (
    CANDIDATE_PHRASE,
    OTHER_PHRASE,
    Judge,
    dialogue,
    generation_log,
    position_biased,
    prefers_candidate,
)

N = 3
_RUNS = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))


def _pairwise(judge: Judge, judge_name: str, log_dir: Path, **args: Any) -> None:
    # A fresh verdict cache per run: a scripted judge under a name an earlier run used would
    # otherwise be served that run's validated verdicts (the cache working as designed).
    os.environ["INSPECT_CACHE_DIR"] = str(log_dir.parent / f"cache-{next(_RUNS)}")
    (log,) = eval(pairwise(n=N, **args), model="none/none",
                  model_roles={"grader": get_model(judge_name, custom_outputs=judge)},
                  display="none", log_dir=str(log_dir))
    assert log.status == "success", (judge_name, log.error.traceback[-1500:] if log.error else None)


def test_boards_rows_and_the_leaderboard_hook(tmp_path: Path) -> None:
    gen = tmp_path / "generation"  # generation logs stay out of the pairwise folder's boards
    good = generation_log(dialogue(CANDIDATE_PHRASE), gen, n=N, name="mockllm/good").location
    other = generation_log(dialogue(OTHER_PHRASE), gen, n=N, name="mockllm/other").location
    logs = tmp_path / "logs"
    _pairwise(prefers_candidate(), "mockllm/judge", logs, candidate_log=good)  # 1.0
    _pairwise(position_biased(), "mockllm/judge", logs, candidate_log=other)  # 0.5
    _pairwise(prefers_candidate(OTHER_PHRASE), "mockllm/judge", logs, candidate_log=other)  # newer run
    _pairwise(prefers_candidate(), "mockllm/judge2", logs, candidate_log=good)  # another judge
    _pairwise(prefers_candidate(), "mockllm/good", logs, candidate_log=good)  # the judge wrote it

    boards = build_pairwise_boards(logs)
    by_judge = {b.key["judge"]: b for b in boards}
    assert set(by_judge) == {"mockllm/judge", "mockllm/judge2", "mockllm/good"}
    main = by_judge["mockllm/judge"]
    assert main.key["baseline"] == "human reference" and main.key["language"] == "ja"
    assert [r["candidate"] for r in main.rows] == ["mockllm/good", "mockllm/other"]
    assert [r["win_rate"] for r in main.rows] == [1.0, 1.0]  # the newest "other" run
    assert len(main.superseded) == 1 and main.superseded[0]["win_rate"] == 0.5
    assert main.rows[0]["position_consistency"] == 1.0 and main.rows[0]["n"] == N
    assert main.rows[0]["unscored"] == 0
    assert by_judge["mockllm/good"].rows == [] and len(by_judge["mockllm/good"].self_judged) == 1

    text = pairwise_markdown(boards)
    assert "## Pairwise: vs human reference, judged by mockllm/judge" in text
    assert "| mockllm/good | 100.0% [100.0%, 100.0%] | n/a | 100.0% | 50.0% | 3 | 0 | 100.0% |" in text

    paths = write_leaderboard(logs, tmp_path / "out", cache=False)
    assert paths["pairwise_markdown"].read_text(encoding="utf-8") == text
    doc = json.loads(paths["pairwise_json"].read_text(encoding="utf-8"))
    assert len(doc["boards"]) == 3 and doc["boards"][0]["rows"] is not None
    page = paths["pairwise_html"].read_text(encoding="utf-8")
    assert page.count("<table>") == 3 and "100.0% [100.0%, 100.0%]" in page and "<script" not in page
    main = paths["html"].read_text(encoding="utf-8")
    assert 'id="pairwise-link"' in main and 'href="pairwise.html"' in main
    assert "a pairwise run: on the pairwise boards (pairwise.html)" in main  # listed apart, not counted


def test_no_pairwise_logs_no_pairwise_files(tmp_path: Path) -> None:
    generation_log(dialogue(CANDIDATE_PHRASE), tmp_path / "logs", n=2)
    paths = write_leaderboard(tmp_path / "logs", tmp_path / "out", cache=False)
    assert "pairwise_markdown" not in paths and build_pairwise_boards(tmp_path / "logs") == []
    assert 'id="pairwise-link"' not in paths["html"].read_text(encoding="utf-8")
