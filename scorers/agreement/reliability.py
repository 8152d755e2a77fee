"""Agreement coefficients and the human raters' own reliability.

- Krippendorff's alpha (interval, ordinal): the ``krippendorff`` package on a units x coders
  reliability matrix with NaN for "not rated". Undefined (None) when fewer than two values are
  pairable or every pairable value is the same (no disagreement is possible, the expected
  disagreement is 0).
- Quadratic-weighted Cohen's kappa: ``sklearn.metrics.cohen_kappa_score(weights="quadratic")`` on
  scores rounded half up to the integers 1..5 (the human side is a mean of raters).
- ICC(A,1) (McGraw & Wong 1996; = Shrout & Fleiss's ICC(2,1)): two-way random effects, absolute
  agreement, single measure: whether ONE column (the judge) can stand in for another (the human
  mean), with its 95% CI; the headline ICC. ICC(A,k) = ICC(2,k), the reliability of the average of
  the k columns, is kept beside it under that name. Both from the two-way ANOVA mean squares of a
  complete n targets x k raters table (rows with a missing cell are left out); checked against
  pingouin.intraclass_corr.
- Rater reliability: alpha among the raters (every rating they gave), and leave-one-rater-out:
  for each rater, Pearson r between their scores and the mean of the other raters on the same
  dialogues; the mean of those r is the ceiling a judge is compared to. The judge's r against the
  very same rest-means (``judge_loro_r``) is reported beside it, so the two are like for like.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist
from sklearn.metrics import cohen_kappa_score

from emplifai.scorers.agreement.correlation import is_constant, paired

LEVELS = (1, 2, 3, 4, 5)


def _krippendorff() -> Any:
    try:
        import krippendorff
    except ImportError as e:  # pragma: no cover - depends on the environment
        from emplifai.errors import UserError

        raise UserError("Krippendorff's alpha needs the krippendorff package: pip install 'emplifai[audit]'") from e
    return krippendorff


def krippendorff_alpha(matrix: Any, level: str) -> float | None:
    """Alpha of a coders x units matrix (NaN = missing) at ``level`` ("nominal", "ordinal", "interval", "ratio")."""
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"reliability matrix must be 2-d (coders x units), got shape {data.shape}")
    pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    values = pairable[~np.isnan(pairable)]
    if values.size < 2 or is_constant(values):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = _krippendorff().alpha(reliability_data=pairable, level_of_measurement=level)
    return None if a is None or math.isnan(a) else float(a)


def pair_alpha(judge: Any, human: Any, level: str) -> float | None:
    """Alpha of two 'coders', the judge and the human score, on the dialogues both scored."""
    a, b = paired(judge, human)
    return krippendorff_alpha(np.vstack([a, b]), level) if len(a) else None


def round_half_up(x: np.ndarray) -> np.ndarray:
    """3.5 -> 4, 2.5 -> 3 (numpy's round would give 4 and 2: banker's rounding)."""
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def quadratic_kappa(judge: Any, human: Any) -> float | None:
    """Quadratic-weighted kappa of the scores rounded half up to 1..5; None when undefined."""
    a, b = paired(judge, human)
    if len(a) < 2:
        return None
    ra, rb = round_half_up(a).astype(int), round_half_up(b).astype(int)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        k = cohen_kappa_score(ra, rb, labels=list(LEVELS), weights="quadratic")
    return None if math.isnan(k) else float(k)


def _mean_squares(table: Any) -> tuple[int, int, float, float, float] | None:
    """(n, k, MSR, MSC, MSE) of the two-way ANOVA of a complete n targets x k raters table (rows with a NaN
    dropped); None with fewer than 2 targets or raters."""
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"ICC table must be 2-d (targets x raters), got shape {x.shape}")
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if n < 2 or k < 2:
        return None
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    return n, k, ss_rows / (n - 1), ss_cols / (k - 1), max(ss_err, 0.0) / ((n - 1) * (k - 1))


def icc2k(table: Any) -> float | None:
    """ICC(A,k) = ICC(2,k): the reliability of the MEAN of the k columns, not of one of them; None if undefined."""
    ms = _mean_squares(table)
    if ms is None:
        return None
    n, _, msr, msc, mse = ms
    denom = msr + (msc - mse) / n
    return None if denom == 0 else float((msr - mse) / denom)


@dataclass(frozen=True)
class Icc:
    """ICC(A,1) (McGraw & Wong 1996; Shrout & Fleiss ICC(2,1)) with its 95% CI, and ICC(A,k) beside it."""

    icc_a1: float | None
    ci_low: float | None
    ci_high: float | None
    icc_ak: float | None
    n: int


def icc_a1(table: Any, confidence: float = 0.95) -> Icc:
    """Single-measure absolute-agreement ICC of an n targets x k raters table: can ONE column stand in for
    another? (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n), CI by McGraw & Wong's (1996) approximate
    F with Satterthwaite degrees of freedom. All None when undefined (a constant table, n or k < 2)."""
    ms = _mean_squares(table)
    if ms is None:
        return Icc(None, None, None, None, 0)
    n, k, msr, msc, mse = ms
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    if denom <= 0 or mse == 0 and msr == 0:
        return Icc(None, None, None, None, n)
    icc = (msr - mse) / denom
    icc = 0.0 if abs(icc) < 1e-12 else icc  # a constant column gives exactly 0 up to rounding, not -2e-16
    low = high = None
    if mse > 0:
        a = 1 - confidence
        fj = msc / mse
        vn = (n - 1) * (k - 1) * (k * icc * fj + n * (1 + (k - 1) * icc) - k * icc) ** 2
        vd = (n - 1) * k**2 * icc**2 * fj**2 + (n * (1 + (k - 1) * icc) - k * icc) ** 2
        v = vn / vd
        fu, fl = f_dist.ppf(1 - a / 2, n - 1, v), f_dist.ppf(1 - a / 2, v, n - 1)
        low = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
        high = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
        # A degenerate F (tiny n, a near-singular table) gives NaN: no interval rather than a NaN that
        # compares False against every threshold.
        low, high = (float(v) if math.isfinite(float(v)) else None for v in (low, high))
    return Icc(float(icc), low, high, icc2k(table), n)


def rater_matrix(ratings: Mapping[str, Mapping[Any, float]]) -> tuple[np.ndarray, list[str], list[Any]]:
    """{rater: {item: score}} -> (raters x items matrix with NaN, rater ids, item ids)."""
    raters = sorted(ratings)
    items = sorted({i for r in raters for i in ratings[r]}, key=str)
    index = {item: j for j, item in enumerate(items)}
    m = np.full((len(raters), len(items)), np.nan)
    for i, r in enumerate(raters):
        for item, v in ratings[r].items():
            m[i, index[item]] = v
    return m, raters, items


@dataclass
class RaterReliability:
    """How well the raters agree with each other on one metric: the ceiling for a judge."""

    n_raters: int
    n_items: int
    n_ratings: int
    alpha_interval: float | None
    alpha_ordinal: float | None
    loro_r: float | None  # mean over raters of r(rater, mean of the others)
    judge_loro_r: float | None  # mean over the same raters of r(judge, the same rest-means)
    per_rater: list[dict[str, Any]] = field(default_factory=list)


def _r(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or is_constant(x) or is_constant(y):
        return None
    return float(np.corrcoef(x, y)[0, 1])  # = scipy.stats.pearsonr's r (tested), without its per-call checks


def rater_reliability(
    ratings: Mapping[str, Mapping[Any, float]], judge: Mapping[Any, float] | None = None
) -> RaterReliability:
    """Alpha among raters and leave-one-rater-out r (each rater vs the mean of the others on shared items)."""
    m, raters, items = rater_matrix(ratings)
    per: list[dict[str, Any]] = []
    for i, rater in enumerate(raters):
        others = np.delete(m, i, axis=0)
        has_rest = ~np.isnan(others).all(axis=0) if len(others) else np.zeros(m.shape[1], bool)
        mine = ~np.isnan(m[i])
        cols = np.where(mine & has_rest)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rest = np.nanmean(others[:, cols], axis=0) if len(cols) else np.array([])
        own = m[i, cols]
        row = {"rater_id": rater, "n_items": int(mine.sum()), "n_shared": len(cols), "r_vs_rest": _r(own, rest)}
        if judge is not None:
            j = np.array([judge.get(items[c], np.nan) for c in cols], dtype=float)
            jj, rr = paired(j, rest)
            row["judge_r_vs_rest"] = _r(jj, rr)
        per.append(row)
    rs = [p["r_vs_rest"] for p in per if p["r_vs_rest"] is not None]
    jrs = [p.get("judge_r_vs_rest") for p in per if p["r_vs_rest"] is not None and p.get("judge_r_vs_rest") is not None]
    return RaterReliability(
        n_raters=len(raters), n_items=len(items), n_ratings=int((~np.isnan(m)).sum()),
        alpha_interval=krippendorff_alpha(m, "interval") if len(raters) >= 2 else None,
        alpha_ordinal=krippendorff_alpha(m, "ordinal") if len(raters) >= 2 else None,
        loro_r=float(np.mean(rs)) if rs else None,
        judge_loro_r=float(np.mean(jrs)) if judge is not None and jrs else None,
        per_rater=per,
    )


def ratings_from_frame(frame: pd.DataFrame, item: str = "item", rater: str = "rater_id",
                       score: str = "score") -> dict[str, dict[Any, float]]:
    """Long (item, rater, score) rows -> {rater: {item: score}}."""
    out: dict[str, dict[Any, float]] = {}
    for it, r, s in zip(frame[item], frame[rater], frame[score]):
        out.setdefault(str(r), {})[it] = float(s)
    return out
