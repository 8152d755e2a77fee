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
    raw_gap = lc[verbose]["raw_mean"] - human[verbose]["raw_mean"]
    lc_gap = abs(lc[verbose]["lc_mean"] - human[verbose]["raw_mean"])
    # Length control moves the judge most of the way to the humans (24 dialogues per candidate: noisy).
    assert lc_gap < 0.7 and lc_gap < 0.6 * raw_gap
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


def test_markdown_tables_are_valid(report) -> None:
    from tests.md_tables import table_problems, tables

    _, out = report
    md = (out / "audit.md").read_text(encoding="utf-8")
    assert len(tables(md)) >= 15 and table_problems(md) == []
    doc_md = (Path(__file__).resolve().parents[1] / "docs" / "audit.md").read_text(encoding="utf-8")
    assert table_problems(doc_md) == []
    # The checker itself catches the shape the old report wrote (an unescaped '|' in a header).
    assert table_problems("| a | b \\| c |\n|---|---|\n| 1 | 2 |") == []
    assert table_problems("| a | partial r | length |\n|---|---|\n| 1 | 2 |")


def test_page_answers_at_a_glance(report) -> None:
    doc, out = report
    md = (out / "audit.md").read_text(encoding="utf-8")
    page = (out / "audit.html").read_text(encoding="utf-8")
    header = "Rater type: crowd; alt-test epsilon 0.1 for crowd raters, the alt-test paper"
    assert header in md and header in page and "(Calderon et al. 2025: 0.2 expert, 0.15 skilled, 0.1 crowd)" in page
    # The grid comes first: before the verdict table, the rules and every detail section.
    assert md.index("## Verdicts, judge mockllm/sim-judge-a") < md.index("## Verdict per metric") < md.index(
        "## Verdict rules") < md.index("## Table 6 layout")
    assert page.index("id=grid") < page.index('id="verdicts"') < page.index("id=rules") < page.index("id=charts")
    assert "v-replace" in page and "v-assist" in page and "v-do-not-use" in page
    # Rules and caveats once, referenced elsewhere by key.
    assert md.count("replace: all of (1)") == 1 and page.count("replace: all of (1)") == 1
    assert md.count(doc["caveat_texts"]["noisy_reference"]) <= 1
    assert "Koo & Li 2016" in md and "Krippendorff 2004" in md and "Calderon" in md
    # Each pooled verdict cell shows n and the key figure.
    a = _pooled(doc, A)["fluency"]
    assert f"n {a['n']} · ICC {a['icc_a1']:.2f} · r {a['pearson_r']:.2f}" in md


def test_charts_jitter_integer_scores_and_read_length_ticks() -> None:
    import pandas as pd

    from emplifai.audit.charts import JITTER, length_figure, scatter_figure

    pts = pd.DataFrame({"candidate": ["c"] * 80, "sample_id": [f"s{i}" for i in range(80)],
                        "judge_score": [float(i % 5 + 1) for i in range(80)], "human": [3.0] * 80,
                        "chars": [40.0 + 5 * i for i in range(80)]})
    fig = scatter_figure(pts, "j", "fluency")
    xs = fig["data"][0]["x"]
    assert len(set(xs)) == 80 and max(abs(x - 3.0) for x in xs) <= JITTER  # 80 dialogues, 80 dots
    assert "judge 1, human 3.00" in fig["data"][0]["text"][0]  # exact values on hover
    ticks = length_figure(pts, "j", "fluency")["layout"]["xaxis"]
    assert ticks["type"] == "log" and ticks["ticktext"] == ["20", "50", "100", "200", "500", "1000"]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_page_height_before_the_charts(report) -> None:
    from playwright.sync_api import sync_playwright

    _, out = report
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page.goto((out / "audit.html").as_uri())
        top = page.evaluate("document.getElementById('charts').getBoundingClientRect().top + window.scrollY")
        grid_top = page.evaluate("document.getElementById('grid').getBoundingClientRect().top + window.scrollY")
        browser.close()
    assert grid_top < 400 and top < 8 * 900, top
