"""Read Inspect logs into runs of the emplifai tasks, through ``inspect_ai.analysis`` only.

``evals_df`` gives one row per log (task, model, roles, task args, dataset, status, date);
``samples_df`` gives one row per sample and epoch, with the score values and the small score
metadata fields of the sample summaries (Inspect keeps score metadata fields under 1k there,
which covers everything read here: gold/pred labels, rubric version and hash, judge model).

A run is one successful log of ``emotion`` or ``generation``. What makes two runs comparable is
their *board key*; what makes two runs "the same entry, run again" is their *entry key*
(board key + candidate). Logs that are not counted (failed or cancelled runs, other tasks, a
generation log without the rubric judge's scores) are kept as ``Skipped`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.analysis import EvalColumn, EvalInfo, SampleColumn, evals_df, samples_df
from inspect_ai.scorer import value_to_float


EMOTION = "emotion"
GENERATION = "generation"
TASKS = (EMOTION, GENERATION)
OVERALL = "overall"
REFERENCE_LABEL = "human reference (dataset dialogues)"

# Generation config fields that change what a model writes; other fields (connections, timeouts)
# do not make a different candidate.
_OUTPUT_CONFIG = ("temperature", "top_p", "top_k", "max_tokens", "seed", "reasoning_effort", "reasoning_tokens")

EVAL_COLUMNS = [
    EvalColumn("eval_id", path="eval.eval_id", required=True),
    # Inspect's own "log" column (a native path), the key samples_df uses too.
    *[c for c in EvalInfo if c.name == "log"],
    EvalColumn("created", path="eval.created", type=datetime, required=True),
    EvalColumn("completed", path="stats.completed_at", type=datetime),
    EvalColumn("task_name", path="eval.task", required=True),
    EvalColumn("task_args", path="eval.task_args"),
    EvalColumn("task_metadata", path="eval.metadata"),
    EvalColumn("model", path="eval.model", required=True),
    EvalColumn("model_args", path="eval.model_args"),
    EvalColumn("generate_config", path="eval.model_generate_config"),
    EvalColumn("model_roles", path="eval.model_roles"),
    EvalColumn("dataset_name", path="eval.dataset.name"),
    EvalColumn("dataset_location", path="eval.dataset.location"),
    EvalColumn("epochs", path="eval.config.epochs"),
    EvalColumn("status", path="status", required=True),
    EvalColumn("error_message", path="error.message"),
    EvalColumn("scorers", path=lambda log: [s.name for s in (log.eval.scorers or [])]),
]


def _score(name: str, part: str):  # noqa: ANN202 - returns a path callable for SampleColumn
    def extract(sample: Any) -> Any:
        score = (sample.scores or {}).get(name)
        return None if score is None else getattr(score, part)

    return extract


_to_float = value_to_float()

SAMPLE_COLUMNS = [
    SampleColumn("id", path="id", required=True, type=str),
    SampleColumn("epoch", path="epoch", required=True),
    SampleColumn("error", path="error", default=""),
    SampleColumn("metadata_*", path="metadata"),
    SampleColumn("label_correct", path=_score("label_match", "value"), value=lambda v: _to_float(v)),
    SampleColumn("label_*", path=_score("label_match", "metadata")),
    SampleColumn("bertscore_*", path=_score("bertscore_label", "value")),
    SampleColumn("bertscore_meta_*", path=_score("bertscore_label", "metadata")),
    SampleColumn("fasttext", path=_score("fasttext_label", "value")),
    SampleColumn("fasttext_meta_*", path=_score("fasttext_label", "metadata")),
    SampleColumn("judge_*", path=_score("rubric_judge", "value")),
    SampleColumn("judge_meta_*", path=_score("rubric_judge", "metadata")),
    SampleColumn("judge_reason", path=_score("rubric_judge", "reason")),
    SampleColumn("length_*", path=_score("reply_length", "value")),
]


class LeaderboardInputError(ValueError):
    """A log the leaderboard cannot read consistently; the message names the log and the field."""


class _Skip(Exception):
    """Internal: this log is not counted, for the stated reason."""


@dataclass(frozen=True)
class Skipped:
    log: str
    task: str
    model: str
    created: str
    reason: str


@dataclass
class Run:
    """One counted log. ``samples`` has one row per sample id (epochs averaged)."""

    log: str
    eval_id: str
    task: str
    created: datetime
    completed: datetime | None
    model: str
    candidate: str
    is_reference: bool
    condition: dict[str, Any]
    board_key: dict[str, Any]
    samples: pd.DataFrame
    epochs: int = 1
    scorer_models: dict[str, Any] = field(default_factory=dict)

    @property
    def board_id(self) -> str:
        return board_id(self.task, self.board_key)

    @property
    def entry_key(self) -> tuple[str, str]:
        return (self.board_id, self.candidate)


def board_id(task: str, key: dict[str, Any]) -> str:
    """Short stable id of a board: task + hash of everything that must match to rank together."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"{task}-{digest[:8]}"


def _json(value: Any) -> Any:
    """evals_df/samples_df give dicts and lists as JSON text; missing values as NA."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _time(value: Any) -> datetime | None:
    return None if value is None or pd.isna(value) else value


def _short_path(value: Any) -> str:
    text = str(value)
    if "/" in text or "\\" in text:
        parts = Path(text).parts
        return "/".join(parts[-2:])
    return text


def _condition(task: str, args: dict[str, Any], model_args: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What makes this run a different candidate from the same model run plainly."""
    cond: dict[str, Any] = {}
    if args.get("fewshot"):
        cond["fewshot"] = args["fewshot"]
        cond["seed"] = args.get("seed")
    if task == GENERATION and args.get("max_chars") is not None:
        cond["max_chars"] = args["max_chars"]
    for key in _OUTPUT_CONFIG:
        if config.get(key) is not None:
            cond[key] = config[key]
    for key, value in sorted(model_args.items()):
        # A local checkpoint is a different model even though the model name (hf/local) is the same.
        if value is not None and not callable(value):
            cond[key] = _short_path(value) if key.endswith(("path", "file", "dir")) else value
    return cond


def _candidate(model: str, is_reference: bool, cond: dict[str, Any]) -> str:
    if is_reference:
        return REFERENCE_LABEL
    if not cond:
        return model
    return f"{model} [{', '.join(f'{k}={v}' for k, v in cond.items())}]"


def _one(series: pd.Series, log: str, fieldname: str) -> Any:
    values = {str(v) for v in series.dropna().tolist()}
    if len(values) > 1:
        raise LeaderboardInputError(f"{log}: field '{fieldname}' differs between samples: {sorted(values)}")
    return next(iter(values)) if values else None


def _dataset_fingerprint(row: pd.Series, sample_ids: list[str]) -> dict[str, Any]:
    ids = sorted(sample_ids)
    digest = hashlib.sha256(
        json.dumps([row["dataset_name"], row["dataset_location"], ids], default=str).encode("utf-8")
    ).hexdigest()[:12]
    return {
        "dataset": _json(row["dataset_name"]),
        "location": _json(row["dataset_location"]),
        "n_samples": len(ids),
        "fingerprint": digest,
    }


def _reduce_epochs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per sample id: numeric columns averaged over epochs (Inspect's default ``mean``
    reducer), other columns from the first epoch (as Inspect keeps the first epoch's metadata)."""
    frame = frame.sort_values(["id", "epoch"])
    numeric = frame.select_dtypes("number").columns.difference(["epoch"])
    first = frame.groupby("id", sort=True).first()
    if len(numeric):
        first[numeric] = frame.groupby("id", sort=True)[list(numeric)].mean()
    return first


def _emotion_run(row: pd.Series, samples: pd.DataFrame, base: dict[str, Any]) -> Run:
    log = row["log"]
    if "label_match" not in base["scorers"]:
        raise _Skip(f"no label_match scorer in the log (scorers: {', '.join(base['scorers']) or 'none'})")
    args = base["args"]
    meta = base["task_metadata"]
    board_key = {
        **base["dataset"],
        "language": args.get("language"),
        "prompt": f"{meta.get('prompt_version')} {meta.get('prompt_hash')}",
    }
    # BERTScore and fastText values depend on the model that computed them: recorded per row, so
    # a reader compares those columns only between rows that used the same one.
    scorer_models = {
        "bertscore_model": _one(samples.get("bertscore_meta_model", pd.Series(dtype=object)), log, "bertscore model"),
        "fasttext_model": _one(samples.get("fasttext_meta_model", pd.Series(dtype=object)), log, "fasttext model"),
    }
    return Run(
        log=log, eval_id=row["eval_id"], task=EMOTION, created=row["created"],
        completed=_time(row["completed"]), model=row["model"],
        candidate=_candidate(row["model"], False, base["condition"]), is_reference=False,
        condition=base["condition"], board_key=board_key, samples=samples, epochs=base["epochs"],
        scorer_models={k: _short_path(v) if v else None for k, v in scorer_models.items()},
    )


def _judge_identity(samples: pd.DataFrame, row: pd.Series, log: str) -> dict[str, Any]:
    roles = _json(row["model_roles"]) or {}
    grader = roles.get("grader")
    role_model = grader.get("model") if isinstance(grader, dict) else None
    judge_model = _one(samples.get("judge_meta_judge_model", pd.Series(dtype=object)), log, "judge_model") or role_model
    if judge_model is None:
        raise LeaderboardInputError(f"{log}: field 'judge_model': no grader recorded in the scores or model roles")
    version = _one(samples.get("judge_meta_rubric_version", pd.Series(dtype=object)), log, "rubric_version")
    sha = _one(samples.get("judge_meta_rubric_sha256", pd.Series(dtype=object)), log, "rubric_sha256")
    if version is None or sha is None:
        raise LeaderboardInputError(f"{log}: field 'rubric_version'/'rubric_sha256' missing from the judge's score metadata")
    return {
        "judge_model": judge_model,
        "rubric": f"{version} ({sha[:12]})",
        "rubric_language": _one(samples.get("judge_meta_rubric_language", pd.Series(dtype=object)), log, "rubric_language"),
        "judge_mode": _one(samples.get("judge_meta_mode", pd.Series(dtype=object)), log, "mode"),
        "judge_prompt": _one(samples.get("judge_meta_judge_prompt_sha256", pd.Series(dtype=object)), log, "judge_prompt_sha256"),
    }


def _generation_run(row: pd.Series, samples: pd.DataFrame, base: dict[str, Any]) -> Run:
    log = row["log"]
    missing = [s for s in ("rubric_judge", "reply_length") if s not in base["scorers"]]
    if missing:
        raise _Skip(f"no {' / '.join(missing)} scorer in the log (scorers: {', '.join(base['scorers']) or 'none'})")
    args = base["args"]
    meta = base["task_metadata"]
    is_reference = args.get("source") == "reference"
    board_key = {
        **_judge_identity(samples, row, log),
        **base["dataset"],
        "prompt": f"{meta.get('prompt_version')} {meta.get('prompt_hash')}",
    }
    return Run(
        log=log, eval_id=row["eval_id"], task=GENERATION, created=row["created"],
        completed=_time(row["completed"]), model=row["model"],
        candidate=_candidate(row["model"], is_reference, base["condition"]), is_reference=is_reference,
        condition=base["condition"], board_key=board_key, samples=samples, epochs=base["epochs"],
    )


@dataclass
class Collection:
    runs: list[Run]
    skipped: list[Skipped]
    log_dir: str


def read_runs(log_dir: str | Path) -> Collection:
    """Every log under ``log_dir`` as a counted ``Run`` or a ``Skipped`` with its reason."""
    path = Path(log_dir)
    if not path.exists():
        raise FileNotFoundError(f"log directory {path} does not exist")
    evals = evals_df(str(path), columns=EVAL_COLUMNS, quiet=True)
    if evals.empty:
        raise FileNotFoundError(f"no Inspect logs (.eval or .json) under {path}")
    runs: list[Run] = []
    skipped: list[Skipped] = []

    def skip(row: pd.Series, reason: str) -> None:
        skipped.append(Skipped(row["log"], str(row["task_name"]), str(row["model"]), str(row["created"]), reason))

    wanted = []
    for _, row in evals.iterrows():
        task = str(row["task_name"]).split("/")[-1]
        if task not in TASKS:
            skip(row, f"task {row['task_name']!r} is not an emplifai leaderboard task ({', '.join(TASKS)})")
        elif row["status"] != "success":
            msg = row["error_message"] if isinstance(row["error_message"], str) else ""
            skip(row, f"status {row['status']}" + (f": {msg.splitlines()[0][:200]}" if msg else ""))
        else:
            wanted.append(row)
    if not wanted:
        return Collection(runs, skipped, str(path))

    samples = samples_df([r["log"] for r in wanted], columns=SAMPLE_COLUMNS, quiet=True)
    by_log = dict(tuple(samples.groupby("log", sort=False)))
    for row in wanted:
        log = row["log"]
        frame = by_log.get(log)
        if frame is None or frame.empty:
            skip(row, "the log holds no samples")
            continue
        reduced = _reduce_epochs(frame.drop(columns=["log", "eval_id", "sample_id"], errors="ignore"))
        args = _json(row["task_args"]) or {}
        base = {
            "args": args,
            "task_metadata": _json(row["task_metadata"]) or {},
            "condition": _condition(
                str(row["task_name"]).split("/")[-1], args, _json(row["model_args"]) or {}, _json(row["generate_config"]) or {}
            ),
            "dataset": _dataset_fingerprint(row, [str(i) for i in reduced.index]),
            "epochs": int(row["epochs"]) if pd.notna(row["epochs"]) else 1,
            "scorers": _json(row["scorers"]) or [],
        }
        task = str(row["task_name"]).split("/")[-1]
        try:
            runs.append((_emotion_run if task == EMOTION else _generation_run)(row, reduced, base))
        except _Skip as e:
            skip(row, str(e))
        except LeaderboardInputError as e:
            # One inconsistent log must not hide the others: it is listed with the reason.
            skip(row, f"cannot be read consistently: {e}")
    return Collection(runs, skipped, str(path))
