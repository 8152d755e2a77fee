"""The verdict per metric: can the judge replace the raters, assist them, or not be used?

Each verdict carries the rule that produced it, in words, so a reader never has to guess.
"""

from __future__ import annotations

from typing import Any

REPLACE, ASSIST, DO_NOT_USE = "replace", "assist", "do not use"
ASSIST_MIN_R = 0.5
RELIABLE_ALPHA = 0.667  # Krippendorff's lowest level for tentative conclusions

RULES: dict[str, str] = {
    REPLACE: "replace: the alt-test was applicable (its minimum data met) and the judge passed it "
             "(winning rate >= 0.5 after Benjamini-Yekutieli)",
    ASSIST: f"assist: not 'replace', but Pearson r >= {ASSIST_MIN_R} with the lower end of its 95% bootstrap CI "
            "above 0: the judge orders dialogues like the raters, so it can pre-sort or flag, with humans deciding",
    DO_NOT_USE: "do not use: neither of the above (the judge failed the alt-test or it could not be run, and its "
                f"ordering agrees with the raters by r < {ASSIST_MIN_R}, not reliably above 0, or not at all; "
                "a judge with one constant score orders nothing)",
}


def verdict(alt_applicable: bool, alt_passed: bool | None, r: float | None, r_ci_low: float | None,
            human_alpha: float | None) -> dict[str, Any]:
    """The verdict, its rule, and the caveats that qualify it."""
    caveats: list[str] = []
    if alt_applicable and alt_passed:
        v = REPLACE
    elif r is not None and r >= ASSIST_MIN_R and r_ci_low is not None and r_ci_low > 0:
        v = ASSIST
        if not alt_applicable:
            caveats.append("the alt-test could not be run on these ratings, so 'replace' could not be considered")
    else:
        v = DO_NOT_USE
    if human_alpha is None:
        caveats.append("the raters' own agreement could not be measured")
    elif human_alpha < RELIABLE_ALPHA:
        caveats.append(f"the raters agree weakly among themselves (alpha {human_alpha:.2f} < {RELIABLE_ALPHA}): "
                       "the human reference is noisy and the verdict provisional")
    return {"verdict": v, "verdict_rule": RULES[v], "caveats": caveats}
