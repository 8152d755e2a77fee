"""Judge-vs-human agreement statistics: pure functions, each checked against a direct computation
in tests/test_agreement_*.py. Composed into the cross-log report by ``emplifai audit``; the
per-log ones are also Inspect metrics (``inspect_metrics``: ``human_pearson``, ``human_alpha``,
``human_mad``) for samples that carry human ratings."""

from emplifai.scorers.agreement.alt_test import (
    EPSILON_BY_RATER_TYPE,
    AltTestResult,
    alt_test,
    benjamini_yekutieli,
)
from emplifai.scorers.agreement.correlation import PairAgreement, pair_agreement, pearson_ci
from emplifai.scorers.agreement.length import (
    deviation_regression,
    length_controlled_means,
    length_correlation,
    partial_correlation,
)
from emplifai.scorers.agreement.panel import inter_judge_alpha, model_family, panel_scores, self_preference
from emplifai.scorers.agreement.reliability import (
    Icc,
    icc2k,
    icc_a1,
    krippendorff_alpha,
    pair_alpha,
    quadratic_kappa,
    rater_reliability,
)
from emplifai.scorers.agreement.verdict import CAVEATS, RULES, SOURCES, VERDICTS, modal_share, verdict

__all__ = [
    "CAVEATS",
    "SOURCES",
    "VERDICTS",
    "modal_share",
    "EPSILON_BY_RATER_TYPE",
    "RULES",
    "AltTestResult",
    "PairAgreement",
    "alt_test",
    "benjamini_yekutieli",
    "deviation_regression",
    "Icc",
    "icc2k",
    "icc_a1",
    "inter_judge_alpha",
    "krippendorff_alpha",
    "length_controlled_means",
    "length_correlation",
    "model_family",
    "pair_agreement",
    "pair_alpha",
    "panel_scores",
    "partial_correlation",
    "pearson_ci",
    "quadratic_kappa",
    "rater_reliability",
    "self_preference",
    "verdict",
]
