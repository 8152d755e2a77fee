"""The figures docs/audit.md quotes for the SIMULATED worked example are what its commands produce."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emplifai.audit.simulate import FAMILIES
from emplifai.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "audit.md"


def _doc_table(after: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index(after):]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    rows = []
    for line in lines[2:]:
        rows.append([c.strip() for c in line.strip("|").split("|")])
        if len(rows) > 20:
            break
    return rows


@pytest.mark.slow
def test_worked_example_figures(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    assert main(["audit", "simulate", "--out", str(sim)]) == 0
    assert main(["audit", "report", "--logs", str(sim / "logs"), "--pairwise-logs", str(sim / "pairwise"),
                 "--ratings", str(sim / "simulated_ratings.csv"), "--key", str(sim / "key.csv"),
                 "--out", str(sim / "audit"), "--family", *FAMILIES]) == 0
    check_figures(sim)


def check_figures(sim: Path) -> None:
    """The doc's figures against the report the doc's commands wrote under ``sim``."""
    doc = json.loads((sim / "audit" / "audit.json").read_text(encoding="utf-8"))
    pooled = {r["metric"]: r for r in doc["rows"] if r["judge"] == "mockllm/sim-judge-a" and r["candidate"] == "(all candidates)"}
    verdicts = _doc_table("Verdicts for judge A from")
    assert len([r for r in verdicts if r[0] in pooled]) == 7
    for metric, verdict, alt, omega, rho, icc_ci, r_ci, alpha in (r[:8] for r in verdicts if r[0] in pooled):
        row = pooled[metric]
        assert verdict == row["verdict"]
        assert alt == ("passed" if row["alt_test_passed"] else "failed")
        assert omega == f"{row['alt_test_winning_rate']:.2f}" and rho == f"{row['alt_test_advantage_probability']:.2f}"
        assert icc_ci == f"{row['icc_a1']:.2f} [{row['icc_a1_ci_low']:.2f}, {row['icc_a1_ci_high']:.2f}]"
        assert r_ci == f"{row['pearson_r']:.2f} [{row['pearson_ci_low']:.2f}, {row['pearson_ci_high']:.2f}]"
        assert alpha == f"{row['human_alpha']:.2f}"
    overall = pooled["overall"]
    assert f"judge A fails the alt-test although r is {overall['pearson_r']:.2f}" in " ".join(
        DOC.read_text(encoding="utf-8").split())
    assert f"(alpha {overall['human_alpha']:.2f})" in " ".join(DOC.read_text(encoding="utf-8").split())
    ge = next(e for e in doc["length"]["per_judge"] if e["judge"] == "mockllm/sim-judge-a" and e["metric"] == "general_empathy")
    lc, human = ge["length_controlled_judge"]["groups"], ge["length_controlled_human"]["groups"]
    names = {"cold": "mockllm/cold", "concise": "mockllm/concise", "verbose": "mockllm/verbose",
             "verbose [max_chars=120]": "mockllm/verbose [max_chars=120]"}
    for cand, raw, lcm, hraw in (r[:4] for r in _doc_table("| candidate | judge raw |") if r[0] in names):
        g = names[cand]
        assert [raw, lcm, hraw] == [f"{lc[g]['raw_mean']:.2f}", f"{lc[g]['lc_mean']:.2f}", f"{human[g]['raw_mean']:.2f}"]
    coef = {c["name"]: c for c in ge["deviation_regression"]["coefficients"]}["log_chars"]
    text = DOC.read_text(encoding="utf-8")
    flat = " ".join(text.split())  # the doc wraps lines anywhere
    assert f"{coef['estimate']:.2f} [{coef['ci_low']:.2f}, {coef['ci_high']:.2f}] per log-character" in flat
    cc = next(e for e in doc["length"]["per_judge"] if e["judge"] == "mockllm/sim-judge-a" and e["metric"] == "comprehensibility")
    c = {x["name"]: x for x in cc["deviation_regression"]["coefficients"]}["log_chars"]
    assert f"{c['estimate']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}] on comprehensibility" in flat
    [mc] = [m for m in doc["max_chars_vs_free"] if m["judge"] == "mockllm/sim-judge-a" and m["metric"] == "general_empathy"]
    assert (f"by {mc['judge_difference']:.2f} ({mc['free']['judge_mean']:.2f} to {mc['limited']['judge_mean']:.2f}, "
            f"{mc['free']['mean_chars']:.0f} to {mc['limited']['mean_chars']:.0f} characters per reply) while the "
            f"simulated raters move by {mc['human_difference']:.2f}") in flat
    prefs = {p["metric"]: p for p in doc["panels"]["self_preference"] if p["judge"] == "mockllm/sim-judge-b"}
    o, ge_pref = prefs["overall"], prefs["general_empathy"]
    assert f"are {o['vs_humans_difference']:.2f} higher on its own family's dialogues" in flat
    assert f"and B minus judge A is {o['vs_judges_difference']:.2f} higher" in flat
    assert f"on general empathy it reads {ge_pref['vs_judges_difference']:.2f} (p {ge_pref['vs_judges_p']:.3f})" in flat
    assert f"while against the humans it is {ge_pref['vs_humans_difference']:.2f}" in flat
    assert o["vs_humans_p"] < 0.001
    assert re.search(rf"human reference length \({doc['length']['reference_chars']:.0f} characters\)", flat)
    _check_pairwise_figures(doc, flat)


def _check_pairwise_figures(doc: dict, flat: str) -> None:
    """The pairwise paragraph: judge A compared vs judge A scoring, on the same pairs."""
    versus = {v["metric"]: v["difference"] for v in doc["pairwise"]["versus_absolute"]
              if v["absolute_judge"] == "mockllm/sim-judge-a"}
    rows = {r["metric"]: r for r in doc["pairwise"]["rows"]}
    ese, flu = versus["emotion_specific_empathy"], versus["fluency"]
    k = rows["emotion_specific_empathy"]
    assert (f"is {k['kappa']:.2f} [{k['kappa_ci'][0]:.2f}, {k['kappa_ci'][1]:.2f}] against {ese['second_kappa']:.2f} "
            f"for the same judge's absolute scores, a paired difference of {ese['difference']:.2f} "
            f"[{ese['ci'][0]:.2f}, {ese['ci'][1]:.2f}] (\"{ese['reading']}\")") in flat
    assert ese["reading"] == "pairwise agrees more"
    assert (f"the difference is {flu['difference']:.2f} [{flu['ci'][0]:.2f}, {flu['ci'][1]:.2f}] "
            f"(\"{flu['reading']}\")") in flat
    assert [c["used"] for c in doc["pairwise"]["coverage"]] == [40]
