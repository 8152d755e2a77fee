"""Pairwise judges against the preference people's absolute ratings imply, in the audit.

Where people rated both dialogues of a pair (each in a generation log they were given sheets of,
e.g. the candidate's run and a ``-T source=reference`` run of the same pairs), the higher-rated
dialogue is the one people preferred (``scorers/agreement/pairwise_preference``: the mean of its
raters, a tie within ``tie_margin``). That is compared, metric by metric, with:

- the pairwise judge's outcome of the pair (win / tie / loss; a position-inconsistent verdict is a
  tie, as in the pairwise task), and
- every absolute judge that scored both dialogues: the preference its two 1-5 scores imply, read
  by the same rule, so the two ways of judging are measured on the same pairs against the same
  people; the paired bootstrap difference of their kappas says whether one agrees more.

A pair is matched to rated dialogues by its sample id and exact dialogue text (paths move; text
does not). Only pairs the judge itself compared count: a format failure decided by rule, a
missing dialogue or an unusable verdict is counted, by reason, in the coverage table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from emplifai.audit.logs import AuditLogs
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.agreement.pairwise_preference import (
    PREFERENCE_RULE,
    PREFERENCE_SOURCES,
    implied_preference,
    kappa_difference,
    preference_agreement,
    preference_reading,
)

METHOD = ("pairwise: people's preference = the pair's dialogue with the higher mean rating on the metric (a tie "
          "within the tie margin); compared with the pairwise judge's outcome and with the preference each absolute "
          "judge's two scores imply (the same rule, margin 0: equal scores tie); agreement with ties, decisive "
          "agreement, and unweighted Cohen's kappa over win/tie/loss (sklearn) with 95% percentile bootstrap CIs over "
          "pairs (scipy, 2,000 resamples); pairwise vs absolute: paired bootstrap of the kappa difference; 'overall' "
          "is left out (the judge's overall is a mean of outcomes, not a preference); pairs found by sample id and "
          "exact dialogue text among the rated generation logs")


def _item_lookup(items: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(sample id, completion) -> the logs holding that dialogue, by name."""
    out: dict[tuple[str, str], list[str]] = {}
    for log, sid, text in zip(items["log"], items["sample_id"], items["completion"]):
        out.setdefault((str(sid), str(text)), []).append(str(log))
    return {k: sorted(v) for k, v in out.items()}


def _rated_item(logs_with_text: list[str], sid: str, rated: set[tuple[str, str]]) -> tuple[str, str] | None:
    """The first log (by name) whose copy of this dialogue people rated."""
    for log in logs_with_text:
        if (log, sid) in rated:
            return log, sid
    return None


def match_pairs(logs: AuditLogs, human: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """(judged pairs whose two dialogues people rated, with their item keys; coverage per pairwise log)."""
    pw = logs.pairwise
    lookup = _item_lookup(logs.items)
    rated = set(zip(human["log"], human["sample_id"]))
    keep, coverage = [], []
    for name, part in pw.groupby("pairwise_log", sort=True):
        counts = {"pairwise_log": name, "judge": part["judge"].iloc[0], "pairs": len(part),
                  "judged": int(part["judged"].sum()), "candidate_not_in_logs": 0, "baseline_not_in_logs": 0,
                  "not_rated": 0, "used": 0,
                  "not_judged": part.loc[~part["judged"], "why_not"].value_counts().to_dict()}
        for row in part[part["judged"]].to_dict("records"):
            sid = row["sample_id"]
            cand_logs = lookup.get((sid, row["candidate_text"]), [])
            base_logs = lookup.get((sid, row["baseline_text"]), [])
            counts["candidate_not_in_logs"] += not cand_logs
            counts["baseline_not_in_logs"] += not base_logs
            cand, base = _rated_item(cand_logs, sid, rated), _rated_item(base_logs, sid, rated)
            if cand_logs and base_logs and (cand is None or base is None):
                counts["not_rated"] += 1
            if cand is None or base is None or cand == base:
                continue
            counts["used"] += 1
            keep.append({**row, "candidate_item": cand, "baseline_item": base})
        coverage.append(counts)
    frame = pd.DataFrame(keep)
    if not frame.empty:  # the same judge on the same two dialogues twice (a re-run): counted once
        frame = frame.drop_duplicates(["judge", "candidate_item", "baseline_item"]).reset_index(drop=True)
    return frame, coverage


def _absolute(logs: AuditLogs) -> dict[str, dict[tuple[str, str, str], float]]:
    """Absolute judge -> {(log, sample id, metric): score} (the judges themselves, no panels)."""
    out: dict[str, dict[tuple[str, str, str], float]] = {}
    for judge, part in logs.scores.groupby("judge"):
        out[str(judge)] = {(lg, sid, m): float(v) for lg, sid, m, v in
                           zip(part["log"], part["sample_id"], part["metric"], part["judge_score"])}
    return out


def _agreement_row(judge: str, metric: str, outcomes: np.ndarray, hc: np.ndarray, hb: np.ndarray,
                   tie_margin: float) -> dict[str, Any]:
    res = preference_agreement(outcomes, hc, hb, tie_margin=tie_margin)
    return {"judge": judge, "metric": metric, **res.as_dict(), "reading": preference_reading(res)}


def _comparisons(judge: str, metric: str, part: pd.DataFrame, absolute: dict[str, dict[tuple[str, str, str], float]],
                 tie_margin: float, hc: np.ndarray, hb: np.ndarray) -> list[dict[str, Any]]:
    """Each absolute judge that scored both dialogues of some of these pairs, on those pairs."""
    human_pref = np.array([implied_preference(c, b, tie_margin) for c, b in zip(hc, hb)], dtype=float)
    rows = []
    for abs_judge, scores in sorted(absolute.items()):
        implied = np.array([
            implied_preference(scores.get((*c, metric), np.nan), scores.get((*b, metric), np.nan))
            for c, b in zip(part["candidate_item"], part["baseline_item"])], dtype=float)
        if np.isnan(implied).all():
            continue
        alone = _agreement_row(abs_judge, metric, implied, hc, hb, tie_margin)
        diff = kappa_difference(part[metric].to_numpy(dtype=float), implied, human_pref)
        rows.append({"pairwise_judge": judge, "absolute_judge": abs_judge, "metric": metric,
                     "absolute": alone, "difference": diff.as_dict()})
    return rows


def pairwise_section(logs: AuditLogs, human: pd.DataFrame, tie_margin: float = 0.0) -> dict[str, Any] | None:
    """The audit's pairwise part (None without pairwise logs): coverage, one agreement row per
    (pairwise judge, metric), and the comparison with each absolute judge on the same pairs.

    ``human``: the human mean per (log, sample_id, metric) (``analysis.human_means``).
    """
    if logs.pairwise.empty:
        return None
    pairs, coverage = match_pairs(logs, human)
    by_item = {(lg, sid, m): float(v) for lg, sid, m, v in
               zip(human["log"], human["sample_id"], human["metric"], human["human"])}
    absolute = _absolute(logs)
    rows: list[dict[str, Any]] = []
    versus: list[dict[str, Any]] = []
    for judge, part in ([] if pairs.empty else sorted(pairs.groupby("judge"), key=lambda kv: str(kv[0]))):
        for metric in METRIC_KEYS:
            hc = np.array([by_item.get((*c, metric), np.nan) for c in part["candidate_item"]], dtype=float)
            hb = np.array([by_item.get((*b, metric), np.nan) for b in part["baseline_item"]], dtype=float)
            rows.append(_agreement_row(str(judge), metric, part[metric].to_numpy(dtype=float), hc, hb, tie_margin))
            versus += _comparisons(str(judge), metric, part, absolute, tie_margin, hc, hb)
    return {"tie_margin": tie_margin, "coverage": coverage, "rows": rows, "versus_absolute": versus,
            "rule": PREFERENCE_RULE, "sources": PREFERENCE_SOURCES}
