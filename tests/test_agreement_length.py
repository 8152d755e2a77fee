"""Length bias, partial correlation and self-preference on planted data, against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emplifai.scorers.agreement import (
    deviation_regression,
    inter_judge_alpha,
    length_controlled_means,
    length_correlation,
    model_family,
    panel_scores,
    partial_correlation,
    self_preference,
)

BETA = 0.8  # planted: the judge adds 0.8 points per unit of log length above the reference


def _planted(seed: int = 0) -> tuple[pd.DataFrame, float]:
    rng = np.random.default_rng(seed)
    rows = []
    ref = np.log(130.0)
    for cand, centre in (("short", 90.0), ("long", 400.0)):
        for _ in range(80):
            truth = rng.normal(3.0, 0.6)
            chars = float(np.exp(np.log(centre) + rng.normal(0, 0.35)))
            human = truth + rng.normal(0, 0.3)
            judge = truth + BETA * (np.log(chars) - ref) + rng.normal(0, 0.3)
            rows.append({"candidate": cand, "truth": truth, "chars": chars, "log_chars": np.log(chars),
                         "human": human, "judge": judge, "markdown": int(rng.random() < 0.3)})
    return pd.DataFrame(rows), ref


def test_length_control_recovers_planted_effect() -> None:
    frame, ref = _planted()
    raw_gap = frame.groupby("candidate")["judge"].mean().diff().iloc[-1]
    lc = length_controlled_means(frame, "candidate", "judge", "log_chars", ref)
    assert lc["slope"] == pytest.approx(BETA, abs=0.15)
    g = lc["groups"]
    human = frame.groupby("candidate")["human"].mean()
    # Raw judge means differ by about BETA * log(400 / 90) ~ 1.2; at the reference length they match the humans.
    assert abs(frame.groupby("candidate")["judge"].mean()["long"] - frame.groupby("candidate")["judge"].mean()["short"]) > 0.9
    for cand in ("short", "long"):
        assert g[cand]["lc_mean"] == pytest.approx(human[cand], abs=0.15)
        assert g[cand]["lc_ci_low"] < g[cand]["lc_mean"] < g[cand]["lc_ci_high"]
    assert abs(g["long"]["lc_mean"] - g["short"]["lc_mean"]) < 0.2 < abs(raw_gap)


def test_lc_means_equal_ols_by_hand() -> None:
    frame, ref = _planted(1)
    lc = length_controlled_means(frame, "candidate", "judge", "log_chars", ref)
    x = np.column_stack([(frame.candidate == "long").astype(float), (frame.candidate == "short").astype(float),
                         frame.log_chars - ref])
    beta, *_ = np.linalg.lstsq(x, frame.judge.to_numpy(), rcond=None)
    assert lc["groups"]["long"]["lc_mean"] == pytest.approx(beta[0])
    assert lc["groups"]["short"]["lc_mean"] == pytest.approx(beta[1])
    assert lc["slope"] == pytest.approx(beta[2])


def test_deviation_regression_recovers_slope() -> None:
    frame, _ = _planted(2)
    frame["deviation"] = frame.judge - frame.human
    fit = deviation_regression(frame, "deviation", ["log_chars", "markdown"])
    coef = {c["name"]: c for c in fit["coefficients"]}
    assert coef["log_chars"]["estimate"] == pytest.approx(BETA, abs=0.1)
    assert coef["log_chars"]["p"] < 1e-6
    assert coef["markdown"]["ci_low"] < 0 < coef["markdown"]["ci_high"]  # nothing planted on markdown
    # The point estimate is plain OLS.
    x = np.column_stack([np.ones(len(frame)), frame.log_chars, frame.markdown])
    beta, *_ = np.linalg.lstsq(x, frame.deviation.to_numpy(), rcond=None)
    assert coef["log_chars"]["estimate"] == pytest.approx(beta[1])


def test_length_correlation_and_partial_correlation() -> None:
    frame, _ = _planted(3)
    jl = length_correlation(frame.judge, frame.chars)
    hl = length_correlation(frame.human, frame.chars)
    assert jl["rho"] == pytest.approx(stats.spearmanr(frame.judge, frame.chars).statistic)
    assert jl["rho"] > 0.5 and abs(hl["rho"]) < 0.25
    part = partial_correlation(frame.judge, frame.human, frame.log_chars)
    rxy = stats.pearsonr(frame.judge, frame.human).statistic
    rxz = stats.pearsonr(frame.judge, frame.log_chars).statistic
    ryz = stats.pearsonr(frame.human, frame.log_chars).statistic
    assert part["r"] == pytest.approx((rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2)))
    assert part["r"] > rxy  # controlling for length uncovers the agreement the bias hid


def test_panel_and_self_preference() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for cand in ("openai/gpt-4o", "vllm/llm-jp/llm-jp-3.1-13b"):
        for i in range(60):
            truth = rng.normal(3, 0.7)
            human = truth + rng.normal(0, 0.3)
            for judge in ("openai/gpt-4.1", "google/gemini-2.5-flash"):
                bonus = 0.6 if judge.startswith("openai") and cand.startswith("openai") else 0.0
                rows.append({"item": f"{cand}:{i}", "candidate": cand, "judge": judge,
                             "score": truth + bonus + rng.normal(0, 0.3), "human": human})
    frame = pd.DataFrame(rows)
    fam = {m: model_family(m) for m in set(frame.candidate) | set(frame.judge)}
    assert fam["openai/gpt-4o"] == fam["openai/gpt-4.1"] == "openai" and fam["google/gemini-2.5-flash"] == "google"
    out = {r["judge"]: r for r in self_preference(frame, fam, fam)}
    assert set(out) == {"openai/gpt-4.1"}  # gemini has no own-family candidate here
    r = out["openai/gpt-4.1"]
    assert r["vs_judges_difference"] == pytest.approx(0.6, abs=0.15) and r["vs_judges_p"] < 1e-6
    assert r["vs_humans_difference"] == pytest.approx(0.6, abs=0.15)
    wide = frame.pivot_table(index="item", columns="judge", values="score")
    panel = panel_scores(wide)
    assert panel["mean"].tolist() == pytest.approx(wide.mean(axis=1).tolist())
    assert 0 < inter_judge_alpha(wide) < 1


def test_model_family_lineage() -> None:
    assert model_family("vllm/tokyotech-llm/Llama-3-Swallow-8B-Instruct-v0.1") == "llama"
    assert model_family("hf/deepseek-ai/DeepSeek-R1-Distill-Qwen-32B") == "qwen"
    assert model_family("openai/o3-pro") == "openai"
    assert model_family("mockllm/judge-a") == "judge-a"
    assert model_family("mockllm/x", {"mockllm/x": "fam"}) == "fam"


def test_constant_score_has_no_slope_test() -> None:
    """A constant judge's slope is not 'significant' (statsmodels alone gives ~1e-15 with p < 0.001)."""
    rng = np.random.default_rng(5)
    n = 60
    frame = pd.DataFrame({"cand": np.repeat(["a", "b", "c"], n // 3), "score": 5.0,
                          "log_len": rng.normal(4.5, 0.4, n)})
    lc = length_controlled_means(frame, "cand", "score", "log_len", 4.5)
    assert lc["slope"] == 0.0 and lc["slope_p"] is None and lc["slope_se"] is None and "no p-value" in lc["note"]
    assert all(g["lc_mean"] == 5.0 and g["lc_ci_low"] is None for g in lc["groups"].values())
    # Constant within each candidate (the score is the candidate): no residual, no test either.
    within = frame.assign(score=frame["cand"].map({"a": 2.0, "b": 3.0, "c": 5.0}))
    assert length_controlled_means(within, "cand", "score", "log_len", 4.5)["slope_p"] is None
    dev = frame.assign(md=rng.integers(0, 2, n), dev=1.0)
    reg = deviation_regression(dev, "dev", ["log_len", "md"])
    assert reg["r2"] is None and all(c["p"] is None for c in reg["coefficients"]) and "constant" in reg["note"]


def test_welch_has_no_p_between_two_constants() -> None:
    from emplifai.scorers.agreement.panel import _welch

    assert _welch(np.array([1.0, 1, 1]), np.array([2.0, 2, 2])) is None
    a, b = np.array([1.0, 2, 3, 4]), np.array([2.0, 2, 2, 2])
    assert _welch(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
