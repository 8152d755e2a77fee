"""The audit itself: judges' scores beside the human ratings, per (candidate, judge, metric).

Definitions used throughout (also printed in the report, ``METHOD``):

- human score of a dialogue = mean of its raters' scores; "overall" per rater = mean of that
  rater's seven scores of the dialogue (only when the rater gave all seven), as the judge's is.
  Both are computed exactly (integer sums, ``fractions.Fraction``) and rounded to a float once, so
  dialogues with equal rating sets get equal values (float sums split ties: Spearman, Kendall and
  ordinal alpha moved in the third decimal);
- a row "(all candidates)" pools every rated dialogue a judge scored: its verdict is the verdict
  for that judge and metric;
- a panel = the judges that scored the same log; its score of a dialogue is their mean (or median).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from emplifai.audit.logs import COVARIATE_NOTES, METRICS, OVERALL, AuditLogs
from emplifai.audit.pairwise_audit import METHOD as PAIRWISE_METHOD
from emplifai.audit.pairwise_audit import pairwise_section
from emplifai.audit.ratings import Ratings
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.agreement import (
    CAVEATS,
    EPSILON_BY_RATER_TYPE,
    RULES,
    SOURCES,
    alt_test,
    deviation_regression,
    icc_a1,
    inter_judge_alpha,
    length_controlled_means,
    length_correlation,
    modal_share,
    model_family,
    pair_agreement,
    pair_alpha,
    partial_correlation,
    quadratic_kappa,
    rater_reliability,
    self_preference,
    verdict,
)
from emplifai.scorers.agreement.alt_test import MIN_ITEMS_PER_RATER, rules_text

ALL = "(all candidates)"
REQUIRED_KEYS = ("candidate", "judge", "metric", "n", "pearson_r", "krippendorff_alpha", "human_alpha",
                 "alt_test_passed", "verdict")


def clean(value: Any) -> Any:
    """NaN -> None and numpy scalars -> Python, recursively (for JSON)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def human_scores(ratings: pd.DataFrame) -> pd.DataFrame:
    """Ratings plus each rater's "overall" (mean of their seven scores of a dialogue, when complete).

    Columns ``num`` / ``den`` hold each score exactly (a rating n / 1, an overall sum / 7); ``score``
    is num / den as a float, for display and regressions. Exact means: ``human_means``.
    """
    base = ratings[["log", "sample_id", "candidate", "rater_id", "metric", "score"]].assign(
        num=lambda d: d["score"].astype("int64"), den=1)
    wide = ratings.pivot_table(index=["log", "sample_id", "candidate", "rater_id"], columns="metric",
                               values="score", aggfunc="first")
    complete = wide.reindex(columns=list(METRIC_KEYS)).dropna()
    total = complete.sum(axis=1).astype("int64")  # integer scores: the sum is exact
    overall = total.rename("num").reset_index().assign(den=len(METRIC_KEYS), metric=OVERALL)
    overall["score"] = overall["num"] / overall["den"]
    return pd.concat([base, overall[base.columns]], ignore_index=True)


def human_means(hs: pd.DataFrame) -> pd.DataFrame:
    """(log, sample_id, metric, human): the mean of a dialogue's raters, exact until one final division
    (equal rating sets give bit-equal means)."""
    g = hs.groupby(["log", "sample_id", "metric"]).agg(num=("num", "sum"), n=("num", "size"), den=("den", "first"))
    human = [float(Fraction(int(a), int(b) * int(c))) for a, b, c in zip(g["num"], g["n"], g["den"])]
    return g.assign(human=human)[["human"]].reset_index()


def exact_mean(values: list[Fraction]) -> float:
    return float(sum(values, Fraction(0)) / len(values))


def judge_table(logs: AuditLogs) -> pd.DataFrame:
    """Judge scores (log, sample_id, candidate, judge, metric, judge_score), panels added."""
    scores = logs.scores.merge(logs.items[["log", "sample_id", "candidate"]], on=["log", "sample_id"])
    frames = [scores[["log", "sample_id", "candidate", "judge", "metric", "judge_score"]]]
    for _log, part in scores.groupby("log"):
        judges = sorted(part["judge"].unique())
        if len(judges) < 2:
            continue
        wide = part.pivot_table(index=["log", "sample_id", "candidate", "metric"], columns="judge",
                                values="judge_score", aggfunc="first").dropna()
        members = " + ".join(judges)
        for how in ("mean", "median"):
            agg = (wide.mean(axis=1) if how == "mean" else wide.median(axis=1)).rename("judge_score").reset_index()
            frames.append(agg.assign(judge=f"panel {how} ({members})"))
    return pd.concat(frames, ignore_index=True)


def _row(candidate: str, judge: str, metric: str, judge_by_item: dict[str, float],
         raters: dict[str, dict[str, Fraction]], lengths: dict[str, tuple[float, float]], epsilon: float,
         min_items: int) -> dict[str, Any]:
    """All statistics of one (candidate, judge, metric) cell: the judge's scores by item and the
    raters' exact scores ({rater: {item: score}}) of the same dialogues."""
    by_item: dict[str, list[Fraction]] = {}
    for scores in raters.values():
        for item, v in scores.items():
            by_item.setdefault(item, []).append(v)
    common = sorted(set(judge_by_item) & set(by_item))
    js = np.array([judge_by_item[i] for i in common], dtype=float)
    hs = np.array([exact_mean(by_item[i]) for i in common], dtype=float)
    as_float = {r: {i: float(v) for i, v in got.items()} for r, got in raters.items()}
    agree = pair_agreement(js, hs)
    rel = rater_reliability(as_float, judge_by_item)
    alt = alt_test(judge_by_item, as_float, epsilon=epsilon, min_items_per_rater=min_items)
    icc = icc_a1(np.column_stack([js, hs])) if len(js) else icc_a1(np.empty((0, 2)))
    share = modal_share(js)
    v = verdict(alt_applicable=alt.applicable, alt_passed=alt.passed, r=agree.pearson_r,
                r_ci_low=agree.pearson_ci_low, human_alpha=rel.alpha_interval, icc_ci_low=icc.ci_low,
                judge_modal_share=share, alt_small_sample=alt.small_sample)
    return {
        "candidate": candidate, "judge": judge, "metric": metric, "n": agree.n,
        "n_judged": len(judge_by_item), "n_raters": rel.n_raters, "n_ratings": rel.n_ratings,
        **{k: val for k, val in agree.as_dict().items() if k != "n"},
        "judge_modal_share": share,
        "krippendorff_alpha": pair_alpha(js, hs, "interval"),
        "krippendorff_alpha_ordinal": pair_alpha(js, hs, "ordinal"),
        "quadratic_kappa": quadratic_kappa(js, hs),
        "icc_a1": icc.icc_a1, "icc_a1_ci_low": icc.ci_low, "icc_a1_ci_high": icc.ci_high, "icc_ak": icc.icc_ak,
        "human_alpha": rel.alpha_interval, "human_alpha_ordinal": rel.alpha_ordinal,
        "human_loro_r": rel.loro_r, "judge_loro_r": rel.judge_loro_r,
        "alt_test_applicable": alt.applicable, "alt_test_passed": alt.passed,
        "alt_test_winning_rate": alt.winning_rate, "alt_test_advantage_probability": alt.advantage_probability,
        "alt_test_epsilon": alt.epsilon, "alt_test_n_items": alt.n_items, "alt_test_raters_tested": alt.n_raters_tested,
        "alt_test_notes": alt.reasons, "alt_test_per_rater": alt.per_rater,
        "alt_test_small_sample": alt.small_sample,
        **_length_cells(js, hs, [lengths.get(i, (np.nan, np.nan)) for i in common]),
        "per_rater": rel.per_rater,
        **v,
    }


def _length_cells(js: np.ndarray, hs: np.ndarray, lengths: list[tuple[float, float]]) -> dict[str, Any]:
    chars = np.array([c for c, _ in lengths], dtype=float)
    log_chars = np.array([lc for _, lc in lengths], dtype=float)
    jl, hl = length_correlation(js, chars), length_correlation(hs, chars)
    part = partial_correlation(js, hs, log_chars)
    return {"judge_length_rho": jl["rho"], "judge_length_p": jl["p"], "human_length_rho": hl["rho"],
            "human_length_p": hl["p"], "partial_r_given_length": part["r"], "partial_p_given_length": part["p"]}


def _length_section(jt: pd.DataFrame, hs: pd.DataFrame, items: pd.DataFrame) -> dict[str, Any]:
    ref = items["reference_chars"].dropna()
    ref_log = float(np.log(ref).mean()) if len(ref) else float(items["log_chars"].dropna().median())
    out: dict[str, Any] = {
        "reference_chars": float(math.exp(ref_log)),
        "reference_source": "geometric mean characters per supporter reply of the dataset's own dialogues for these "
                            "situations (sample metadata reference_turns)" if len(ref) else
                            "no reference dialogues in the logs: median length of the judged replies",
        "covariates": COVARIATE_NOTES, "per_judge": [],
    }
    human_mean = human_means(hs)
    for judge, part in jt.groupby("judge"):
        for metric in METRICS:
            m = part[part["metric"] == metric].merge(items, on=["log", "sample_id", "candidate"])
            if m.empty:
                continue
            lc = length_controlled_means(m, "candidate", "judge_score", "log_chars", ref_log)
            rated = m.merge(human_mean[human_mean["metric"] == metric], on=["log", "sample_id"])
            rated = rated.assign(deviation=rated["judge_score"] - rated["human"])
            reg = deviation_regression(rated, "deviation", ["log_chars", "markdown", "politeness"]) if len(rated) else None
            hlc = length_controlled_means(rated, "candidate", "human", "log_chars", ref_log) if len(rated) else None
            out["per_judge"].append({"judge": judge, "metric": metric, "length_controlled_judge": lc,
                                     "length_controlled_human": hlc, "deviation_regression": reg})
    return out


def _max_chars_section(jt: pd.DataFrame, hs: pd.DataFrame, items: pd.DataFrame, logs: AuditLogs) -> list[dict[str, Any]]:
    """Free vs max_chars-limited runs of the same model (other task arguments equal) under the same judge.

    Means are over each log's own dialogues (judge: every judged one; humans: the rated ones).
    """
    out: list[dict[str, Any]] = []
    judge_mean = jt.groupby(["log", "judge", "metric"])["judge_score"].mean()
    judge_n = jt.dropna(subset=["judge_score"]).groupby(["log", "judge", "metric"]).size()
    human_mean = human_means(hs).groupby(["log", "metric"])["human"].mean()
    chars = items.groupby("log")["chars"].mean()

    def rest_of(args: dict[str, Any]) -> str:
        return repr(sorted((k, str(v)) for k, v in args.items() if k != "max_chars"))

    runs = [(name, info["model"], info["task_args"].get("max_chars"), rest_of(info["task_args"]))
            for name, info in sorted(logs.logs.items())]
    for lim_log, model, limit, rest in runs:
        if limit is None:
            continue
        for free_log in [n for n, m, lim, r in runs if m == model and lim is None and r == rest]:
            judges = set(jt.loc[jt["log"] == free_log, "judge"]) & set(jt.loc[jt["log"] == lim_log, "judge"])
            for judge in sorted(judges):
                for metric in METRICS:
                    side = {label: {"log": log, "judge_mean": judge_mean.get((log, judge, metric)),
                                    "human_mean": human_mean.get((log, metric)), "mean_chars": chars.get(log),
                                    "n": int(judge_n.get((log, judge, metric), 0))}
                            for label, log in (("free", free_log), ("limited", lim_log))}
                    f_, l_ = side["free"], side["limited"]
                    out.append({"model": model, "judge": judge, "metric": metric, "max_chars": limit, **side,
                                "judge_difference": l_["judge_mean"] - f_["judge_mean"],
                                "human_difference": None if f_["human_mean"] is None or l_["human_mean"] is None
                                else l_["human_mean"] - f_["human_mean"]})
    return out


def _panels(jt: pd.DataFrame, logs: AuditLogs, families: dict[str, str], hs: pd.DataFrame) -> dict[str, Any]:
    raw = logs.scores.merge(logs.items[["log", "sample_id", "candidate"]], on=["log", "sample_id"])
    alphas = []
    for log, part in raw.groupby("log"):
        judges = sorted(part["judge"].unique())
        if len(judges) < 2:
            continue
        for metric in METRICS:
            wide = part[part["metric"] == metric].pivot_table(index="sample_id", columns="judge", values="judge_score")
            alphas.append({"log": log, "metric": metric, "judges": judges, "inter_judge_alpha": inter_judge_alpha(wide)})
    human_mean = human_means(hs)
    pref = []
    if raw["judge"].nunique() >= 1:
        cand_model = {v["candidate"]: v["model"] for v in logs.logs.values()}
        fam = {**{j: model_family(j, families) for j in raw["judge"].unique()},
               **{c: model_family(m, families) for c, m in cand_model.items()}}
        for metric in METRICS:
            frame = raw[raw["metric"] == metric].merge(human_mean[human_mean["metric"] == metric],
                                                      on=["log", "sample_id", "metric"], how="left")
            frame = frame.assign(item=frame["log"] + "::" + frame["sample_id"], score=frame["judge_score"])
            for r in self_preference(frame, fam, fam):
                pref.append({"metric": metric, **r})
    return {"inter_judge_alpha": alphas, "self_preference": pref}


def check_knobs(rater_type: str, epsilon: float | None, min_items: int, tie_margin: float = 0.0) -> float:
    """The alt-test epsilon to use; a ``UserError`` naming the flag and its allowed range otherwise."""
    if rater_type not in EPSILON_BY_RATER_TYPE:
        raise UserError(f"--rater-type {rater_type!r}: expected one of {', '.join(EPSILON_BY_RATER_TYPE)}")
    if epsilon is not None and not (math.isfinite(epsilon) and 0 < epsilon < 1):
        raise UserError(f"--epsilon {epsilon:g}: must be in (0, 1), the tolerated drop in a rater's winning "
                        "probability (the alt-test paper uses 0.1 crowd, 0.15 skilled, 0.2 expert)")
    if min_items < 1:
        raise UserError(f"--min-items {min_items}: must be >= 1 (below {MIN_ITEMS_PER_RATER}, raters with fewer "
                        "items are tested with the Wilcoxon signed-rank test, the alt-test authors' small-sample "
                        "procedure)")
    if not (math.isfinite(tie_margin) and 0 <= tie_margin < 4):
        raise UserError(f"--pairwise-tie-margin {tie_margin:g}: must be in [0, 4) (a difference of human mean "
                        "ratings on the 1-5 scale within which people count as preferring neither)")
    return EPSILON_BY_RATER_TYPE[rater_type] if epsilon is None else float(epsilon)


def epsilon_reason(rater_type: str, epsilon: float | None) -> str:
    if epsilon is None:
        return (f"epsilon {EPSILON_BY_RATER_TYPE[rater_type]:g} for {rater_type} raters, the alt-test paper's value "
                "for that rater type (Calderon et al. 2025: 0.2 expert, 0.15 skilled, 0.1 crowd)")
    return (f"epsilon {epsilon:g} set with --epsilon (the alt-test paper's value for {rater_type} raters would be "
            f"{EPSILON_BY_RATER_TYPE[rater_type]:g})")


def run_audit(logs: AuditLogs, ratings: Ratings, *, rater_type: str = "crowd", epsilon: float | None = None,
              min_items: int = MIN_ITEMS_PER_RATER, families: dict[str, str] | None = None,
              tie_margin: float = 0.0) -> dict[str, Any]:
    """The whole audit as one JSON-ready document (``rows`` = one per (candidate, judge, metric);
    ``pairwise``: pairwise judges against people's implied preference, ``tie_margin`` apart)."""
    eps = check_knobs(rater_type, epsilon, min_items, tie_margin)
    hs = human_scores(ratings.frame)
    jt = judge_table(logs)
    items = logs.items

    def key(f):  # noqa: ANN001, ANN202
        return f["log"] + "::" + f["sample_id"]

    cand_of = dict(zip(key(items), items["candidate"]))
    lengths = dict(zip(key(items), zip(items["chars"].astype(float), items["log_chars"].astype(float))))
    hs_items = key(hs)
    human_by_metric: dict[str, dict[str, dict[str, Fraction]]] = {}
    for (metric, rater), idx in hs.groupby(["metric", "rater_id"]).groups.items():
        human_by_metric.setdefault(metric, {})[str(rater)] = {
            i: Fraction(int(n), int(d)) for i, n, d in zip(hs_items[idx], hs.loc[idx, "num"], hs.loc[idx, "den"])}
    jt_items = key(jt)
    rows = []
    for (judge, metric), idx in sorted(jt.groupby(["judge", "metric"]).groups.items(), key=lambda kv: (kv[0][0], METRICS.index(kv[0][1]))):
        scored = {i: float(v) for i, v in zip(jt_items[idx], jt.loc[idx, "judge_score"]) if not np.isnan(v)}
        humans = human_by_metric.get(metric, {})
        for candidate in [*sorted({cand_of[i] for i in scored}), ALL]:
            mine = {i: v for i, v in scored.items() if candidate == ALL or cand_of[i] == candidate}
            raters = {r: {i: v for i, v in got.items() if i in mine} for r, got in humans.items()}
            raters = {r: got for r, got in raters.items() if got}
            if raters:
                rows.append(_row(candidate, judge, metric, mine, raters, lengths, eps, min_items))
    rows.sort(key=lambda r: (r["judge"], r["candidate"] == ALL, r["candidate"], METRICS.index(r["metric"])))
    doc = {
        "kind": "emplifai judge audit",
        "rater_type": rater_type, "epsilon": eps, "epsilon_reason": epsilon_reason(rater_type, epsilon),
        "method": METHOD | {"alt_test": rules_text(eps, min_items=min_items)}
                  | ({"pairwise": PAIRWISE_METHOD} if not logs.pairwise.empty else {}),
        "verdict_rules": RULES, "rule_sources": SOURCES, "caveat_texts": CAVEATS,
        "logs": {k: {kk: vv for kk, vv in v.items() if kk != "task_args"} for k, v in logs.logs.items()},
        "skipped_logs": logs.skipped,
        "ratings": {"n": len(ratings.frame), "raters": sorted(ratings.frame["rater_id"].unique().tolist()),
                    "dialogues": int(ratings.frame[["log", "sample_id"]].drop_duplicates().shape[0]),
                    "warnings": [str(p) for p in ratings.warnings]},
        "rows": rows,
        "length": _length_section(jt, hs, items),
        "max_chars_vs_free": _max_chars_section(jt, hs, items, logs),
        "panels": _panels(jt, logs, families or {}, hs),
        "probes": [{"log": p.log, "path": p.path, "judge": p.judge, **p.metrics} for p in logs.probes],
        "pairwise": pairwise_section(logs, human_means(hs), tie_margin),
        "simulated": ratings.simulated,
    }
    return clean(doc)


METHOD = {
    "human_score": "mean of a dialogue's raters; overall = mean of a rater's seven scores (complete sets only); "
                   "exact (integer sums, fractions) so equal rating sets give equal values",
    "pearson": "scipy.stats.pearsonr; 95% CI: BCa bootstrap of the dialogues (2,000 resamples, fixed seed)",
    "spearman_kendall": "scipy.stats.spearmanr; scipy.stats.kendalltau (tau-b)",
    "constant_branch": "when the judge (or the humans) gave one score to every dialogue, r is undefined: the "
                       "constant and the mean absolute difference are reported instead (the paper's handling)",
    "krippendorff_alpha": "krippendorff package, judge and human mean as two coders (interval; ordinal beside it)",
    "quadratic_kappa": "sklearn cohen_kappa_score(weights='quadratic') on scores rounded half up to 1..5",
    "icc": "ICC(A,1) (McGraw & Wong 1996; Shrout & Fleiss ICC(2,1)): two-way random, absolute agreement, single "
           "measure, judge vs human mean, with its 95% CI (F approximation): can the judge stand in for the human "
           "score; ICC(A,k) beside it is the reliability of the AVERAGE of judge and human mean, not of the judge",
    "near_constant": "judge's modal share: the share of dialogues that got its most frequent score",
    "human_reliability": "Krippendorff's alpha among the raters (interval), and leave-one-rater-out r: each rater "
                         "vs the mean of the others; the judge's r against the same rest-means beside it",
    "length": "Spearman rho of score and characters; partial r of judge and human given log length; OLS of the "
              "judge's deviation on log length, Markdown and politeness (HC3 SEs); length-controlled means "
              "at the human reference length (OLS with one intercept per candidate and a common slope)",
    "panel": "judges that scored the same log; panel score = their mean or median; inter-judge alpha (interval)",
    "self_preference": "per judge, (judge - other judges) and (judge - humans) on its own family's candidates "
                       "vs the others, Welch t-test",
}
