"""Panels of judges and self-preference.

- A panel's score of a dialogue is the mean (or the median) of its judges' scores on it, over the
  dialogues every judge of the panel scored.
- Inter-judge agreement: Krippendorff's alpha (interval) with the judges as coders.
- Self-preference: for a judge J and the candidates of J's own model family, the per-dialogue
  difference d = J's score - the mean of the other judges (or - the human mean) is compared
  between J's own-family candidates and the other candidates (Welch's t-test, two-sided; no p when
  both sides are constant). A judge
  that prefers its own family shows a larger d on its own family's dialogues than on the others.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emplifai.scorers.agreement.reliability import krippendorff_alpha

# Lineage first: Swallow and MedLlama3 are Llama 3 fine-tunes, DeepSeek-R1-distill-Qwen is a Qwen.
_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"distill-qwen|qwen|qwq", "qwen"),
    (r"swallow|medllama|llama", "llama"),
    (r"gpt|(^|/)o[134](-|$)|openai", "openai"),
    (r"gemini|gemma|google", "google"),
    (r"claude|anthropic", "anthropic"),
    (r"deepseek", "deepseek"),
    (r"mistral|mixtral", "mistral"),
    (r"llm-jp", "llm-jp"),
    (r"smollm", "smollm"),
)


def model_family(model: str, overrides: dict[str, str] | None = None) -> str:
    """The model family of a model name (provider prefix ignored); the bare name when unknown."""
    if overrides and model in overrides:
        return overrides[model]
    name = model.lower()
    for pattern, family in _FAMILIES:
        if re.search(pattern, name):
            return family
    return name.split("/", 1)[-1] if "/" in name else name


def panel_scores(wide: pd.DataFrame) -> pd.DataFrame:
    """Rows = dialogues, columns = judges -> columns "mean" and "median" over the rows every judge scored."""
    complete = wide.dropna()
    return pd.DataFrame({"mean": complete.mean(axis=1), "median": complete.median(axis=1)})


def inter_judge_alpha(wide: pd.DataFrame) -> float | None:
    """Interval alpha with the judges (columns) as coders and the dialogues (rows) as units."""
    if wide.shape[1] < 2:
        return None
    return krippendorff_alpha(wide.to_numpy(float).T, "interval")


def _welch(a: np.ndarray, b: np.ndarray) -> float | None:
    """Welch's two-sided p; None with fewer than 2 values a side or no variance on either side (SciPy
    would give t = inf, p = 0: a 'significant' difference between two constants)."""
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats.ttest_ind(a, b, equal_var=False).pvalue
    return None if np.isnan(p) else float(p)


def self_preference(frame: pd.DataFrame, judge_family: dict[str, str], candidate_family: dict[str, str]) -> list[dict[str, Any]]:
    """Per judge with own-family candidates in ``frame`` (columns item, candidate, judge, score, human).

    ``human`` may be NaN where no rating exists. Returns one dict per judge whose family matches
    at least one candidate's and at least one other candidate.
    """
    wide = frame.pivot_table(index=["item", "candidate"], columns="judge", values="score", aggfunc="first")
    human = frame.groupby(["item", "candidate"])["human"].first()
    out: list[dict[str, Any]] = []
    for judge in wide.columns:
        fam = judge_family.get(judge)
        cands = wide.index.get_level_values("candidate")
        own = np.array([candidate_family.get(c) == fam for c in cands])
        if not own.any() or own.all():
            continue
        row: dict[str, Any] = {"judge": judge, "family": fam,
                               "own_candidates": sorted({c for c, o in zip(cands, own) if o})}
        others = wide.drop(columns=[judge])
        comparisons = {"vs_judges": others.mean(axis=1) if others.shape[1] else None, "vs_humans": human}
        for name, ref in comparisons.items():
            if ref is None:
                continue
            d = (wide[judge] - ref.reindex(wide.index)).to_numpy(float)
            ok = ~np.isnan(d)
            a, b = d[own & ok], d[~own & ok]
            if len(a) == 0 or len(b) == 0:
                continue
            row[f"{name}_own"] = float(a.mean())
            row[f"{name}_other"] = float(b.mean())
            row[f"{name}_difference"] = float(a.mean() - b.mean())
            row[f"{name}_p"] = _welch(a, b)
            row[f"{name}_n_own"], row[f"{name}_n_other"] = len(a), len(b)
        out.append(row)
    return out
