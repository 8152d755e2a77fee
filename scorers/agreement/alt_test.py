"""The alternative annotator test (alt-test) of Calderon, Reichart and Dror (ACL 2025, arXiv 2501.10970).

Question: can the judge replace the human raters? Procedure, for one metric:

1. Items are dialogues with a judge score and at least ``min_raters_per_item`` (2) human ratings,
   so that leaving one rater out leaves at least one to compare with.
2. Leave rater j out. On each of j's items, the alignment of a score s with the remaining raters'
   scores a_1..a_m is S(s) = -sqrt(mean((s - a_k)^2)) (negative RMSE, the paper's choice for
   continuous labels). W_f = 1 if S(judge) >= S(rater j) else 0; W_h = 1 if S(rater j) >= S(judge)
   else 0 (a tie counts for both).
3. Per rater, a one-sided one-sample t-test (``scipy.stats.ttest_1samp``, alternative "less") of
   H0: mean(W_h - W_f) >= epsilon against H1: mean(W_h - W_f) < epsilon, i.e. the judge is at most
   epsilon less likely than rater j to be the better representative of the others. When every
   difference is the same the t statistic is undefined: p is taken as 0 if that value is below
   epsilon and 1 otherwise (the sample then leaves no doubt either way).
4. Benjamini-Yekutieli over the raters' p-values (``scipy.stats.false_discovery_control``,
   method "by"), rejections at q = 0.05. Winning rate omega = share of tested raters whose H0 is
   rejected. The judge passes when omega >= 0.5.
5. Advantage probability rho = mean over tested raters of mean(W_f): the chance that the judge is
   at least as good a representative as a rater; it compares judges (does not depend on epsilon).

Minimum data, checked and stated (the paper's guidance): a rater is tested only with at least
``min_items_per_rater`` (30) usable items (the t-test's normality); the test is applicable only
when at least ``min_raters`` (3) raters are tested (with two, "the others" is one person).
Small samples: with ``min_items_per_rater`` set below 30, a rater with fewer than 30 items is
tested with the Wilcoxon signed-rank test of d - epsilon (``scipy.stats.wilcoxon``, alternative
"less"), the authors' recommendation when the t-test's normality cannot be assumed (their FAQ);
``small_sample`` says that happened, and the audit's verdicts say so.
Epsilon: 0.2 expert raters, 0.15 skilled, 0.1 crowd workers (the paper's rule of thumb).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

EPSILON_BY_RATER_TYPE = {"expert": 0.2, "skilled": 0.15, "crowd": 0.1}
Q_FDR = 0.05
MIN_ITEMS_PER_RATER = 30
MIN_RATERS_PER_ITEM = 2
MIN_RATERS = 3
PASS_WINNING_RATE = 0.5


def alignment(score: float, others: list[float]) -> float:
    """Negative RMSE of ``score`` against the other raters' scores (higher = better aligned)."""
    return -math.sqrt(sum((score - a) ** 2 for a in others) / len(others))


def one_sided_p(d: np.ndarray, epsilon: float, test: str = "t") -> float:
    """p of H0: mean(d) >= epsilon vs H1: mean(d) < epsilon (see the module docstring for constant d);
    ``test`` "wilcoxon": the signed-rank test of d - epsilon (small samples; d - epsilon is never 0 for
    epsilon in (0, 1), as d is -1, 0 or 1)."""
    if test == "wilcoxon":
        return float(stats.wilcoxon(d - epsilon, alternative="less").pvalue)
    if np.all(d == d[0]):
        return 0.0 if d[0] < epsilon else 1.0
    return float(stats.ttest_1samp(d, epsilon, alternative="less").pvalue)


def benjamini_yekutieli(p_values: list[float], q: float = Q_FDR) -> tuple[list[float], list[bool]]:
    """BY-adjusted p-values and which hypotheses are rejected at FDR q."""
    if not p_values:
        return [], []
    adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=float), method="by")
    return [float(a) for a in adjusted], [bool(a <= q) for a in adjusted]


@dataclass
class AltTestResult:
    epsilon: float
    q: float
    applicable: bool
    passed: bool | None
    winning_rate: float | None
    advantage_probability: float | None
    n_items: int
    n_raters_tested: int
    rules: str
    small_sample: bool = False
    reasons: list[str] = field(default_factory=list)
    per_rater: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rules_text(epsilon: float, q: float = Q_FDR, min_items: int = MIN_ITEMS_PER_RATER,
               min_raters: int = MIN_RATERS, min_per_item: int = MIN_RATERS_PER_ITEM) -> str:
    small = (f" (Wilcoxon signed-rank test instead for raters with {min_items}-{MIN_ITEMS_PER_RATER - 1} items: the "
             "authors' small-sample procedure)" if min_items < MIN_ITEMS_PER_RATER else "")
    return (f"alt-test (Calderon, Reichart & Dror 2025): items with a judge score and >= {min_per_item} raters; "
            f"raters with >= {min_items} such items are tested; applicable with >= {min_raters} tested raters; "
            f"per rater one-sided t-test of mean(W_h - W_f) < epsilon = {epsilon:g}{small}; Benjamini-Yekutieli at "
            f"q = {q:g}; passed when the winning rate >= {PASS_WINNING_RATE:g}")


def alt_test(
    judge: Mapping[Any, float],
    humans: Mapping[str, Mapping[Any, float]],
    *,
    epsilon: float,
    q: float = Q_FDR,
    min_items_per_rater: int = MIN_ITEMS_PER_RATER,
    min_raters_per_item: int = MIN_RATERS_PER_ITEM,
    min_raters: int = MIN_RATERS,
) -> AltTestResult:
    """Run the alt-test of ``judge`` ({item: score}) against ``humans`` ({rater: {item: score}})."""
    judge = {k: float(v) for k, v in judge.items() if v is not None and not math.isnan(float(v))}
    raters_of: dict[Any, list[str]] = {}
    for rater, items in humans.items():
        for item, v in items.items():
            if v is not None and not math.isnan(float(v)):
                raters_of.setdefault(item, []).append(rater)
    usable = {i for i, rs in raters_of.items() if len(rs) >= min_raters_per_item and i in judge}
    rules = rules_text(epsilon, q, min_items_per_rater, min_raters, min_raters_per_item)
    reasons: list[str] = []
    per: list[dict[str, Any]] = []
    for rater in sorted(humans):
        items = sorted((i for i in humans[rater] if i in usable), key=str)
        if len(items) < min_items_per_rater:
            reasons.append(f"rater {rater} not tested: {len(items)} usable items (< {min_items_per_rater})")
            continue
        w_f, w_h = [], []
        for item in items:
            rest = [float(humans[o][item]) for o in raters_of[item] if o != rater]
            s_f, s_h = alignment(judge[item], rest), alignment(float(humans[rater][item]), rest)
            w_f.append(1.0 if s_f >= s_h else 0.0)
            w_h.append(1.0 if s_h >= s_f else 0.0)
        d = np.asarray(w_h) - np.asarray(w_f)
        test = "t" if len(items) >= MIN_ITEMS_PER_RATER else "wilcoxon"
        per.append({"rater_id": rater, "n_items": len(items), "rho_judge": float(np.mean(w_f)),
                    "rho_rater": float(np.mean(w_h)), "mean_d": float(d.mean()), "test": test,
                    "p": one_sided_p(d, epsilon, test)})
    adjusted, rejected = benjamini_yekutieli([p["p"] for p in per], q)
    for p, adj, rej in zip(per, adjusted, rejected):
        p["p_by"] = adj
        p["judge_wins"] = rej
    n_tested = len(per)
    applicable = n_tested >= min_raters
    if not applicable:
        reasons.append(f"not applicable: {n_tested} rater(s) tested, the test needs >= {min_raters}")
    omega = float(np.mean(rejected)) if per else None
    rho = float(np.mean([p["rho_judge"] for p in per])) if per else None
    return AltTestResult(
        epsilon=epsilon, q=q, applicable=applicable,
        passed=(omega is not None and omega >= PASS_WINNING_RATE) if applicable else None,
        winning_rate=omega, advantage_probability=rho, n_items=len(usable), n_raters_tested=n_tested,
        rules=rules, reasons=reasons, per_rater=per, small_sample=any(p["test"] == "wilcoxon" for p in per),
    )
