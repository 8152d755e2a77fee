"""Pairwise logs read for the audit: one row per pair a pairwise judge compared (first epoch).

A pair is the candidate's dialogue and the baseline's for one (emotion, situation): the texts are
kept, because the audit finds the rated dialogues by them (``pairwise_audit``), not by paths that
may have moved since the pairwise run.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.log import EvalLog

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.pairwise_judge import BASELINE_DIALOGUE

PAIRWISE = "pairwise"
SCORER = "pairwise_judge"


def _outcome(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if out in (0.0, 0.5, 1.0) else math.nan


def _why_not_judged(score: Any) -> str:
    """Why a pair has no preference of the judge: the reason its score records (unscored, format)."""
    if score is None:
        return "no pairwise_judge score"
    return str((score.metadata or {}).get("unscored_reason") or score.reason
               or "format failure decided without the judge")


def pairwise_rows(log: EvalLog, name: str, grader: str | None) -> list[dict[str, Any]]:
    """One row per first-epoch sample: texts, sources, whether the judge compared the pair, and its
    outcome per metric (NaN when it did not: a missing dialogue, a format failure decided without
    the judge, or no usable verdict; ``why_not`` says which)."""
    rows = []
    for sample in log.samples or []:
        if sample.epoch != 1:
            continue
        md = sample.metadata or {}
        score = (sample.scores or {}).get(SCORER)
        meta = (score.metadata or {}) if score is not None else {}
        value = score.value if score is not None and isinstance(score.value, dict) else {}
        judged = bool(meta.get("judged"))
        why_not = "" if judged else _why_not_judged(score)
        rows.append({
            "pairwise_log": name, "sample_id": str(sample.id), "judge": str(meta.get("judge_model") or grader or "?"),
            "candidate_text": sample.output.completion if sample.output else "",
            "baseline_text": md.get(BASELINE_DIALOGUE) or "",
            "candidate_source": md.get("candidate_source"), "baseline_source": md.get("baseline_source"),
            "judged": judged, "why_not": why_not,
            **{k: (_outcome(value.get(k)) if judged else math.nan) for k in METRIC_KEYS},
        })
    return rows
