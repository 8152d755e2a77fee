"""Strict label match for reverse emotion prediction, with macro-F1, per-sentiment-group accuracy
and the count of answers that named no label.

An answer is normalised with ``emplifai.taxonomy.normalize_label``; an answer it cannot map to
exactly one of the 28 labels is wrong, and stays visible: ``parsed=False`` in the sample's score
metadata and the ``unparsed`` / ``unparsed_rate`` metrics in the log's results.

Where things land in the log (``log.results.scores[i]`` with ``name == "label_match"``):
``metrics["accuracy"]``, ``metrics["stderr"]``, ``metrics["macro_f1"]``, one metric per sentiment
group present (``metrics["positive"]`` ..., each with ``group == "group_accuracy"``),
``metrics["unparsed"]`` (a count) and ``metrics["unparsed_rate"]`` (each with
``group == "unparsed"``). Inspect turns every key of a dict-valued metric into its own entry.
Per-label results: each sample's score metadata has ``gold`` and ``pred``; ``per_label_report``
turns those lists into a table.

With ``epochs > 1`` Inspect's reducers keep the first epoch's score metadata, so ``macro_f1``
and ``unparsed`` then describe the first epoch while ``accuracy`` is the mean over epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    accuracy,
    metric,
    scorer,
    stderr,
    value_to_float,
)
from inspect_ai.solver import TaskState

from emplifai.scorers.label_similarity import gold_label
from emplifai.taxonomy import GROUPS, group_of, normalize_label

UNPARSED = "<unparsed>"
RAW_ANSWER_CHARS = 200

_to_float = value_to_float()


def f1_labels(golds: Sequence[str], preds: Sequence[str | None]) -> list[str]:
    """Labels macro-F1 averages over: every gold label present plus every real label predicted.

    Unparsed answers are mapped to the class ``"<unparsed>"``, which is NOT in this list: an
    unparsed answer is a miss (a false negative) for its gold label but never a false positive
    for any real label, and the "<unparsed>" class itself gets no F1 of its own. A label that is
    predicted but never gold is averaged over with F1 = 0 (all its predictions are wrong), so
    spraying labels that are not in the data is penalised.
    """
    return sorted(set(golds) | {p for p in preds if p is not None})


def _as_classes(preds: Sequence[str | None]) -> list[str]:
    return [UNPARSED if p is None else p for p in preds]


def macro_f1_score(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """scikit-learn macro-F1 of ``preds`` against ``golds`` over ``f1_labels(golds, preds)``."""
    from sklearn.metrics import f1_score

    if not golds:
        return float("nan")
    return float(
        f1_score(list(golds), _as_classes(preds), labels=f1_labels(golds, preds), average="macro", zero_division=0)
    )


def per_label_report(golds: Sequence[str], preds: Sequence[str | None]) -> pd.DataFrame:
    """Precision, recall, F1 and support (gold count) per label, plus how often each was predicted.

    ``preds`` holds canonical labels or ``None`` for unparsed answers (``Score.metadata["pred"]``
    of ``label_match``). Rows are the labels of ``f1_labels`` (same choice as ``macro_f1``),
    indexed by label, with the label's sentiment group. Precision of a never-predicted label and
    recall of a never-gold label are 0 (scikit-learn ``zero_division=0``).
    """
    from sklearn.metrics import precision_recall_fscore_support

    if len(golds) != len(preds):
        raise ValueError(f"golds and preds differ in length: {len(golds)} vs {len(preds)}")
    labels = f1_labels(golds, preds)
    classes = _as_classes(preds)
    precision, recall, f1, support = precision_recall_fscore_support(
        list(golds), classes, labels=labels, zero_division=0
    )
    predicted = pd.Series(classes).value_counts()
    return pd.DataFrame(
        {
            "group": [group_of(lb) for lb in labels],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "predicted": [int(predicted.get(lb, 0)) for lb in labels],
        },
        index=pd.Index(labels, name="label"),
    )


def _golds_preds(scores: list[SampleScore]) -> tuple[list[str], list[str | None]]:
    golds: list[str] = []
    preds: list[str | None] = []
    for s in scores:
        meta = s.score.metadata or {}
        if "gold" not in meta or "pred" not in meta:
            raise ValueError(
                f"sample {s.sample_id!r}: score metadata lacks 'gold'/'pred'; "
                "macro_f1 reads the metadata written by the label_match scorer"
            )
        golds.append(meta["gold"])
        preds.append(meta["pred"])
    return golds, preds


@metric
def macro_f1() -> Metric:
    """Macro-F1 over gold vs predicted labels (see ``f1_labels`` for which labels count)."""

    def compute(scores: list[SampleScore]) -> float:
        golds, preds = _golds_preds(scores)
        return macro_f1_score(golds, preds)

    return compute


@metric
def group_accuracy() -> Metric:
    """Accuracy within each sentiment group of the gold label, for the groups present."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        by_group: dict[str, list[float]] = {}
        for s in scores:
            group = (s.score.metadata or {}).get("gold_group")
            if group is None:
                raise ValueError(f"sample {s.sample_id!r}: score metadata lacks 'gold_group'")
            by_group.setdefault(group, []).append(_to_float(s.score.value))
        return {g: sum(v) / len(v) for g in GROUPS if (v := by_group.get(g))}

    return compute


@metric
def unparsed() -> Metric:
    """How many answers named no label (``unparsed``) and their share (``unparsed_rate``)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        n = sum(1 for s in scores if not (s.score.metadata or {}).get("parsed", False))
        return {"unparsed": float(n), "unparsed_rate": n / len(scores) if scores else float("nan")}

    return compute


def match_score(gold: str, answer: str | None) -> Score:
    """The label_match score of one answer against its gold label (no I/O, no model)."""
    pred = normalize_label(answer)
    correct = pred == gold
    if pred is None:
        explanation = f"no label recognised in the answer; gold {gold}"
    else:
        explanation = f"predicted {pred}, gold {gold}: {'correct' if correct else 'wrong'}"
    return Score(
        value=CORRECT if correct else INCORRECT,
        answer=pred or "",
        explanation=explanation,
        metadata={
            "gold": gold,
            "pred": pred,
            "parsed": pred is not None,
            "raw_answer": (answer or "")[:RAW_ANSWER_CHARS],
            "gold_group": group_of(gold),
            "pred_group": group_of(pred) if pred is not None else None,
        },
    )


@scorer(metrics=[accuracy(), stderr(), macro_f1(), group_accuracy(), unparsed()])
def label_match() -> Scorer:
    """Correct when the answer normalises to the gold label (the sample's target)."""

    async def score(state: TaskState, target: Target) -> Score:
        return match_score(gold_label(target, state.sample_id), state.output.completion)

    return score
