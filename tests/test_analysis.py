"""Judge scores where Inspect users look: overall first in the log (the inspect view headline), one
score per judge so a judge appended with `inspect score` keeps its own metric names in `evals_df`,
and `judge_scores_df`, the long frame of every judge's per-sample scores and rationales."""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai import score as inspect_score
from inspect_ai.analysis import evals_df
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.model import get_model
from inspect_ai.scorer import mean, stderr

from emplifai.analysis import COLUMNS, judge_means, judge_scores_df
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.rubric_judge import format_failure_rate, rubric_judge, unscored

from .fixtures.leaderboard.scripted import GRADER_A, SIDS, expected_scores, grader, run_generation
from .test_leaderboard_judges import GRADER_C, c_scores, judge_c


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    os.environ["INSPECT_CACHE_DIR"] = str(root / "cache")
    alpha = run_generation("alpha", root / "logs")
    both = inspect_score(read_eval_log(alpha.location), scorers=[rubric_judge()],
                         model_roles={"grader": get_model(GRADER_C, custom_outputs=judge_c)}, action="append")
    write_eval_log(both, str(root / "two-judges" / "alpha-two-judges.eval"))
    beta = run_generation("beta", root / "logs")  # the last output is a format failure
    reference = run_generation("reference", root / "logs")  # the grader fails on the last sample
    return {"alpha": alpha, "both": both, "beta": beta, "reference": reference, "root": root}


def test_overall_is_the_headline_of_a_generation_log(logs):
    log = logs["alpha"]
    first = log.results.scores[0]
    assert (first.scorer, first.name, next(iter(first.metrics))) == ("rubric_judge", "rubric_judge", "overall")
    assert log.results.headline.metric == "overall"
    names = list(first.metrics)
    # format failures and unscored counts stay in the log, after the means
    assert names[-2:] == ["format_failure_rate", "unscored"]
    assert names.index("overall_stderr") == 1 and "general_empathy" in names


def test_two_judges_keep_their_own_columns_in_evals_df(logs):
    df = evals_df(str(logs["root"] / "two-judges"), quiet=True)
    a = [s["general_empathy"] for s in expected_scores("alpha")]
    c = [s["general_empathy"] for s in c_scores("alpha")]
    assert df["score_rubric_judge_general_empathy"].iloc[0] == pytest.approx(np.mean(a))
    assert df["score_rubric_judge1_general_empathy"].iloc[0] == pytest.approx(np.mean(c))
    assert np.mean(a) != np.mean(c)
    for judge in ("rubric_judge", "rubric_judge1"):
        assert {f"score_{judge}_{k}" for k in (*METRIC_KEYS, "overall")} <= set(df.columns)
    # the appended judge does not take the headline
    assert df["score_headline_name"].iloc[0] == "rubric_judge" and df["score_headline_metric"].iloc[0] == "overall"


def test_judge_scores_df_has_both_judges_scores_and_rationales(logs):
    df = judge_scores_df(logs["root"] / "two-judges")
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 10 * 8 * 2
    assert set(df["judge"]) == {GRADER_A, GRADER_C}
    wide = df.pivot_table(index="candidate", columns=["judge", "metric"], values="score")
    assert wide.loc["mockllm/alpha", (GRADER_C, "general_empathy")] == pytest.approx(
        np.mean([s["general_empathy"] for s in c_scores("alpha")]))
    one = df[(df["judge"] == GRADER_A) & (df["sample_id"] == SIDS[0]) & (df["metric"] == "fluency")].iloc[0]
    assert one["rationale"] == "scripted" and one["score"] == 5 and one["format_ok"]
    assert one["emotion"] and one["emotion_ja"] and one["situation"] and "alpha:" in one["dialogue"]
    assert one["reply_chars"] > 0 and one["scorer"] == "rubric_judge"


def test_unscored_rows_are_nan_with_the_reason_and_format_failures_say_why(logs):
    ref = judge_scores_df(logs["reference"].location)
    last = ref[ref["sample_id"] == SIDS[-1]]
    assert last["score"].isna().all() and (last["unscored_reason"] == "grader_failed").all()
    assert (ref[ref["sample_id"] != SIDS[-1]]["unscored_reason"] == "").all()
    beta = judge_scores_df([logs["beta"]])
    failed = beta[beta["sample_id"] == SIDS[-1]]
    assert (failed["score"] == 1).all() and (~failed["format_ok"]).all()
    assert failed["explanation"].str.startswith("format failure").all()


def test_judge_means_reads_new_and_old_names(logs, tmp_path):
    new = judge_means(logs["both"])
    assert set(new) == {"rubric_judge", "rubric_judge1"}
    assert new["rubric_judge"]["overall"] == pytest.approx(
        np.mean([np.mean(list(s.values())) for s in expected_scores("alpha")]))
    # A log in the names written before one-score-per-judge: one score per metric key with mean/stderr.
    from emplifai.tasks.generation import generation

    from .fixtures.leaderboard.scripted import DATA

    task = generation(data=str(DATA), n=3, source="reference")
    old = Task(dataset=task.dataset, solver=task.solver, scorer=rubric_judge(), setup=task.setup,
               metrics=[{k: [mean(), stderr()] for k in (*METRIC_KEYS, "overall")}, format_failure_rate(), unscored()])
    [log] = inspect_eval(old, model="mockllm/reference-replay",
                         model_roles={"grader": get_model(GRADER_A, custom_outputs=grader(GRADER_A))},
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert {s.name for s in log.results.scores} >= {"overall", "comprehensibility"}  # the old shape
    means = judge_means(log)["rubric_judge"]
    assert means["overall"] == pytest.approx(2.0) and means["fluency_stderr"] == 0
    assert means["unscored"] == 0 and means["format_failure_rate"] == 0
    assert not math.isnan(judge_scores_df(log)["score"].iloc[0])


def _doc_snippets() -> list[str]:
    """The Python blocks of docs/leaderboard.md's "Where the results are" section, as shown."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "leaderboard.md").read_text(encoding="utf-8")
    section = doc.split("## Where the results are", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_documented_pandas_snippets_run(logs, tmp_path, monkeypatch):
    snippets = _doc_snippets()
    assert len(snippets) == 2 and len(snippets[0].strip().splitlines()) == 3
    shutil.copytree(logs["root"] / "two-judges", tmp_path / "logs")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    for code in snippets:
        exec(compile(code, "docs/leaderboard.md", "exec"), scope)  # noqa: S102 - the doc's own snippet
    wide = scope["df"].pivot_table(index="candidate", columns=["judge", "metric"], values="score")
    assert {j for j, _ in wide.columns} == {GRADER_A, GRADER_C}
    shown = scope["evals"].filter(regex=r"^(model|score_rubric_judge\d*_(overall|general_empathy))$")
    assert set(shown.columns) == {"model", "score_rubric_judge_overall", "score_rubric_judge_general_empathy",
                                  "score_rubric_judge1_overall", "score_rubric_judge1_general_empathy"}


def test_the_model_card_lists_the_judges_means_not_their_stderr(logs, tmp_path):
    from emplifai.training.model_card import collect_results

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    log = read_eval_log(str(logs["root"] / "two-judges" / "alpha-two-judges.eval"))
    log.eval.model_args = {"model_path": str(ckpt)}
    write_eval_log(log, str(tmp_path / "logs" / "card.eval"))
    [row] = collect_results(ckpt, tmp_path / "logs", "any")
    assert {"rubric_judge/overall", "rubric_judge1/general_empathy", "rubric_judge/unscored"} <= set(row["scores"])
    assert not [k for k in row["scores"] if k.endswith("stderr")]
