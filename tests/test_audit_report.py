"""The report on SIMULATED ratings recovers what was planted (emplifai/audit/simulate.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emplifai.audit.analysis import ALL, REQUIRED_KEYS
from emplifai.audit.simulate import FAMILIES, SELF_PREFERENCE
from emplifai.cli import main
from tests.audit_fixture import simulated

GOOD = ("comprehensibility", "consistency", "fluency", "harmlessness", "sense_of_security")
A, B = "mockllm/sim-judge-a", "mockllm/sim-judge-b"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[dict, Path]:
    from inspect_ai import eval as inspect_eval

    from emplifai.tasks.judge_probes import judge_probes

    sim = simulated(tmp_path_factory)
    out = tmp_path_factory.mktemp("audit-report")
    # A judge_probes log of judge A (mockllm answers no JSON: every probe unscored, which the report shows).
    [probe] = inspect_eval(judge_probes(n=1), model="mockllm/model", model_roles={"grader": "mockllm/sim-judge-a"},
                           log_dir=str(out / "probes"), display="none")
    assert probe.status == "success"
    assert main(["audit", "report", "--logs", str(sim["logs"]), "--probe-logs", str(out / "probes"), "--ratings",
                 str(sim["ratings"]), "--key", str(sim["key"]), "--out", str(out), "--rater-type", "crowd",
                 "--leaderboard", "../lb/leaderboard.html", "--family", *FAMILIES]) == 0
    return json.loads((out / "audit.json").read_text(encoding="utf-8")), out


def _pooled(doc: dict, judge: str) -> dict[str, dict]:
    return {r["metric"]: r for r in doc["rows"] if r["judge"] == judge and r["candidate"] == ALL}


def test_rows_have_the_required_keys(report) -> None:
    doc, _ = report
    assert doc["rows"] and all(set(REQUIRED_KEYS) <= set(r) for r in doc["rows"])
    cands = {r["candidate"] for r in doc["rows"]}
    assert {"mockllm/concise", "mockllm/verbose", "mockllm/cold", "mockllm/verbose [max_chars=120]", ALL} == cands
    judges = {r["judge"] for r in doc["rows"]}
    assert {A, B} < judges and any(j.startswith("panel mean") for j in judges) and any(j.startswith("panel median") for j in judges)
    assert doc["simulated"] is True and doc["epsilon"] == 0.1


def test_alt_test_recovers_the_planted_judges(report) -> None:
    doc, _ = report
    a = _pooled(doc, A)
    assert all(a[m]["alt_test_applicable"] for m in a)
    assert a["emotion_specific_empathy"]["alt_test_passed"] is False  # random judge
    assert a["emotion_specific_empathy"]["verdict"] == "do not use"
    assert a["general_empathy"]["alt_test_passed"] is False  # length-biased judge
    passed = [m for m in GOOD if a[m]["alt_test_passed"]]
    assert len(passed) >= 4, {m: a[m]["alt_test_winning_rate"] for m in GOOD}
    assert all(a[m]["verdict"] == "replace" for m in passed)
    # The random metric's advantage probability is the lowest of judge A's.
    assert a["emotion_specific_empathy"]["alt_test_advantage_probability"] == min(
        r["alt_test_advantage_probability"] for r in a.values())
    for r in doc["rows"]:
        assert r["verdict_rule"].startswith(r["verdict"])
    # Per candidate there are too few dialogues per rater (< 30): not applicable, and said so.
    small = [r for r in doc["rows"] if r["candidate"] == "mockllm/cold" and r["judge"] == A]
    assert all(not r["alt_test_applicable"] and r["alt_test_passed"] is None for r in small)
    assert any("(< 30)" in n for n in small[0]["alt_test_notes"])


def test_length_bias_recovered(report) -> None:
    doc, _ = report
    entry = {(e["judge"], e["metric"]): e for e in doc["length"]["per_judge"]}
    ge = entry[(A, "general_empathy")]
    coef = {c["name"]: c for c in ge["deviation_regression"]["coefficients"]}
    # Planted 1.5 per log-character; the 1..5 ceiling pulls the estimate down somewhat.
    assert coef["log_chars"]["ci_low"] > 0.5 and 0.9 < coef["log_chars"]["estimate"] < 1.8
    lc, human = ge["length_controlled_judge"]["groups"], ge["length_controlled_human"]["groups"]
    verbose = "mockllm/verbose"
    # Raw: the judge inflates the long candidate; at the human reference length it comes back near the humans.
    assert lc[verbose]["raw_mean"] - human[verbose]["raw_mean"] > 0.8
    assert abs(lc[verbose]["lc_mean"] - human[verbose]["raw_mean"]) < 0.6
    for metric in ("comprehensibility", "consistency"):  # nothing planted there
        c = {x["name"]: x for x in entry[(A, metric)]["deviation_regression"]["coefficients"]}
        assert abs(c["log_chars"]["estimate"]) < 0.5
    pooled = _pooled(doc, A)
    assert pooled["general_empathy"]["judge_length_rho"] > 0.4 > abs(pooled["general_empathy"]["human_length_rho"])
    free_vs_limited = [m for m in doc["max_chars_vs_free"] if m["judge"] == A and m["metric"] == "general_empathy"]
    assert len(free_vs_limited) == 1 and free_vs_limited[0]["judge_difference"] < -0.5
    assert abs(free_vs_limited[0]["human_difference"]) < 0.5


def test_reliability_panels_and_outputs(report) -> None:
    doc, out = report
    a = _pooled(doc, A)
    assert 0.3 < a["fluency"]["human_alpha"] < 0.9 and a["fluency"]["human_loro_r"] > 0.3
    assert a["fluency"]["judge_loro_r"] > a["fluency"]["human_loro_r"]  # planted: the judge is less noisy
    alpha = {(x["log"], x["metric"]): x["inter_judge_alpha"] for x in doc["panels"]["inter_judge_alpha"]}
    logs = {log for log, _ in alpha}
    assert len(logs) == 4
    for log in logs:  # A answers emotion-specific empathy at random, B does not: their lowest agreement
        assert alpha[(log, "emotion_specific_empathy")] < min(alpha[(log, m)] for m in GOOD)
    md = (out / "audit.md").read_text(encoding="utf-8")
    assert "SIMULATED RATINGS" in md and "Table 6 layout" in md and "| candidate | CC | GE | ESE |" in md
    assert "do not use: neither of the above" in md
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert 'href="../lb/leaderboard.html"' in page and "SIMULATED RATINGS" in page
    [p] = doc["probes"]
    assert p["judge"] == A and p["unscored"] > 0 and p["probe_accuracy"] is None
    assert "known-answer probes" in md and 'href="probes/' in page
    assert page.count('data-chart="scatter"') >= 8 and 'data-chart="bland-altman"' in page and 'data-chart="length"' in page


def test_self_preference_recovered(report) -> None:
    doc, _ = report
    prefs = {(p["judge"], p["metric"]): p for p in doc["panels"]["self_preference"]}
    assert {j for j, _ in prefs} == {B}  # judge A has no declared family among the candidates
    for metric in GOOD:
        p = prefs[(B, metric)]
        assert p["own_candidates"] == ["mockllm/verbose", "mockllm/verbose [max_chars=120]"]
        assert p["vs_humans_difference"] > 0.2 and p["vs_humans_p"] < 0.05
    overall = prefs[(B, "overall")]
    assert abs(overall["vs_humans_difference"] - SELF_PREFERENCE) < 0.25
    assert abs(overall["vs_judges_difference"] - SELF_PREFERENCE) < 0.35 and overall["vs_judges_p"] < 0.01
