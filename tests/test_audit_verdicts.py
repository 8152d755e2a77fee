"""The audit's cells in the degenerate cases: a constant judge on raters at the ceiling, exact ties in
the human means and overall, and the knobs refused out of range (one line, exit 2)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emplifai.audit.analysis import _row, check_knobs, human_means, human_scores
from emplifai.cli import main
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS


def _ceiling_raters(n: int = 60, seed: int = 11) -> dict[str, dict[str, Fraction]]:
    rng = np.random.default_rng(seed)
    return {f"R{k}": {f"d{i}": Fraction(int(rng.choice([5, 5, 5, 5, 5, 4, 4, 3]))) for i in range(n)} for k in range(4)}


def test_constant_judge_at_the_ceiling_is_not_replace() -> None:
    raters = _ceiling_raters()
    judge = {i: 5.0 for i in raters["R0"]}
    row = _row("c", "j", "harmlessness", judge, raters, {}, 0.1, 30)
    assert row["alt_test_applicable"] and row["alt_test_passed"]  # what used to make it "replace"
    assert row["verdict"] == "do not use" and row["judge_constant"] == 5.0 and row["judge_modal_share"] == 1.0
    assert row["pearson_r"] is None and row["icc_a1"] == 0.0 and row["icc_a1_ci_low"] < 0.5
    assert any("near-constant" in b for b in row["not_replace_because"])
    assert "alt_test_passed_gate_failed" in row["caveats"]


def test_near_constant_judge_is_not_replace() -> None:
    raters = _ceiling_raters()
    judge = {i: 5.0 for i in raters["R0"]}
    for i in list(judge)[:5]:  # 55 of 60 dialogues get 5: 92% >= 90%
        judge[i] = 4.0
    row = _row("c", "j", "harmlessness", judge, raters, {}, 0.1, 30)
    assert row["verdict"] != "replace" and row["judge_modal_share"] == pytest.approx(55 / 60)


def _ratings(scores: dict[tuple[str, str], list[int]]) -> pd.DataFrame:
    """{(dialogue, rater): seven scores} -> a long ratings frame."""
    rows = [{"log": "l.eval", "sample_id": d, "candidate": "c", "rater_id": r, "metric": m, "score": s}
            for (d, r), seven in scores.items() for m, s in zip(METRIC_KEYS, seven)]
    return pd.DataFrame(rows)


def test_equal_rating_sets_give_equal_means_and_overall() -> None:
    """Float sums of k/7 split exact ties (0.1 + 0.2 style); the audit's values are exact."""
    rng = np.random.default_rng(4)
    scores: dict[tuple[str, str], list[int]] = {}
    for d in range(40):
        base = [list(rng.integers(1, 6, 7)) for _ in range(3)]
        scores.update({(f"d{d}", f"R{k}"): [int(x) for x in base[k]] for k in range(3)})
        # A twin dialogue: the same ratings, given by the raters in another order and metric order.
        perm = rng.permutation(3)
        scores.update({(f"t{d}", f"R{k}"): [int(x) for x in base[perm[k]]] for k in range(3)})
    hs = human_scores(_ratings(scores))
    means = human_means(hs).set_index(["sample_id", "metric"])["human"]
    for d in range(40):
        for m in (*METRIC_KEYS, "overall"):
            assert means[(f"d{d}", m)] == means[(f"t{d}", m)]  # bit-equal
        exact = Fraction(sum(sum(scores[(f"d{d}", f"R{k}")]) for k in range(3)), 21)
        assert means[(f"d{d}", "overall")] == float(exact)
    overall = means.xs("overall", level="metric")
    exact_values = {Fraction(sum(sum(scores[(d, f"R{k}")]) for k in range(3)), 21) for d, _ in scores}
    assert overall.nunique() == len(exact_values)
    # Rank statistics see the ties the exact values have.
    x = overall.to_numpy()
    exact_x = [float(Fraction(sum(sum(scores[(d, f"R{k}")]) for k in range(3)), 21)) for d in overall.index]
    assert stats.spearmanr(x, np.arange(len(x))).statistic == stats.spearmanr(exact_x, np.arange(len(x))).statistic


def _seven(total: int) -> list[int]:
    """Seven scores 1..5 summing to ``total``."""
    out = [1] * 7
    for i in range(total - 7):
        out[i % 7] += 1
    return out


def test_equal_exact_means_stay_equal_where_float_averaging_splits_them() -> None:
    """Overall sums 7+8+12 and 8+9+10 (same mean, 27/21): a mean of float overalls gives 1.2857142857142856
    and 1.2857142857142858; the audit's exact path gives one value, as a rank statistic must see it."""
    assert (7 / 7 + 8 / 7 + 12 / 7) / 3 != (8 / 7 + 9 / 7 + 10 / 7) / 3  # the float path splits the tie
    scores = {("x", f"R{k}"): _seven(t) for k, t in enumerate((7, 8, 12))}
    scores.update({("y", f"R{k}"): _seven(t) for k, t in enumerate((8, 9, 10))})
    means = human_means(human_scores(_ratings(scores))).set_index(["sample_id", "metric"])["human"]
    assert means[("x", "overall")] == means[("y", "overall")] == float(Fraction(27, 21))


@pytest.mark.parametrize("kwargs,flag", [
    ({"epsilon": 1.5}, "--epsilon 1.5: must be in (0, 1)"), ({"epsilon": 0.0}, "--epsilon 0: must be in (0, 1)"),
    ({"epsilon": -0.1}, "--epsilon -0.1"), ({"epsilon": float("nan")}, "--epsilon nan"),
    ({"min_items": 0}, "--min-items 0: must be >= 1"), ({"min_items": -3}, "--min-items -3"),
])
def test_knobs_out_of_range_are_refused(kwargs: dict, flag: str) -> None:
    with pytest.raises(UserError) as err:
        check_knobs("crowd", kwargs.get("epsilon"), kwargs.get("min_items", 30))
    assert str(err.value).startswith(flag) and "\n" not in str(err.value)
    assert check_knobs("expert", None, 30) == 0.2 and check_knobs("crowd", 0.3, 50) == 0.3
    assert check_knobs("crowd", None, 5) == 0.1  # below 30: the small-sample procedure, not a refusal


@pytest.mark.parametrize("argv,flag", [
    (["audit", "report", "--logs", "L", "--ratings", "R", "--out", "O", "--epsilon", "1.5"], "--epsilon 1.5"),
    (["audit", "report", "--logs", "L", "--ratings", "R", "--out", "O", "--min-items", "0"], "--min-items 0"),
    (["audit", "report", "--logs", "L", "--ratings", "R", "--out", "O", "--rater-type", "crowd", "--epsilon", "0"],
     "--epsilon 0"),
    (["audit", "import", "R", "--logs", "L", "--min-items", "0"], "--min-items 0"),
    (["audit", "sheet", "L", "--out", "O", "--raters", "0", "--design", "alt-test"], "--raters 0"),
    (["audit", "sheet", "L", "--out", "O", "--raters", "2", "--raters-per-item", "10", "--design", "alt-test"],
     "--raters 2"),
    (["audit", "sheet", "L", "--out", "O", "--raters", "5"], "--raters 5"),
    (["audit", "sheet", "L", "--out", "O", "--raters-per-item", "0"], "--raters-per-item 0"),
    (["audit", "sheet", "L", "--out", "O", "--group-size", "0"], "--group-size 0"),
    (["audit", "sheet", "L", "--out", "O", "--design", "alt-test", "--min-items", "10"], "--min-items 10"),
    (["audit", "simulate", "--out", "O", "--raters", "2"], "--raters 2"),
    (["audit", "simulate", "--out", "O", "--n", "0"], "--n 0"),
])
def test_cli_refuses_each_flag_in_one_line(argv: list[str], flag: str, capsys, tmp_path: Path,
                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the flags are checked before any file is read or written
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {flag}") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "O").exists()


def test_small_sample_verdict_says_so() -> None:
    """The issue's case: --min-items 5 on 10 dialogues. The raters are tested with the Wilcoxon signed-rank
    test, and a verdict over them carries the small-sample caveat."""
    rng = np.random.default_rng(2)
    truth = rng.uniform(1, 5, 10)
    raters = {f"R{k}": {f"d{i}": Fraction(int(np.clip(round(t + rng.normal(0, 0.3)), 1, 5))) for i, t in enumerate(truth)}
              for k in range(4)}
    judge = {f"d{i}": float(np.clip(round(t), 1, 5)) for i, t in enumerate(truth)}
    row = _row("c", "j", "fluency", judge, raters, {}, 0.1, 5)
    assert row["alt_test_small_sample"] and all(p["test"] == "wilcoxon" for p in row["alt_test_per_rater"])
    # A judge that reads the truth better than the raters passes every gate on 10 dialogues: the verdict
    # stands, with the small-sample caveat beside it.
    assert row["alt_test_passed"] and row["verdict"] == "replace" and row["caveats"] == ["small_sample"]
    assert _row("c", "j", "fluency", judge, raters, {}, 0.1, 30)["alt_test_applicable"] is False


def _ceiling_audit(n: int = 60) -> tuple:
    """Logs and ratings in the audit's own frames: one candidate, raters near 5 on every metric, and a judge
    that gives 5 to everything (the EmplifAI paper's blind judge)."""
    from emplifai.audit.logs import METRICS, AuditLogs
    from emplifai.audit.ratings import RATING_COLUMNS, Ratings

    rng = np.random.default_rng(21)
    sids = [f"s{i}" for i in range(n)]
    chars = rng.lognormal(4.8, 0.4, n)
    items = pd.DataFrame({"log": "gpt.eval", "sample_id": sids, "candidate": "openai/gpt", "model": "openai/gpt",
                          "chars": chars, "log_chars": np.log(chars), "reference_chars": 72.0,
                          "markdown": rng.integers(0, 2, n), "politeness": rng.integers(0, 4, n),
                          "eval_id": "E", "sample_uuid": sids})
    scores = pd.DataFrame([{"log": "gpt.eval", "sample_id": s, "judge": "blind", "scorer": "rubric_judge", "metric": m,
                            "judge_score": 5.0, "rubric": "default 1", "rubric_language": "ja"}
                           for s in sids for m in METRICS])
    logs = AuditLogs(items, scores, {"gpt.eval": {"path": "gpt.eval", "candidate": "openai/gpt", "model": "openai/gpt",
                                                  "grader": "blind", "task_args": {}, "created": "", "n_samples": n}})
    ratings = pd.DataFrame([{"log": "gpt.eval", "sample_id": s, "candidate": "openai/gpt", "rater_id": f"R{k}",
                             "metric": m, "score": int(rng.choice([5, 5, 5, 5, 5, 4, 4, 3])), "source": "r.csv:1"}
                            for s in sids for k in range(4) for m in METRIC_KEYS], columns=RATING_COLUMNS)
    return logs, Ratings(ratings, [])


def test_a_constant_judge_on_raters_at_the_ceiling_through_the_whole_report(tmp_path: Path) -> None:
    """Done-when of the issue: the judge that gives 5 to every dialogue, on raters who mostly give 5, is not
    'replace' on any metric, the report says why, and no p-value is printed for its constant side."""
    from emplifai.audit.analysis import run_audit
    from emplifai.audit.report import write_report

    logs, ratings = _ceiling_audit()
    doc = run_audit(logs, ratings)
    pooled = [r for r in doc["rows"] if r["candidate"] == "(all candidates)"]
    assert len(pooled) == 8
    for r in pooled:
        assert r["verdict"] != "replace", r["metric"]
        assert any("near-constant: one score on 100%" in b for b in r["not_replace_because"])
        assert r["judge_constant"] == 5.0 and r["pearson_p"] is None and r["judge_length_p"] is None
    assert any(r["alt_test_passed"] for r in pooled)  # the alt-test alone would have said "replace"
    for entry in doc["length"]["per_judge"]:
        assert entry["length_controlled_judge"]["slope_p"] is None  # a constant score has no slope test
    paths = write_report(doc, logs, ratings, tmp_path)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "judge = 5 (const)" in md and "no variance (no test)" in md and "**replace**" not in md
