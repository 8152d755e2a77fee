"""Boards built from logs of the real emotion and generation tasks with scripted models of known
scores: means, CIs, ties, superseded logs and the refusal to rank across judges or sample sets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.leaderboard import build
from emplifai.leaderboard.boards import Board, Leaderboard
from emplifai.leaderboard.collect import OVERALL, REFERENCE_LABEL
from emplifai.scorers.reply_length import count_chars, count_words
from emplifai.taxonomy import LABELS, group_of

from .fixtures.leaderboard.scripted import (
    EMOTION_ANSWERS,
    GOLD,
    GRADER_A,
    GRADER_B,
    SIDS,
    bertscore_logs,
    expected_scores,
    scripted_logs,
    supporter_replies,
)
from .test_leaderboard_stats import numpy_percentile_bootstrap

NAMES = {"alpha": "mockllm/alpha", "beta": "mockllm/beta", "gamma": "mockllm/gamma", "reference": REFERENCE_LABEL}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return scripted_logs(tmp_path_factory)


@pytest.fixture(scope="module")
def lb(logs) -> Leaderboard:
    return build(logs.log_dir)


def generation_board(lb: Leaderboard, judge: str, n: int) -> Board:
    [board] = [b for b in lb.boards if b.task == "generation" and b.key["judge_model"] == judge and b.key["n_samples"] == n]
    return board


def row(board: Board, candidate: str) -> dict:
    [r] = board.rows[board.rows["candidate"] == candidate].to_dict(orient="records")
    return r


def log_metric(log, name: str, metric: str = "mean") -> float:
    [score] = [s for s in log.results.scores if s.name == name]
    return score.metrics[metric].value


def test_every_log_is_counted_or_superseded(lb, logs):
    assert lb.skipped == []
    counted = {r["log"] for b in lb.boards for r in b.rows.to_dict(orient="records")}
    superseded = {s["log"] for s in lb.superseded}
    assert counted | superseded == {log.location for log in logs.logs.values()}
    assert len(lb.boards) == 4  # one emotion board, three generation boards


@pytest.mark.parametrize("marker", ["alpha", "beta", "gamma", "reference"])
def test_generation_means_and_cis_match_the_scripted_scores(lb, logs, marker):
    board = generation_board(lb, GRADER_A, 10)
    r = row(board, NAMES[marker])
    per_sample = expected_scores(marker)
    for key in METRIC_KEYS:
        values = np.array([s[key] for s in per_sample if s is not None])
        assert r[key] == pytest.approx(values.mean())
        assert r[key] == pytest.approx(log_metric(logs.logs[marker], "rubric_judge", key))  # Inspect's own mean agrees
        if values.std() > 0:
            lo, hi = numpy_percentile_bootstrap(values)
            tol = 0.15 * values.std() / math.sqrt(len(values))
            assert (r[f"{key}_ci_low"], r[f"{key}_ci_high"]) == pytest.approx((lo, hi), abs=tol + 1e-9)
        else:
            assert r[f"{key}_ci_low"] == r[f"{key}_ci_high"] == values[0]
    overall = np.array([np.mean(list(s.values())) for s in per_sample if s is not None])
    assert r["overall"] == pytest.approx(overall.mean())
    assert r["overall_ci_low"] <= r["overall"] <= r["overall_ci_high"]
    assert r["n"] == 10 and r["date"] and r["log"] == logs.logs[marker].location


def test_format_failures_unscored_and_lengths(lb, logs):
    board = generation_board(lb, GRADER_A, 10)
    beta, ref = row(board, NAMES["beta"]), row(board, NAMES["reference"])
    assert (beta["format_failures"], beta["format_failure_rate"], beta["unscored"]) == (1, pytest.approx(0.1), 0)
    assert (ref["format_failures"], ref["unscored"], ref["n_scored"]) == (0, 1, 9)
    for marker in ("alpha", "beta", "reference"):
        r = row(board, NAMES[marker])
        ok = [sid for sid, s in zip(SIDS, expected_scores(marker)) if marker != "beta" or sid != SIDS[-1]]
        chars = [np.mean([count_chars(t) for t in supporter_replies(marker, sid)]) for sid in ok]
        words = [np.mean([count_words(t, "ja") for t in supporter_replies(marker, sid)]) for sid in ok]
        assert r["chars"] == pytest.approx(np.mean(chars))
        assert r["words"] == pytest.approx(np.mean(words))
        assert r["chars"] == pytest.approx(log_metric(logs.logs[marker], "chars"))


def test_ties_share_a_rank_and_ranks_follow_significance(lb):
    board = generation_board(lb, GRADER_A, 10)
    ranks = dict(zip(board.rows["candidate"], board.rows["rank"]))
    assert ranks == {NAMES["alpha"]: 1, NAMES["gamma"]: 2, NAMES["beta"]: 2, NAMES["reference"]: 4}
    assert row(board, NAMES["beta"])["tied_with"] == [NAMES["gamma"]]
    assert row(board, NAMES["alpha"])["tied_with"] == []
    # Row order: rank, then the mean (gamma 3.4 before beta 2.8 within rank 2).
    assert board.rows["candidate"].tolist() == [NAMES[m] for m in ("alpha", "gamma", "beta", "reference")]
    # The test behind the beta/gamma tie, recomputed directly on the shared samples.
    beta = [np.mean(list(s.values())) for s in expected_scores("beta")]
    gamma = [np.mean(list(s.values())) for s in expected_scores("gamma")]
    d = np.array(gamma) - np.array(beta)
    p = stats.binomtest(int((d > 0).sum()), int((d != 0).sum()), 0.5).pvalue  # all differences are +-1 here
    pw = board.pairwise
    [pair] = pw[pw["a"].isin([NAMES["beta"], NAMES["gamma"]]) & pw["b"].isin([NAMES["beta"], NAMES["gamma"]])].to_dict("records")
    assert pair["p"] == pytest.approx(p) and not pair["significant"]
    # the reference has one unscored sample: its pairs use the 9 shared samples
    assert set(pw[(pw["a"] == REFERENCE_LABEL) | (pw["b"] == REFERENCE_LABEL)]["n_shared"]) == {9}


def test_newest_log_counts_and_the_older_one_is_superseded_not_averaged(lb, logs):
    board = generation_board(lb, GRADER_A, 10)
    beta = row(board, NAMES["beta"])
    assert beta["log"] == logs.logs["beta"].location
    assert beta["overall"] == pytest.approx((3 * 9 + 1) / 10)  # the new run alone; the old one scored 1s
    [old] = board.superseded
    assert old["log"] == logs.logs["beta-old"].location and old["superseded_by"] == logs.logs["beta"].location
    assert lb.superseded == [old]


def test_runs_with_another_judge_or_sample_set_are_never_ranked_together(lb, logs):
    a10 = generation_board(lb, GRADER_A, 10)
    b10 = generation_board(lb, GRADER_B, 10)
    a5 = generation_board(lb, GRADER_A, 5)
    assert len({a10.id, b10.id, a5.id}) == 3
    # alpha ran under three conditions: three boards, each ranking it alone or with its own peers.
    assert b10.rows["candidate"].tolist() == [NAMES["alpha"]] and b10.rows["rank"].tolist() == [1]
    assert a5.rows["candidate"].tolist() == [NAMES["alpha"]]
    assert row(b10, NAMES["alpha"])["log"] == logs.logs["alpha@judge-b"].location
    # the same data (content fingerprint); n=5 evaluates another set of samples
    assert a10.key["data"] == b10.key["data"] == a5.key["data"] and a10.key["data"].startswith("v1:")
    assert a10.key["samples"] == b10.key["samples"] != a5.key["samples"]
    [note] = lb.separation_notes
    assert "never ranked together" in note and "judge_model" in note and "samples" in note
    # the judge-b run is not superseded by (or superseding) the judge-a run of the same model
    assert all(s["candidate"] != NAMES["alpha"] for s in lb.superseded)


def check_emotion_board(lb: Leaderboard, logs, bertscore: bool) -> None:
    [board] = [b for b in lb.boards if b.task == "emotion"]
    assert board.key["language"] == "en" and board.key["n_samples"] == 10
    for model, answers in EMOTION_ANSWERS.items():
        r = row(board, model)
        log = logs.logs[f"emotion:{model}"]
        correct = np.array([a == g for a, g in zip(answers, GOLD)], dtype=float)
        assert r["accuracy"] == pytest.approx(correct.mean())
        assert r["accuracy"] == pytest.approx(log_metric(log, "label_match", "accuracy"))
        assert r["macro_f1"] == pytest.approx(log_metric(log, "label_match", "macro_f1"))
        if correct.std() > 0:
            lo, hi = numpy_percentile_bootstrap(correct)
            tol = 0.15 * correct.std() / math.sqrt(len(correct))
            assert (r["accuracy_ci_low"], r["accuracy_ci_high"]) == pytest.approx((lo, hi), abs=tol + 1e-9)
        for key in ("precision", "recall", "f1"):
            if bertscore:
                assert r[f"bertscore_{key}"] == pytest.approx(log_metric(log, key))
                assert r["bertscore_f1_ci_low"] <= r["bertscore_f1"] <= r["bertscore_f1_ci_high"]
            else:
                assert math.isnan(r[f"bertscore_{key}"])
        assert r["fasttext"] == pytest.approx(log_metric(log, "fasttext_label"))
        for group in ("positive", "negative", "ambiguous", "neutral"):
            in_group = [c for c, g in zip(correct, GOLD) if group_of(g) == group]
            assert r[f"accuracy_{group}"] == pytest.approx(np.mean(in_group))
        assert r["unparsed"] == sum(a == "???" for a in answers)
        assert r["fasttext_model"].endswith("tiny.bin")
        assert bool(r["bertscore_model"]) == bertscore
    ranks = dict(zip(board.rows["candidate"], board.rows["rank"]))
    assert ranks == {"mockllm/alpha": 1, "mockllm/gamma": 2, "mockllm/beta": 2}


def test_emotion_board(lb, logs):
    check_emotion_board(lb, logs, bertscore=False)


@pytest.mark.slow
def test_emotion_board_with_bertscore(tmp_path_factory):
    logs = bertscore_logs(tmp_path_factory)
    check_emotion_board(build(logs.log_dir), logs, bertscore=True)


def test_per_emotion_matrix_covers_the_28_labels(lb):
    [board] = [b for b in lb.boards if b.task == "emotion"]
    assert list(board.per_emotion.columns) == list(LABELS)
    alpha = board.per_emotion.loc["mockllm/alpha"]
    assert alpha[GOLD].tolist() == [1.0] * 10 and alpha.drop(GOLD).isna().all()
    gen = generation_board(lb, GRADER_A, 10).per_emotion
    expected = {g: np.mean(list(s.values())) for g, s in zip(GOLD, expected_scores("gamma"))}
    assert gen.loc[NAMES["gamma"], GOLD].tolist() == pytest.approx([expected[g] for g in GOLD])
    assert pd.isna(gen.loc[REFERENCE_LABEL, GOLD[-1]])  # the unscored sample


def test_epochs_are_averaged_per_sample_like_inspects_mean_reducer(tmp_path):
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from emplifai.tasks.emotion import emotion

    from .fixtures.leaderboard.scripted import BY_SITUATION_TEXT, DATA, RECORDS

    calls: dict[str, int] = {}

    def answer(messages, tools, tool_choice, config):
        [rec] = [r for text, r in BY_SITUATION_TEXT.items() if text in messages[-1].text]
        calls[rec.situation_id] = calls.get(rec.situation_id, 0) + 1
        # right on the first call for every sample, right on the second only for the first four
        right = calls[rec.situation_id] == 1 or RECORDS.index(rec) < 4
        out = ModelOutput.from_content("mockllm/epochs", rec.emotion if right else "???")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    [log] = inspect_eval(
        emotion(data=str(DATA), bertscore=False), model=get_model("mockllm/epochs", custom_outputs=answer),
        epochs=2, log_dir=str(tmp_path), display="none",
    )
    assert log.status == "success", log.error
    [board] = build(tmp_path).boards
    r = board.rows.iloc[0].to_dict()
    assert r["n"] == 10 and r["epochs"] == 2
    assert r["accuracy"] == pytest.approx((4 * 1 + 6 * 0.5) / 10)
    assert r["accuracy"] == pytest.approx(log_metric(log, "label_match", "accuracy"))
    assert r["macro_f1"] == pytest.approx(log_metric(log, "label_match", "macro_f1"))


def test_length_controlled_overall_is_the_least_squares_fit(lb):
    """Overall at a common length: candidate indicators + a common slope in log chars, solved here
    with numpy's least squares (independent of the statsmodels OLS the board uses)."""
    board = generation_board(lb, GRADER_A, 10)
    s = board.samples.dropna(subset=["chars", OVERALL])
    s = s[s["chars"] > 0]
    x = np.log(s["chars"].to_numpy(float))
    ref = x[(s["candidate"] == REFERENCE_LABEL).to_numpy()].mean()  # the human reference's length
    names = sorted(s["candidate"].unique())
    design = np.column_stack([(s["candidate"] == n).to_numpy(float) for n in names] + [x - ref])
    coef = np.linalg.lstsq(design, s[OVERALL].to_numpy(float), rcond=None)[0]
    for name, value in zip(names, coef[:-1], strict=True):
        r = row(board, name)
        assert r["overall_lc"] == pytest.approx(value)
        assert r["overall_lc_ci_low"] < r["overall_lc"] < r["overall_lc_ci_high"] or r["overall_lc"] == r["overall_lc_ci_low"]


def test_length_controlled_overall_from_the_cache_is_the_same(lb, logs, tmp_path):
    fresh = generation_board(lb, GRADER_A, 10).rows
    for _ in range(2):  # the second build takes the values from the cache
        cached = generation_board(build(logs.log_dir, tmp_path / "cache"), GRADER_A, 10).rows
        for col in ("overall_lc", "overall_lc_ci_low", "overall_lc_ci_high"):
            assert cached[col].tolist() == pytest.approx(fresh[col].tolist())
