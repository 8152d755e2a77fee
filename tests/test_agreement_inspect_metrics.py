"""The agreement statistics as Inspect metrics, in a real eval whose samples carry human ratings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import SampleScore, Score, Target, scorer
from inspect_ai.solver import TaskState, generate
from scipy import stats

from emplifai.scorers.agreement import krippendorff_alpha
from emplifai.scorers.agreement.inspect_metrics import human_alpha, human_mad, human_pearson

JUDGE = [5, 4, 4, 2, 1, 3, 5, 2]
HUMAN = [4.33, 4.0, 3.67, 2.33, 1.67, 3.0, 4.67, 1.0]


@scorer(metrics=[human_pearson("fluency"), human_alpha("fluency"), human_mad("fluency"), human_pearson("harmlessness")])
def scripted_judge():
    async def score(state: TaskState, target: Target) -> Score:
        return Score(value={"fluency": JUDGE[int(state.sample_id)], "harmlessness": 3})

    return score


def test_metrics_in_a_real_eval(tmp_path: Path) -> None:
    samples = [Sample(id=i, input="x", metadata={"human_scores": {"fluency": h}}) for i, h in enumerate(HUMAN)]
    samples.append(Sample(id=len(HUMAN), input="x", metadata={}))  # no human rating: left out

    def reply(*_: object) -> ModelOutput:
        out = ModelOutput.from_content("mockllm/model", "ok")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    JUDGE.append(1)
    try:
        [log] = eval(Task(dataset=MemoryDataset(samples), solver=generate(), scorer=scripted_judge()),
                     model=get_model("mockllm/model", custom_outputs=reply), log_dir=str(tmp_path), display="none")
    finally:
        JUDGE.pop()
    assert log.status == "success", log.error
    metrics = {name: m.value for s in log.results.scores for name, m in s.metrics.items()}
    assert metrics["human_pearson"] == pytest.approx(stats.pearsonr(JUDGE, HUMAN).statistic)
    assert metrics["human_alpha"] == pytest.approx(krippendorff_alpha(np.array([JUDGE, HUMAN], float), "interval"))
    assert metrics["human_mad"] == pytest.approx(np.mean(np.abs(np.array(JUDGE) - HUMAN)))


def test_undefined_is_nan() -> None:
    constant = [SampleScore(score=Score(value={"fluency": 5}), sample_metadata={"human_scores": {"fluency": h}})
                for h in HUMAN]
    assert math.isnan(human_pearson("fluency")(constant))
    assert human_mad("fluency")(constant) == pytest.approx(np.mean(5 - np.array(HUMAN)))
    assert math.isnan(human_pearson("fluency")([]))
