"""emplifai.scorers: Inspect scorers and metrics.

Reverse emotion prediction: ``label_match`` (accuracy, macro-F1, per-group accuracy, unparsed
answers), ``bertscore_label`` (BERTScore P/R/F1) and ``fasttext_label`` (fastText cosine) of the
predicted vs gold label. The two similarity scorers import their heavy libraries (bert-score,
fasttext) only when a model is loaded, so importing this package needs neither extra.
"""

from emplifai.scorers.bertscore_label import BertScoreModelError, bertscore_label, check_bertscore_model
from emplifai.scorers.fasttext_label import FastTextModelError, check_fasttext_model, fasttext_label
from emplifai.scorers.label_match import group_accuracy, label_match, macro_f1, per_label_report, unparsed

__all__ = [
    "BertScoreModelError",
    "FastTextModelError",
    "bertscore_label",
    "check_bertscore_model",
    "check_fasttext_model",
    "fasttext_label",
    "group_accuracy",
    "label_match",
    "macro_f1",
    "per_label_report",
    "unparsed",
]
