"""Verdict rules: each branch, its rule written beside it, and the paper's constant-score cell."""

from __future__ import annotations

import numpy as np

from emplifai.audit.report import table6_cell
from emplifai.scorers.agreement import RULES, pair_agreement, verdict


def test_each_branch_and_its_rule() -> None:
    v = verdict(True, True, 0.2, -0.1, 0.8)
    assert v["verdict"] == "replace" and v["verdict_rule"] == RULES["replace"] and v["caveats"] == []
    v = verdict(True, False, 0.62, 0.41, 0.8)
    assert v["verdict"] == "assist" and v["verdict_rule"].startswith("assist: not 'replace', but Pearson r >= 0.5")
    v = verdict(False, None, 0.62, 0.41, 0.5)
    assert v["verdict"] == "assist"
    assert any("could not be run" in c for c in v["caveats"]) and any("provisional" in c for c in v["caveats"])
    assert verdict(True, False, 0.62, -0.05, 0.8)["verdict"] == "do not use"  # CI reaches 0
    assert verdict(True, False, 0.45, 0.2, 0.8)["verdict"] == "do not use"  # r below 0.5
    v = verdict(False, None, None, None, None)  # constant judge: no r at all
    assert v["verdict"] == "do not use" and "constant score orders nothing" in v["verdict_rule"]
    assert any("could not be measured" in c for c in v["caveats"])


def test_table6_cell_constant_branch() -> None:
    human = np.array([3.67, 4.0, 4.33, 3.33, 5.0, 4.67])
    row = pair_agreement(np.full(6, 5.0), human).as_dict()
    assert table6_cell(row) == f"judge = 5 (const), MAD {np.mean(5 - human):.2f}"
    row = pair_agreement([1, 2, 3, 4, 5], [2, 2, 2, 2, 2]).as_dict()
    assert table6_cell(row) == "human = 2 (const), MAD 1.40"  # (1 + 0 + 1 + 2 + 3) / 5
    row = pair_agreement([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]).as_dict()
    assert table6_cell(row) == "0.80 (0.104)"
