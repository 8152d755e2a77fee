"""Judges on the board: a log rescored with `inspect score` (append or overwrite, as a copy or in
place) gives a (candidate, judge) row on that judge's board; a log with several judges gives the
panel's mean and median with Krippendorff's alpha; a self-judged run is listed, never ranked; the
data is one board whatever path spelled it; judge_probes and pairwise_probes logs show next to their
judge's boards, each marked with its judging mode;
an epoch the judge missed leaves its sample unscored."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai import score as inspect_score
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from emplifai.leaderboard import build, write_leaderboard
from emplifai.leaderboard.collect import METRIC_KEYS
from emplifai.scorers import rubrics
from emplifai.scorers.rubric_judge import rubric_judge

from .fixtures.leaderboard.scripted import (
    DATA,
    GRADER_A,
    JUDGE_TABLE,
    SIDS,
    expected_scores,
    grader,
    run_generation,
)

ROOT = Path(__file__).resolve().parents[1]
INSPECT = str(Path(sys.executable).parent / "inspect")
GRADER_C = "mockllm/judge-c"


def judge_c(messages, tools, tool_choice, config):  # noqa: ANN001, ANN201 - a mockllm callable
    """Judge A's table, one point lower on every second situation (floor 1): a judge that disagrees."""
    out = grader(GRADER_C)(messages, tools, tool_choice, config)
    verdict = json.loads(out.completion)
    sid = next(s for s in SIDS if s in "\n".join(m.text for m in messages if m.role == "user"))
    if SIDS.index(sid) % 2 == 0:
        verdict = {k: {**v, "score": max(1, v["score"] - 1)} for k, v in verdict.items()}
    reply = ModelOutput.from_content(GRADER_C, json.dumps(verdict, ensure_ascii=False))
    reply.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return reply


def c_scores(marker: str) -> list[dict[str, float] | None]:
    out = []
    for i, s in enumerate(expected_scores(marker)):
        if s is None or JUDGE_TABLE[marker][i] is None:  # unscored, or a format failure (no judge call)
            out.append(s)
        else:
            out.append({k: max(1.0, v - 1) if i % 2 == 0 else v for k, v in s.items()})
    return out


def overall(scores: list[dict[str, float] | None]) -> np.ndarray:
    return np.array([np.nan if s is None else np.mean([s[k] for k in METRIC_KEYS]) for s in scores])


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("judges")
    os.environ["INSPECT_CACHE_DIR"] = str(root / "cache")
    log_dir = root / "logs"
    made = {m: run_generation(m, log_dir) for m in ("alpha", "gamma")}
    # A second judge appended with the documented command, into a copy beside the original.
    copy = log_dir / "alpha-judge2.eval"
    done = subprocess.run(
        [INSPECT, "score", made["alpha"].location, "--scorer", "scorers/rubric_judge.py@rubric_judge", "-S", "mode=all",
         "-S", "max_retries=0", "--model-role", "grader=mockllm/model", "--action", "append", "--output-file", str(copy)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # A third judge that disagrees, appended through Inspect's Python API (scripted: real scores).
    gamma = inspect_score(read_eval_log(made["gamma"].location), scorers=[rubric_judge()],
                          model_roles={"grader": get_model(GRADER_C, custom_outputs=judge_c)}, action="append")
    write_eval_log(gamma, str(log_dir / "gamma-panel.eval"))
    # A self-judged run: the candidate is its own grader.
    made["self"] = run_generation("beta", log_dir, grader_name="mockllm/beta")
    return {"dir": log_dir, "logs": made, "copy": copy}


@pytest.fixture(scope="module")
def lb(logs):
    return build(logs["dir"])


def board_of(lb, judge: str):
    found = [b for b in lb.boards if b.task == "generation" and b.key["judge_model"] == judge]
    assert len(found) == 1, [b.key["judge_model"] for b in lb.boards]
    return found[0]


def test_metric_keys_match_the_judge():
    assert METRIC_KEYS == tuple(rubrics.METRIC_KEYS)


def test_a_rescored_copy_gives_a_row_on_the_second_judges_board(lb, logs):
    second = board_of(lb, "mockllm/model")
    # mockllm/model answers no JSON: every sample unscored, never a made-up score, and never ranked
    assert len(second.rows) == 0
    [row] = second.self_judged.to_dict(orient="records")
    assert row["candidate"] == "mockllm/alpha" and row["log"] == str(logs["copy"].resolve())
    assert row["judge_scorer"] == "rubric_judge1"
    assert row["unscored"] == 10 and math.isnan(row["overall"])
    assert row["self_judged"].startswith("no scored sample") and "10 unscored" in row["self_judged"]
    # The copy shares the original's eval_id: the original judge's row counts once, the copy is listed.
    first = board_of(lb, GRADER_A)
    assert first.rows["candidate"].tolist().count("mockllm/alpha") == 1
    notes = [s for s in first.superseded if s["candidate"] == "mockllm/alpha"]
    assert len(notes) == 1 and "same eval_id" in notes[0]["note"]


def test_a_panel_gives_mean_median_and_alpha(lb, logs):
    c = board_of(lb, GRADER_C)
    [row_c] = c.rows.to_dict(orient="records")
    expected_c = overall(c_scores("gamma"))
    assert row_c["overall"] == pytest.approx(np.nanmean(expected_c))
    expected_a = overall(expected_scores("gamma"))
    for agg in ("mean", "median"):
        board = board_of(lb, f"panel {agg} of {GRADER_A} + {GRADER_C}")
        [row] = board.rows.to_dict(orient="records")
        assert row["panel"] == [GRADER_A, GRADER_C]
        # two judges: mean and median are the same per sample
        assert row["overall"] == pytest.approx(np.mean((expected_a + expected_c) / 2))
        direct = krippendorff.alpha(reliability_data=np.vstack([expected_a, expected_c]), level_of_measurement="interval")
        assert row["alpha"] == pytest.approx(direct)
        assert board.is_panel
    # alpha's copy is scored by GRADER_A and mockllm/model, which scored no sample: no panel of the
    # two (it would show an alpha beside no scores), and the silent judge's row says why.
    assert not [b for b in lb.boards if "mockllm/model" in str(b.key["judge_model"]) and b.is_panel]
    [silent] = board_of(lb, "mockllm/model").self_judged.to_dict(orient="records")
    assert "left out of the panel" in silent["self_judged"]


def test_self_judged_runs_are_listed_not_ranked(lb, logs, tmp_path):
    board = board_of(lb, "mockllm/beta")
    assert board.rows.empty and board.self_judged["candidate"].tolist() == ["mockllm/beta"]
    assert "self-judged" in board.self_judged.iloc[0]["self_judged"]
    assert all("mockllm/beta" not in b.rows["candidate"].tolist() for b in lb.boards if b.key.get("judge_model") == GRADER_A)
    paths = write_leaderboard(logs["dir"], tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Not ranked, listed with the reason. Self-judged runs:" in page and 'id="self-' in page
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    [entry] = [b for b in doc["boards"] if b["ranked_together_because_they_share"]["judge_model"] == "mockllm/beta"]
    assert entry["rows"] == [] and [r["candidate"] for r in entry["self_judged"]] == ["mockllm/beta"]


@pytest.mark.slow
def test_overwrite_in_place_keeps_the_log_on_the_new_judges_board(logs, tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    target = log_dir / Path(logs["logs"]["alpha"].location).name
    shutil.copy(logs["logs"]["alpha"].location, target)
    done = subprocess.run(
        [INSPECT, "score", str(target), "--scorer", "scorers/rubric_judge.py@rubric_judge", "-S", "max_retries=0",
         "--model-role", "grader=mockllm/model", "--action", "overwrite", "--overwrite"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lb = build(log_dir)
    assert lb.skipped == []
    [board] = lb.boards
    assert board.key["judge_model"] == "mockllm/model"
    # The new judge (mockllm/model answers no verdict) scored nothing: listed with the reason, never ranked.
    assert len(board.rows) == 0
    [row] = board.self_judged.to_dict(orient="records")
    assert row["candidate"] == "mockllm/alpha" and math.isnan(row["chars"])  # reply_length was overwritten away
    assert row["self_judged"].startswith("no scored sample")
    page = write_leaderboard(log_dir, tmp_path / "out")["html"].read_text(encoding="utf-8")
    assert "not scored" in page and "no scored sample" in page


def test_the_same_data_under_two_path_spellings_is_one_board(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    shutil.copy(DATA, tmp_path / "data" / "d.jsonl")
    # the same dialogues in another file, rows reversed
    lines = DATA.read_text(encoding="utf-8").splitlines()
    (tmp_path / "elsewhere.jsonl").write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    run_generation("alpha", tmp_path / "logs", data="data/d.jsonl")
    run_generation("gamma", tmp_path / "logs", data=str(tmp_path / "data" / "d.jsonl"))
    run_generation("beta", tmp_path / "logs", data=str(tmp_path / "elsewhere.jsonl"))
    [board] = build(tmp_path / "logs").boards
    assert sorted(board.rows["candidate"]) == ["mockllm/alpha", "mockllm/beta", "mockllm/gamma"]
    assert board.key["data"].startswith("v1:")


def _copy_with(log_path: str, dest: Path, edit) -> None:  # noqa: ANN001 - edit(log) mutates a full log
    log = read_eval_log(log_path)
    log.eval.eval_id = log.eval.eval_id + "x"
    edit(log)
    write_eval_log(log, str(dest))


def test_dialogue_format_and_old_logs_without_a_fingerprint(logs, tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    shutil.copy(logs["logs"]["alpha"].location, log_dir / "alpha.eval")

    def structured(log):
        log.eval.model = "mockllm/gamma"
        log.eval.metadata = {**log.eval.metadata, "dialogue_format": "structured"}

    def old(log):
        log.eval.model = "mockllm/old"
        log.eval.metadata = {k: v for k, v in log.eval.metadata.items() if k != "data_fingerprint"}

    _copy_with(logs["logs"]["alpha"].location, log_dir / "structured.eval", structured)
    _copy_with(logs["logs"]["alpha"].location, log_dir / "old.eval", old)
    lb = build(log_dir)
    assert len(lb.boards) == 3  # free, structured, and the old log's fallback data key
    formats = sorted(b.key["dialogue_format"] for b in lb.boards)
    assert formats == ["free", "free", "structured"]
    [fallback] = [b for b in lb.boards if b.key["data"].startswith("samples:")]
    assert fallback.rows["candidate"].tolist() == ["mockllm/old"] and "predate the data fingerprint" in fallback.data_note


def test_an_epoch_the_judge_missed_leaves_the_sample_unscored(tmp_path):
    log_dir = tmp_path / "logs"
    log = run_generation("gamma", tmp_path / "first", epochs=2)

    def miss(log):
        for sample in log.samples:
            if sample.epoch == 2 and sample.id == log.samples[0].id:
                sample.scores["rubric_judge"].value = {
                    **{k: float("nan") for k in (*METRIC_KEYS, "overall")}, "format_ok": 1}

    log_dir.mkdir()
    _copy_with(log.location, log_dir / "gamma.eval", miss)
    [board] = build(log_dir).boards
    row = board.rows.iloc[0]
    assert (row["epochs"], row["unscored"], row["incomplete_epochs"]) == (2, 1, 1)
    missed = log.samples[0].id
    kept = [s.scores["rubric_judge"].value["overall"] for s in log.samples if s.epoch == 1 and s.id != missed]
    assert len(kept) == 9 and row["overall"] == pytest.approx(np.mean(kept))


def always_five(messages, tools, tool_choice, config):  # noqa: ANN001, ANN201
    """An absolute judge that gives 5 on every metric."""
    verdict = {k: {"rationale": "丁寧に受け止めている。", "score": 5} for k in METRIC_KEYS}
    out = ModelOutput.from_content(GRADER_A, json.dumps(verdict, ensure_ascii=False))
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def test_judge_probe_results_show_next_to_the_judges_boards(logs, tmp_path):
    from emplifai.tasks.judge_probes import judge_probes

    log_dir = tmp_path / "logs"
    shutil.copytree(logs["dir"], log_dir)
    [probe] = inspect_eval(
        judge_probes(n=2, probes="cold_correct,padded"), model=get_model("mockllm/model"),
        model_roles={"grader": get_model(GRADER_A, custom_outputs=always_five)}, log_dir=str(log_dir), display="none",
    )
    assert probe.status == "success", probe.error
    lb = build(log_dir)
    assert all(s.task != "judge_probes" for s in lb.skipped)
    [check] = board_of(lb, GRADER_A).judge_checks
    # a judge that gives 5 to everything never scores a degraded reply below its base
    assert check.judge == GRADER_A and check.probe_accuracy == 0.0 and check.invariance_violation_rate == 0.0
    assert check.mode == "absolute"
    # two bases: too few bases for a verdict, and the page says so with its rule
    assert check.verdict == "too few bases" and "caught 0 of 2 degrading probes" in check.verdict_sentence
    assert board_of(lb, GRADER_C).judge_checks == []
    paths = write_leaderboard(log_dir, tmp_path / "out", audit=tmp_path / "audit")
    page = paths["html"].read_text(encoding="utf-8")
    assert 'data-judge-checks="1"' in page and "probe accuracy <b>0%</b>" in page
    assert 'data-verdict="too few bases"' in page and "95% interval of probe accuracy" in page
    assert "Trust verdict: **too few bases**" in paths["markdown"].read_text(encoding="utf-8")
    assert '<li data-mode="absolute">' in page and "scored below their original" in page
    assert 'href="../audit/audit.html"' in page and "(not written yet)" in page
    # the length-controlled column's method links to the audit report's section of it
    assert 'id="length-control-link" href="../audit/audit.html#length-controlled"' in page


def test_pairwise_probe_results_show_as_judge_checks_in_pairwise_mode(logs, tmp_path):
    """A pairwise_probes log is a judge check too, marked pairwise, with the same trust rule."""
    from emplifai.tasks.judge_probes import judge_probes
    from emplifai.tasks.pairwise_probes import pairwise_probes

    from .pairwise_script import always_tie

    log_dir = tmp_path / "logs"
    shutil.copytree(logs["dir"], log_dir)
    judge = always_tie()
    [probe] = inspect_eval(
        pairwise_probes(n=2, probes="cold_correct,padded"), model="none/none",
        model_roles={"grader": get_model(GRADER_A, custom_outputs=judge)}, log_dir=str(log_dir), display="none",
    )
    assert probe.status == "success", probe.error
    assert len(judge.calls) == 2 * 2 * 2  # 2 bases x 2 probes, each judged in both orders
    lb = build(log_dir)
    assert all(s.task != "pairwise_probes" for s in lb.skipped)
    [check] = board_of(lb, GRADER_A).judge_checks
    # A judge that ties everything never prefers the base to a cold rewrite, and ties every padded copy.
    assert (check.judge, check.mode, check.rubric) == (GRADER_A, "pairwise", "default")
    assert check.probe_accuracy == 0.0 and check.invariance_violation_rate == 0.0 and check.n == 4
    assert check.verdict == "too few bases" and "caught 0 of 2 degrading probes" in check.verdict_sentence
    paths = write_leaderboard(log_dir, tmp_path / "out", audit=tmp_path / "audit")
    page = paths["html"].read_text(encoding="utf-8")
    assert '<li data-mode="pairwise">' in page and "<b>pairwise</b> judging): probe accuracy <b>0%</b>" in page
    assert "lost to their original in both orders" in page and 'data-verdict="too few bases"' in page
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert f"Judge checks ({GRADER_A}, rubric default, pairwise judging): probe accuracy 0%" in markdown
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert [c["mode"] for c in document["judge_checks"]] == ["pairwise"]
    # The same judge's absolute probes, run later: a second check beside it, not its replacement.
    [absolute] = inspect_eval(
        judge_probes(n=2, probes="cold_correct,padded"), model=get_model("mockllm/model"),
        model_roles={"grader": get_model(GRADER_A, custom_outputs=always_five)}, log_dir=str(log_dir), display="none",
    )
    assert absolute.status == "success", absolute.error
    both = board_of(build(log_dir), GRADER_A).judge_checks
    assert [c.mode for c in both] == ["absolute", "pairwise"] and all(not c.superseded for c in both)
