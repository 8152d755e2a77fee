"""A label scorer run through a real Inspect eval, the model answering from a script."""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Scorer
from inspect_ai.solver import generate


def run_scripted(cases: dict[str, tuple[str, str]], scorer: Scorer, log_dir: Path) -> EvalLog:
    """``cases`` maps sample id -> (gold label, scripted answer); the sample's input is its id."""

    def reply(messages, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        output = ModelOutput.from_content(model="mockllm/model", content=cases[messages[-1].text][1])
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tiktoken
        return output

    task = Task(
        dataset=MemoryDataset([Sample(id=k, input=k, target=gold) for k, (gold, _) in cases.items()]),
        solver=generate(),
        scorer=scorer,
    )
    [log] = eval(task, model=get_model("mockllm/model", custom_outputs=reply), log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    return log
