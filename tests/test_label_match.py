"""label_match: normalised strict match, macro-F1, group accuracy and unparsed answers, checked
end to end through inspect_ai.eval with scripted mockllm answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import CORRECT, INCORRECT, Target
from inspect_ai.solver import generate
from sklearn.metrics import f1_score, precision_recall_fscore_support

from emplifai.scorers.label_match import f1_labels, label_match, macro_f1_score, match_score, per_label_report
from emplifai.scorers.label_similarity import gold_label
from emplifai.taxonomy import group_of

# (sample id, gold label, scripted answer, expected normalised prediction or None)
CASES: list[tuple[str, str, str, str | None]] = [
    ("d1", "sadness", "悲しみ", "sadness"),
    ("d2", "fear", "**Fear**", "fear"),
    ("d3", "joy", "感情: 喜びです。", "joy"),
    ("d4", "joy", "sadness", "sadness"),
    ("d5", "surprise", "I cannot tell from this dialogue.", None),
    ("d6", "neutral", "「平静」", "neutral"),
    ("d7", "confusion", "fear\nThe patient worries about the operation.", "fear"),
]


def _mock_model():
    answers = {f"dialogue {sid}": answer for sid, _, answer, _ in CASES}

    def reply(messages, tools, tool_choice, config):
        output = ModelOutput.from_content(model="mockllm/model", content=answers[messages[-1].text])
        # With usage set, mockllm does not count tokens with tiktoken (which downloads its tables).
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return output

    return get_model("mockllm/model", custom_outputs=reply)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    samples = [
        Sample(id=sid, input=f"dialogue {sid}", target=gold, metadata={"emotion": gold, "group": group_of(gold)})
        for sid, gold, _, _ in CASES
    ]
    task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=label_match())
    [result] = eval(task, model=_mock_model(), log_dir=str(tmp_path_factory.mktemp("logs")), display="none")
    assert result.status == "success", result.error
    return result


def _metrics(log):
    [score] = [s for s in log.results.scores if s.name == "label_match"]
    return {name: m.value for name, m in score.metrics.items()}, score


def test_accuracy_and_stderr(log):
    metrics, _ = _metrics(log)
    hits = [1.0 if pred == gold else 0.0 for _, gold, _, pred in CASES]
    assert metrics["accuracy"] == pytest.approx(4 / 7)
    assert metrics["stderr"] == pytest.approx(np.std(hits, ddof=1) / math.sqrt(len(hits)))


def test_macro_f1_by_hand_and_sklearn(log):
    metrics, _ = _metrics(log)
    # Labels averaged over: sadness fear joy surprise neutral confusion (not "<unparsed>").
    # sadness P=1/2 R=1 -> 2/3; fear P=1/2 R=1 -> 2/3; joy P=1 R=1/2 -> 2/3; neutral 1;
    # surprise 0 (its one answer was unparsed); confusion 0.
    by_hand = (3 * (2 / 3) + 1 + 0 + 0) / 6
    assert metrics["macro_f1"] == pytest.approx(by_hand)
    golds = [gold for _, gold, _, _ in CASES]
    preds = ["<unparsed>" if pred is None else pred for _, _, _, pred in CASES]
    labels = sorted(set(golds) | {p for p in preds if p != "<unparsed>"})
    assert metrics["macro_f1"] == pytest.approx(f1_score(golds, preds, labels=labels, average="macro"))


def test_group_accuracy_and_unparsed(log):
    metrics, score = _metrics(log)
    assert metrics["positive"] == pytest.approx(1 / 2)  # joy right once, wrong once
    assert metrics["negative"] == pytest.approx(1.0)
    assert metrics["ambiguous"] == pytest.approx(0.0)
    assert metrics["neutral"] == pytest.approx(1.0)
    assert metrics["unparsed"] == 1
    assert metrics["unparsed_rate"] == pytest.approx(1 / 7)
    assert score.metrics["positive"].group == "group_accuracy"
    assert score.metrics["unparsed"].group == "unparsed"


def test_sample_scores_keep_gold_pred_and_raw_answer(log):
    by_id = {s.id: s for s in log.samples}
    for sid, gold, answer, pred in CASES:
        sc = by_id[sid].scores["label_match"]
        assert sc.value == (CORRECT if pred == gold else INCORRECT)
        assert sc.answer == (pred or "")
        assert sc.metadata["gold"] == gold
        assert sc.metadata["pred"] == pred
        assert sc.metadata["parsed"] is (pred is not None)
        assert sc.metadata["raw_answer"] == answer[:200]
        assert sc.metadata["gold_group"] == group_of(gold)
        assert sc.metadata["pred_group"] == (group_of(pred) if pred else None)


def test_per_label_report_matches_sklearn_and_log(log):
    golds = [s.scores["label_match"].metadata["gold"] for s in log.samples]
    preds = [s.scores["label_match"].metadata["pred"] for s in log.samples]
    report = per_label_report(golds, preds)
    labels = f1_labels(golds, preds)
    assert list(report.index) == labels
    p, r, f, n = precision_recall_fscore_support(
        golds, ["<unparsed>" if x is None else x for x in preds], labels=labels, zero_division=0
    )
    np.testing.assert_allclose(report["precision"], p)
    np.testing.assert_allclose(report["recall"], r)
    np.testing.assert_allclose(report["f1"], f)
    assert list(report["support"]) == list(n)
    assert report.loc["sadness", "predicted"] == 2
    assert report.loc["surprise", "group"] == "ambiguous"
    assert report["f1"].mean() == pytest.approx(_metrics(log)[0]["macro_f1"])


def test_predicted_label_never_gold_counts_in_macro_f1():
    # "anger" is predicted but never gold: averaged over with F1 0.
    assert macro_f1_score(["joy", "joy"], ["joy", "anger"]) == pytest.approx((2 / 3 + 0) / 2)
    # An unparsed answer is only a miss for its gold label.
    assert macro_f1_score(["joy", "joy"], ["joy", None]) == pytest.approx(2 / 3)


def test_match_score_unparsed_and_empty():
    s = match_score("fear", "恐れか悲しみのどちらか")  # two labels named: no guess
    assert s.value == INCORRECT and s.answer == "" and s.metadata["parsed"] is False
    s = match_score("fear", "")
    assert s.metadata["parsed"] is False and s.metadata["raw_answer"] == ""


def test_gold_must_be_a_canonical_label():
    with pytest.raises(ValueError, match="sample 'x1'.*not one of the 28 canonical labels"):
        gold_label(Target("悲しみ"), "x1")


def test_per_label_report_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        per_label_report(["joy"], [])
