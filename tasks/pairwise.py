"""Pairwise judging: for each drawn (emotion, situation) pair, does the candidate's two-turn dialogue
beat a baseline dialogue of the same pair? A judge (model role "grader") compares the two on every
rubric metric, in both orders.

    inspect eval tasks/pairwise.py --model <model> --model-role grader=<judge>
    inspect eval emplifai/pairwise --model none/none --model-role grader=<judge> -T candidate_log=<log>
    inspect eval emplifai/pairwise --model <model> --model-role grader=<judge> -T baseline=<log>
"""

from __future__ import annotations

import logging
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Solver, generate

from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.leak import LEAK_MODES, check_leak
from emplifai.params import BUNDLED_DATA, choice_param, int_param, str_param
from emplifai.scorers.pairwise_judge import BASELINE_DIALOGUE, BASELINE_MISSING, pairwise_judge
from emplifai.scorers.pairwise_prompt import PAIRWISE_PROMPT_SHA256, PAIRWISE_PROMPT_VERSION
from emplifai.scorers.rubric_judge import STRUCTURED, check_grader, check_grader_bound
from emplifai.scorers.rubrics import RUBRIC_NAMES
from emplifai.solvers.generation_prompt import PROMPT_VERSION, generation_messages, prompt_hash, reference_completion
from emplifai.solvers.log_replay import (
    LOGGED_DIALOGUE,
    LOGGED_MISSING,
    LoggedDialogues,
    logged_dialogue_replay,
    read_dialogue_log,
)
from emplifai.task_data import draw_task_pairs, load_task_data
from emplifai.taxonomy import BY_LABEL

logger = logging.getLogger(__name__)

REFERENCE = "reference"


def _side(rec: DialogueRecord, log: LoggedDialogues | None, language: str) -> tuple[str | None, str | None]:
    """(dialogue text, why it is missing) of one side for one pair: the human dialogue when
    ``log`` is None, else what the log holds."""
    if log is None:
        return reference_completion(rec, language), None
    sid = rec.situation_id
    if sid in log.dialogues:
        return log.dialogues[sid], None
    return None, log.missing.get(sid, f"pair {sid} is not in {log.path}")


def _sample(
    rec: DialogueRecord, language: str, baseline: LoggedDialogues | None, candidate: LoggedDialogues | None
) -> Sample:
    base_text, base_missing = _side(rec, baseline, language)
    metadata: dict[str, Any] = {
        "emotion": rec.emotion,
        "emotion_ja": BY_LABEL[rec.emotion].ja,
        "situation": rec.situation,
        "situation_id": rec.situation_id,
        "reference_dialogue_id": rec.dialogue_id,
        "language": language,
        BASELINE_DIALOGUE: base_text,
        BASELINE_MISSING: base_missing,
        "baseline_source": REFERENCE if baseline is None else baseline.path,
        "candidate_source": "model" if candidate is None else candidate.path,
        # The model that wrote a logged side (the grader is compared with it).
        "baseline_model": REFERENCE if baseline is None else baseline.model,
    }
    if candidate is not None:
        cand_text, cand_missing = _side(rec, candidate, language)
        metadata |= {LOGGED_DIALOGUE: cand_text, LOGGED_MISSING: cand_missing, "candidate_model": candidate.model}
    return Sample(id=rec.situation_id, input=generation_messages(rec.emotion, rec.situation, language=language),
                  metadata=metadata)


def _coverage(log: LoggedDialogues | None, pairs: list[DialogueRecord], param: str) -> list[str]:
    """The drawn pairs a log has no dialogue for; ``UserError`` when it has none of them."""
    if log is None:
        return []
    absent = [r.situation_id for r in pairs if r.situation_id not in log.dialogues]
    if pairs and len(absent) == len(pairs):
        raise UserError(
            f"-T {param}={log.path}: the log has a dialogue for none of the {len(pairs)} drawn pairs; "
            "pass the -T n and -T seed the generation run used"
        )
    if absent:
        logger.warning("pairwise: %s has no dialogue for %d of %d drawn pairs (unscored): %s",
                       log.path, len(absent), len(pairs), ", ".join(absent[:10]))
    return absent


@task
def pairwise(
    data: str | None = BUNDLED_DATA,
    n: int = 100,
    seed: int = 42,
    language: str = "ja",
    columns: str | None = None,
    encoding: str | None = None,
    baseline: str = REFERENCE,
    candidate_log: str | None = None,
    judge_retries: int = 2,
    judge_max_tokens: int | None = None,
    structured: str = "auto",
    rubric: str = "default",
    checkpoint_split: str | None = None,
    leak: str = "exclude",
) -> Task:
    """The candidate's dialogue against a baseline dialogue of the same pair, judged per metric in
    both orders: win 1, tie 0.5, loss 0 (a preference that flips with the order is a tie).

    Args:
        data: The EmplifAI-format data (as for the generation task; default: the bundled sample).
        n: Number of (emotion, situation) pairs (paper: 100); the generation task's draw.
        seed: random_state of the scikit-learn draw of the pairs (paper: 42).
        language: "ja" or "en": the language of the brief, the speaker labels and the judge's rubric.
        columns: Column mapping for copies whose columns are named otherwise, e.g. "emotion=label".
        encoding: Text encoding of a CSV/JSONL `data` file, e.g. "cp932".
        baseline: "reference" (default) = the dataset's human dialogue of each pair (the first by
            dialogue_id); or the path of a generation log = the dialogues that run wrote for the
            same pairs (same data, n and seed).
        candidate_log: The path of a generation log whose dialogues are the candidate's (no model
            call: run with `--model none/none`). Default: the evaluated model writes them, with
            the generation task's brief.
        judge_retries: Corrective retries after an unusable judge reply, per order (>= 0).
        judge_max_tokens: Token limit of each judge reply (default: the grader's own config).
        structured: JSON-schema constrained judge output: "on", "off" or "auto" (as in generation).
        rubric: The rubric set the judge sees: "default", "neutral" or "epitome" (scorers/rubrics/).
        checkpoint_split: The `split.json` of an SFT checkpoint being evaluated (as in generation).
        leak: "exclude" (default) or "tag": pairs the checkpoint trained on (as in generation).
    """
    n = int_param("n", n, min=1)
    seed = int_param("seed", seed)
    baseline = str_param("baseline", baseline, optional=False) or REFERENCE
    candidate_log = str_param("candidate_log", candidate_log)
    judge_retries = int_param("judge_retries", judge_retries, min=0)
    judge_max_tokens = int_param("judge_max_tokens", judge_max_tokens, min=1, optional=True)
    if isinstance(structured, bool):  # -T values are YAML, where a bare on/off is a boolean
        structured = "on" if structured else "off"
    structured = choice_param("structured", structured, STRUCTURED)
    rubric = choice_param("rubric", rubric, RUBRIC_NAMES)
    checkpoint_split = str_param("checkpoint_split", checkpoint_split)
    leak = choice_param("leak", leak, LEAK_MODES)
    # Every other parameter is checked above, before any data is read.
    task_data = load_task_data(data, columns=columns, encoding=encoding, language=language)
    check_grader_bound("pairwise")  # after the data, as in generation
    drawn = draw_task_pairs(task_data, n, seed, task="pairwise")
    fingerprint = task_data.fingerprint
    base_log = None if baseline == REFERENCE else read_dialogue_log(baseline, param="baseline", data_fingerprint=fingerprint)
    cand_log = None if candidate_log is None else read_dialogue_log(
        candidate_log, param="candidate_log", data_fingerprint=fingerprint)
    for log, param in ((base_log, "baseline"), (cand_log, "candidate_log")):
        if log is not None and log.task_args.get("language", "ja") != task_data.language:
            logger.warning("pairwise: -T %s=%s was written with -T language=%s; this run judges in %s",
                           param, log.path, log.task_args.get("language", "ja"), task_data.language)
    leak_check = check_leak(drawn.pairs, task_data.records, checkpoint_split=checkpoint_split, mode=leak, task="pairwise")
    pairs = leak_check.kept
    missing = {"baseline": _coverage(base_log, pairs, "baseline"), "candidate": _coverage(cand_log, pairs, "candidate_log")}
    samples = [_sample(rec, task_data.language, base_log, cand_log) for rec in pairs]
    if "checkpoint_split" in leak_check.metadata:
        for sample, rec in zip(samples, pairs, strict=True):
            sample.metadata["trained_on"] = leak_check.trained_on(rec)
    solver: Solver = logged_dialogue_replay() if cand_log is not None else generate()
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-pairwise", location=task_data.location),
        setup=check_grader(),
        solver=solver,
        scorer=pairwise_judge(
            language=task_data.language, max_retries=judge_retries, structured=structured,
            max_tokens=judge_max_tokens, rubric=rubric,
        ),
        metadata={
            "pairwise_prompt_version": PAIRWISE_PROMPT_VERSION,
            "pairwise_prompt_sha256": PAIRWISE_PROMPT_SHA256,
            # The generation brief the candidate model gets (unused with a candidate log).
            "prompt_version": PROMPT_VERSION,
            "prompt_hash": prompt_hash(task_data.language),
            "baseline": REFERENCE if base_log is None else base_log.describe(),
            "candidate": "model" if cand_log is None else cand_log.describe(),
            "pairs_missing_from_baseline": missing["baseline"],
            "pairs_missing_from_candidate": missing["candidate"],
            "rubric": rubric,
            **drawn.metadata(task_data, kept=pairs),  # n_pairs, eval_situation_ids: after the leak check
            **leak_check.metadata,
        },
    )
