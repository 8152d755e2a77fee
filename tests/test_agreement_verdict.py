"""Verdict rules: each branch and each 'replace' gate, the rule written beside the verdict, the
degenerate cases (a constant judge on raters at the ceiling), and the paper's constant-score cell."""

from __future__ import annotations

import numpy as np
import pytest

from emplifai.audit.report import table6_cell
from emplifai.scorers.agreement import RULES, SOURCES, alt_test, modal_share, pair_agreement, verdict
from emplifai.scorers.agreement.verdict import (
    ASSIST_CI_LOW,
    ASSIST_MIN_R,
    NEAR_CONSTANT_SHARE,
    RATER_ALPHA_FLOOR,
    REPLACE_ICC_LOW,
)

GOOD = {"alt_applicable": True, "alt_passed": True, "r": 0.85, "r_ci_low": 0.78, "human_alpha": 0.75,
        "icc_ci_low": 0.7, "judge_modal_share": 0.35}


def test_replace_when_every_gate_passes() -> None:
    v = verdict(**GOOD)
    assert v["verdict"] == "replace" and v["verdict_rule"] == RULES["replace"]
    assert v["not_replace_because"] == [] and v["caveats"] == []


@pytest.mark.parametrize("change,reason", [
    ({"alt_applicable": False, "alt_passed": None}, "could not be run"),
    ({"alt_passed": False}, "failed the alt-test"),
    ({"judge_modal_share": NEAR_CONSTANT_SHARE}, "near-constant"),
    ({"judge_modal_share": 1.0}, "near-constant"),
    ({"human_alpha": RATER_ALPHA_FLOOR - 0.01}, "agree weakly among themselves"),
    ({"human_alpha": None}, "could not be measured"),
    ({"icc_ci_low": REPLACE_ICC_LOW - 0.01}, "ICC(A,1)'s 95% CI reaches"),
    ({"icc_ci_low": None}, "ICC(A,1) and its CI are undefined"),
])
def test_each_replace_gate_alone_blocks_replace(change: dict, reason: str) -> None:
    v = verdict(**{**GOOD, **change})
    assert v["verdict"] == "assist"  # r 0.85 [0.78, ...] still orders dialogues like the raters
    assert len(v["not_replace_because"]) == 1 and reason in v["not_replace_because"][0]
    if GOOD["alt_passed"] and change.get("alt_passed", True) and change.get("alt_applicable", True):
        assert "alt_test_passed_gate_failed" in v["caveats"]


def test_assist_needs_more_than_a_ci_clearing_zero() -> None:
    base = {**GOOD, "alt_passed": False}
    assert verdict(**{**base, "r": ASSIST_MIN_R, "r_ci_low": ASSIST_CI_LOW})["verdict"] == "assist"
    # The case: r 0.63 [0.10, 0.79] clears 0 but not the medium-correlation bound.
    assert verdict(**{**base, "r": 0.63, "r_ci_low": 0.10})["verdict"] == "do not use"
    assert verdict(**{**base, "r": ASSIST_MIN_R - 0.01, "r_ci_low": 0.4})["verdict"] == "do not use"
    v = verdict(**{**base, "r": None, "r_ci_low": None, "judge_modal_share": 1.0})
    assert v["verdict"] == "do not use" and "constant score orders nothing" in v["verdict_rule"]


def test_rules_name_their_sources() -> None:
    for key in ("alt_test", "near_constant", "rater_alpha", "icc"):
        assert f"[{key}]" in RULES["replace"] and key in SOURCES
    assert "[pearson]" in RULES["assist"]
    assert "Calderon" in SOURCES["alt_test"] and "Krippendorff 2004" in SOURCES["rater_alpha"]
    assert "Koo & Li 2016" in SOURCES["icc"]
    assert "noisy_reference" in verdict(**{**GOOD, "alt_passed": False, "human_alpha": 0.5})["caveats"]


def test_constant_judge_on_raters_at_the_ceiling_passes_the_alt_test_but_is_not_replace() -> None:
    """The issue's case and the EmplifAI paper's blind judge: raters near 5, a judge that says 5."""
    rng = np.random.default_rng(11)
    items = [f"d{i}" for i in range(60)]
    raters = {f"R{k}": {i: float(rng.choice([5, 5, 5, 5, 5, 4, 4, 3])) for i in items} for k in range(4)}
    judge = dict.fromkeys(items, 5.0)
    alt = alt_test(judge, raters, epsilon=0.1)
    assert alt.applicable and alt.passed  # the alt-test alone would say "replace"
    human = np.array([np.mean([raters[r][i] for r in raters]) for i in items])
    agree = pair_agreement(np.full(len(items), 5.0), human)
    assert agree.pearson_r is None and agree.judge_constant == 5.0
    v = verdict(alt_applicable=alt.applicable, alt_passed=alt.passed, r=agree.pearson_r,
                r_ci_low=agree.pearson_ci_low, human_alpha=0.8, icc_ci_low=None,
                judge_modal_share=modal_share(judge.values()))
    assert v["verdict"] == "do not use"
    assert any("near-constant: one score on 100%" in b for b in v["not_replace_because"])


def test_modal_share() -> None:
    assert modal_share([5, 5, 5, 4]) == 0.75 and modal_share([]) is None
    assert modal_share([1.0, 1, 2]) == pytest.approx(2 / 3)


def test_table6_cell_constant_branch() -> None:
    human = np.array([3.67, 4.0, 4.33, 3.33, 5.0, 4.67])
    row = pair_agreement(np.full(6, 5.0), human).as_dict()
    assert table6_cell(row) == f"judge = 5 (const), MAD {np.mean(5 - human):.2f}"
    row = pair_agreement([1, 2, 3, 4, 5], [2, 2, 2, 2, 2]).as_dict()
    assert table6_cell(row) == "human = 2 (const), MAD 1.40"  # (1 + 0 + 1 + 2 + 3) / 5
    row = pair_agreement([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]).as_dict()
    assert table6_cell(row) == "0.80 (0.104)"


def test_nan_figures_never_pass_a_gate() -> None:
    nan = float("nan")
    v = verdict(**{**GOOD, "icc_ci_low": nan})
    assert v["verdict"] != "replace" and any("undefined" in b for b in v["not_replace_because"])
    assert verdict(**{**GOOD, "alt_passed": False, "r": nan, "r_ci_low": nan})["verdict"] == "do not use"
    assert verdict(**{**GOOD, "human_alpha": nan})["verdict"] != "replace"
