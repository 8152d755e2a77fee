"""Length bias: does the judge reward long replies more than the raters do?

- Score-length correlation: Spearman rho of a score and the mean characters per supporter reply
  (rank-based: lengths are skewed), for the judge and for the human mean separately.
- Partial correlation of judge and human scores controlling for log length: Pearson r of the
  residuals of both after least squares on [1, log chars] (``numpy.linalg.lstsq``); p from Student's t with n - 2 - k degrees of
  freedom (k = number of covariates). Equal to (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2))
  for one covariate (tested).
- Deviation regression: OLS (statsmodels) of the judge's deviation from the human mean on
  log(chars) and further covariates, with HC3 heteroskedasticity-robust standard errors.
- Length-controlled means (AlpacaEval's length control carried to absolute scores): OLS of the
  score on one indicator per candidate and a common slope in (log chars - log reference length),
  so each candidate's coefficient is its mean predicted at the reference length, with a 95% CI.
  The slope is estimated within candidates, so it needs length to vary within candidates.
- Degenerate data: when the score is constant (or fully explained by the candidate, so the fit
  leaves no residual), there is no error variance to test against: the slope is reported as 0 with
  no standard error, p or CI (``note`` says why), never as a "significant" 1e-15. The same holds
  for a deviation regression whose outcome is constant.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emplifai.scorers.agreement.correlation import is_constant, paired


def _sm() -> Any:
    try:
        import statsmodels.api as sm
    except ImportError as e:  # pragma: no cover - depends on the environment
        from emplifai.errors import UserError

        raise UserError("The length-bias regressions need statsmodels: pip install 'emplifai[audit]'") from e
    return sm


def length_correlation(scores: Any, chars: Any) -> dict[str, float | int | None]:
    """Spearman rho (and p) of scores against reply length."""
    s, c = paired(scores, chars)
    if len(s) < 3 or is_constant(s) or is_constant(c):
        return {"rho": None, "p": None, "n": len(s)}
    res = stats.spearmanr(s, c)
    return {"rho": float(res.statistic), "p": float(res.pvalue), "n": len(s)}


def partial_correlation(x: Any, y: Any, covariates: Any) -> dict[str, float | int | None]:
    """Pearson r of x and y after removing a linear effect of the covariates (1-d or n x k)."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    za = np.asarray(covariates, dtype=float)
    za = za.reshape(len(za), -1)
    keep = ~(np.isnan(xa) | np.isnan(ya) | np.isnan(za).any(axis=1))
    xa, ya, za = xa[keep], ya[keep], za[keep]
    n, k = za.shape
    if n - 2 - k < 1 or is_constant(xa) or is_constant(ya):
        return {"r": None, "p": None, "n": int(n)}
    design = np.column_stack([np.ones(n), za])
    # Residuals of least squares on [1, covariates] (numpy's lstsq; tested against the closed form).
    rx = xa - design @ np.linalg.lstsq(design, xa, rcond=None)[0]
    ry = ya - design @ np.linalg.lstsq(design, ya, rcond=None)[0]
    if np.allclose(rx, 0) or np.allclose(ry, 0):
        return {"r": None, "p": None, "n": int(n)}
    r = float(np.corrcoef(rx, ry)[0, 1])
    df = n - 2 - k
    t = r * math.sqrt(df / max(1e-300, 1 - r * r))
    return {"r": r, "p": float(2 * stats.t.sf(abs(t), df)), "n": int(n)}


@dataclass(frozen=True)
class Coefficient:
    name: str
    estimate: float
    se: float
    p: float
    ci_low: float
    ci_high: float


def deviation_regression(frame: pd.DataFrame, y: str, covariates: list[str]) -> dict[str, Any] | None:
    """OLS of ``frame[y]`` on the covariates (constant added), HC3 SEs; None without enough data.

    Covariates that do not vary in the data are left out (and listed under ``dropped``).
    """
    data = frame[[y, *covariates]].apply(pd.to_numeric, errors="coerce").dropna()
    used = [c for c in covariates if data[c].nunique() > 1]
    dropped = [c for c in covariates if c not in used]
    if len(data) < len(used) + 3 or not used:
        return None
    if is_constant(data[y].to_numpy(float)):
        coefs = [{"name": name, "estimate": float(data[y].iloc[0]) if name == "const" else 0.0, "se": None, "p": None,
                  "ci_low": None, "ci_high": None} for name in ["const", *used]]
        return {"n": len(data), "r2": None, "coefficients": coefs, "dropped": dropped, "se": "HC3",
                "note": f"{y} is constant ({data[y].iloc[0]:g}): nothing to regress, no p-values"}
    sm = _sm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.OLS(data[y].to_numpy(float), sm.add_constant(data[used].to_numpy(float), has_constant="add")).fit(
            cov_type="HC3")
    ci = np.asarray(fit.conf_int(0.05))
    coefs = [asdict(Coefficient(name, float(fit.params[i]), float(fit.bse[i]), float(fit.pvalues[i]),
                                float(ci[i, 0]), float(ci[i, 1])))
             for i, name in enumerate(["const", *used])]
    return {"n": len(data), "r2": float(fit.rsquared), "coefficients": coefs, "dropped": dropped,
            "se": "HC3"}


def length_controlled_means(frame: pd.DataFrame, group: str, score: str, log_length: str,
                            reference_log_length: float) -> dict[str, Any] | None:
    """Each group's mean score predicted at ``reference_log_length`` (common within-group slope).

    Returns {"slope", "slope_se", "slope_p", "reference_log_length", "groups": {g: {raw_mean, lc_mean,
    lc_ci_low, lc_ci_high, n, mean_log_length}}}, or None when the slope cannot be estimated.
    """
    data = frame[[group, score, log_length]].copy()
    data[score] = pd.to_numeric(data[score], errors="coerce")
    data[log_length] = pd.to_numeric(data[log_length], errors="coerce")
    data = data.dropna()
    groups = sorted(data[group].astype(str).unique())
    if not groups or len(data) < len(groups) + 2:
        return None
    within = data[log_length] - data.groupby(group)[log_length].transform("mean")
    if float((within**2).sum()) < 1e-12:
        return None
    dummies = pd.get_dummies(data[group].astype(str)).reindex(columns=groups).astype(float)
    design = dummies.assign(_length=data[log_length] - reference_log_length)
    sm = _sm()
    y = data[score].to_numpy(float)
    fit = sm.OLS(y, design.to_numpy(float)).fit()
    ci = np.asarray(fit.conf_int(0.05))
    # No residual variance (a constant score, or one constant within each group): no test is possible.
    degenerate = float(fit.ssr) <= 1e-12 * max(1.0, float(((y - y.mean()) ** 2).sum()))
    out: dict[str, Any] = {
        "slope": 0.0 if degenerate else float(fit.params[-1]),
        "slope_se": None if degenerate else float(fit.bse[-1]),
        "slope_p": None if degenerate else float(fit.pvalues[-1]),
        "reference_log_length": float(reference_log_length), "n": len(data), "groups": {},
        "note": (f"{score} has no variance left once the candidates are accounted for: no slope, no p-value"
                 if degenerate else None),
    }
    for i, g in enumerate(groups):
        part = data[data[group].astype(str) == g]
        out["groups"][g] = {
            "n": len(part), "raw_mean": float(part[score].mean()),
            "lc_mean": float(part[score].mean()) if degenerate else float(fit.params[i]),
            "lc_ci_low": None if degenerate else float(ci[i, 0]), "lc_ci_high": None if degenerate else float(ci[i, 1]),
            "mean_log_length": float(part[log_length].mean()),
        }
    return out
