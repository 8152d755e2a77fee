"""The verdict per metric: can the judge replace the raters, assist them, or not be used?

Each verdict carries the rule that produced it, in words, with the source of every threshold, and
the reasons a stronger verdict was refused, so a reader never has to guess. The gates hold in the
degenerate cases: a judge that gives (almost) one score to everything is never ``replace``, whatever
the alt-test says (with raters near the ceiling a constant judge "wins" the alt-test: the EmplifAI
paper's blind judge, which gave GPT-o3-pro about 5 on every metric); nor is any judge when the raters
do not agree among themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

REPLACE, ASSIST, DO_NOT_USE = "replace", "assist", "do not use"
VERDICTS = (REPLACE, ASSIST, DO_NOT_USE)

# Thresholds, each with where it comes from (printed beside the verdicts).
NEAR_CONSTANT_SHARE = 0.9
RATER_ALPHA_FLOOR = 0.667
REPLACE_ICC_LOW = 0.5
ASSIST_MIN_R = 0.5
ASSIST_CI_LOW = 0.3

SOURCES: dict[str, str] = {
    "alt_test": "Calderon, Reichart & Dror 2025, 'The Alternative Annotator Test for LLM-as-a-Judge' (ACL; "
                "arXiv 2501.10970): epsilon 0.2 expert / 0.15 skilled / 0.1 crowd raters, >= 30 items per "
                "tested rater, >= 3 raters",
    "near_constant": f"this project's rule: the judge's most frequent score covers >= {NEAR_CONSTANT_SHARE:.0%} of "
                     "the dialogues (or all of them); such a judge separates almost nothing, and with raters near "
                     "the ceiling it passes the alt-test by agreeing with their mode (the EmplifAI paper's blind "
                     "judge: about 5 on every metric for GPT-o3-pro)",
    "rater_alpha": f"Krippendorff 2004 (Content Analysis, 2nd ed., chapter on reliability): alpha >= {RATER_ALPHA_FLOOR} is the "
                   "lowest level for tentative conclusions; below it the human reference itself is unreliable",
    "icc": f"Koo & Li 2016 (J. Chiropractic Medicine 15:155): ICC below {REPLACE_ICC_LOW} is poor reliability, and "
           "the level is read off the 95% CI, not the point estimate",
    "pearson": f"Cohen 1988: r {ASSIST_MIN_R} is a large correlation, {ASSIST_CI_LOW} a medium one; the EmplifAI "
               "paper reports its judge at r 0.37-0.79 where r was defined",
}

RULES: dict[str, str] = {
    REPLACE: ("replace: all of (1) the alt-test was applicable (its minimum data met) and the judge passed it "
              "(winning rate >= 0.5 after Benjamini-Yekutieli) [alt_test]; (2) the judge is not near-constant "
              f"[near_constant]; (3) the raters' own alpha (interval) >= {RATER_ALPHA_FLOOR} [rater_alpha]; (4) the "
              f"lower end of the 95% CI of ICC(A,1), judge vs human mean, >= {REPLACE_ICC_LOW} [icc]"),
    ASSIST: (f"assist: not 'replace', but Pearson r >= {ASSIST_MIN_R} and the lower end of its 95% bootstrap CI "
             f">= {ASSIST_CI_LOW} [pearson]: the judge orders dialogues like the raters, so it can pre-sort or flag, "
             "with people deciding"),
    DO_NOT_USE: ("do not use: neither of the above (no 'replace' gate passed in full, and the judge's ordering "
                 f"agrees with the raters by r < {ASSIST_MIN_R}, with a CI reaching below {ASSIST_CI_LOW}, or not "
                 "at all: a judge with one constant score orders nothing)"),
}

# Caveats, stated once in the report and referenced by key from each verdict.
CAVEATS: dict[str, str] = {
    "alt_test_passed_gate_failed": "the judge passed the alt-test, but another 'replace' gate failed (see 'why not "
                                   "replace'): the alt-test alone does not make a judge a substitute",
    "small_sample": "some raters had fewer than 30 items and were tested with the Wilcoxon signed-rank test (the "
                    "alt-test authors' small-sample procedure): less power, and the authors advise more items",
    "noisy_reference": f"the raters' own alpha is below {RATER_ALPHA_FLOOR}: the human reference is noisy, so the "
                       "verdict is provisional",
}


def modal_share(scores: Iterable[float]) -> float | None:
    """Share of the dialogues that got the judge's most frequent score (None without scores)."""
    counts = Counter(float(s) for s in scores)
    total = sum(counts.values())
    return max(counts.values()) / total if total else None


def is_near_constant(share: float | None) -> bool:
    return share is not None and share >= NEAR_CONSTANT_SHARE


def _replace_blockers(alt_applicable: bool, alt_passed: bool | None, judge_modal_share: float | None,
                      human_alpha: float | None, icc_ci_low: float | None) -> list[str]:
    """Why 'replace' is refused: one reason per failed gate (empty = replace)."""
    out = []
    if not alt_applicable:
        out.append("the alt-test could not be run on these ratings (its minimum data not met)")
    elif not alt_passed:
        out.append("the judge failed the alt-test")
    if judge_modal_share is None:
        out.append("the judge scored no rated dialogue")
    elif is_near_constant(judge_modal_share):
        out.append(f"the judge is near-constant: one score on {judge_modal_share:.0%} of the dialogues "
                   f"(>= {NEAR_CONSTANT_SHARE:.0%})")
    if human_alpha is None or human_alpha != human_alpha:
        out.append("the raters' own agreement could not be measured")
    elif human_alpha < RATER_ALPHA_FLOOR:
        out.append(f"the raters agree weakly among themselves (alpha {human_alpha:.2f} < {RATER_ALPHA_FLOOR})")
    if icc_ci_low is None or icc_ci_low != icc_ci_low:  # None or NaN: no interval, no pass
        out.append("ICC(A,1) and its CI are undefined (a side without variance, or too few dialogues)")
    elif icc_ci_low < REPLACE_ICC_LOW:
        out.append(f"ICC(A,1)'s 95% CI reaches {icc_ci_low:.2f} (< {REPLACE_ICC_LOW})")
    return out


def verdict(*, alt_applicable: bool, alt_passed: bool | None, r: float | None, r_ci_low: float | None,
            human_alpha: float | None, icc_ci_low: float | None, judge_modal_share: float | None,
            alt_small_sample: bool = False) -> dict[str, Any]:
    """The verdict, its rule, why no stronger verdict was given, and the keys of the caveats (``CAVEATS``)."""
    blockers = _replace_blockers(alt_applicable, alt_passed, judge_modal_share, human_alpha, icc_ci_low)
    caveats: list[str] = []
    if not blockers:
        v = REPLACE
    elif r is not None and r >= ASSIST_MIN_R and r_ci_low is not None and r_ci_low >= ASSIST_CI_LOW:
        v = ASSIST
    else:
        v = DO_NOT_USE
    if v != REPLACE and alt_applicable and alt_passed:
        caveats.append("alt_test_passed_gate_failed")
    if alt_small_sample and alt_applicable:
        caveats.append("small_sample")
    if human_alpha is not None and human_alpha < RATER_ALPHA_FLOOR and v != DO_NOT_USE:
        caveats.append("noisy_reference")
    return {"verdict": v, "verdict_rule": RULES[v], "not_replace_because": blockers, "caveats": caveats}
