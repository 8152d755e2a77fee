"""Dialogues an earlier generation run wrote, read back from its Inspect log, and a solver that
replays one as the sample's output without calling a model.

The pairwise task takes its candidate (``-T candidate_log=``) or its baseline (``-T baseline=``)
from such a log. A log is accepted only when it is a generation log written from the same data
(its task metadata ``data_fingerprint`` equals the data's), so a dialogue is never compared with
one written for another situation. Dialogues are keyed by sample id, which the generation task
sets to the situation id. With several epochs, epoch 1 is read (the first dialogue a model wrote
for the pair), and the log reader says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessageAssistant, ModelOutput
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.data.loaders import resolve_user_path
from emplifai.errors import UserError

GENERATION_TASK = "generation"
# Sample metadata the replay solver reads: the logged dialogue, or why there is none.
LOGGED_DIALOGUE = "candidate_logged_dialogue"
LOGGED_MISSING = "candidate_missing"


@dataclass(frozen=True)
class LoggedDialogues:
    """Epoch 1's dialogue of every sample of a generation log, keyed by situation id.

    ``dialogues[sid]`` is the completion as the model wrote it (reasoning blocks included, as the
    rubric judge saw it); ``missing[sid]`` says why a logged sample has no dialogue (it errored).
    """

    path: str
    model: str
    task_args: dict[str, object]
    epochs: int
    dialogues: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        """What the pairwise log records about this source."""
        return {"log": self.path, "model": self.model, "epochs": self.epochs, "epoch_used": 1,
                "source_task_args": self.task_args}


def read_dialogue_log(source: str, *, param: str, data_fingerprint: str) -> LoggedDialogues:
    """Read a generation log for ``-T <param>=<source>``; ``UserError`` when it cannot serve.

    Refused: a path that is not a readable Inspect log, a log of another task, a log of other data
    (``data_fingerprint`` differs or is not recorded), a log without samples.
    """
    path = resolve_user_path(source)
    if not Path(path).is_file():
        raise UserError(f"-T {param}={source}: no such log file (expected an Inspect .eval/.json log of a generation run)")
    try:
        log = read_eval_log(str(path))
    except Exception as e:  # noqa: BLE001 - any reader failure is the user's file, named in one line
        raise UserError(f"-T {param}={source}: not a readable Inspect log ({type(e).__name__}: {e})") from None
    task_name = log.eval.task.rsplit("/", 1)[-1]
    if task_name != GENERATION_TASK:
        raise UserError(f"-T {param}={source}: a log of task {log.eval.task!r}, expected a generation log")
    logged_fingerprint = (log.eval.metadata or {}).get("data_fingerprint")
    if logged_fingerprint != data_fingerprint:
        raise UserError(
            f"-T {param}={source}: that run was written from other data (data_fingerprint "
            f"{logged_fingerprint!r}, this run's data {data_fingerprint!r}); pass the same -T data "
            "(and columns, encoding) the generation run used"
        )
    if not log.samples:
        raise UserError(f"-T {param}={source}: the log holds no samples (status {log.status})")
    dialogues: dict[str, str] = {}
    missing: dict[str, str] = {}
    for sample in log.samples:
        if sample.epoch != 1:
            continue
        sid = str(sample.id)
        if sample.error is not None:
            missing[sid] = f"the sample errored in {source}: {sample.error.message[:200]}"
        else:
            dialogues[sid] = sample.output.completion
    return LoggedDialogues(
        path=str(source), model=log.eval.model, task_args=dict(log.eval.task_args or {}),
        epochs=log.eval.config.epochs or 1, dialogues=dialogues, missing=missing,
    )


@solver
def logged_dialogue_replay() -> Solver:
    """Output the candidate dialogue a generation log holds for the sample (no model call).

    Reads ``candidate_logged_dialogue`` from the sample metadata; a sample with none (not in the
    log, or errored there) gets an empty output and keeps ``candidate_missing``, which the pairwise
    judge records as unscored.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        text = state.metadata.get(LOGGED_DIALOGUE)
        if text is None:
            if not state.metadata.get(LOGGED_MISSING):
                raise ValueError(f"sample {state.sample_id!r}: neither a logged dialogue nor a reason it is missing")
            state.output = ModelOutput.from_content(model="log", content="")
            return state
        state.output = ModelOutput.from_content(model="log", content=text)
        state.messages.append(ChatMessageAssistant(content=text, model="log", source="generate"))
        return state

    return solve
