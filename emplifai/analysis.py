"""Judge scores of Inspect logs as one tidy pandas frame, built on ``inspect_ai.analysis``.

``samples_df`` gives a rubric judge's seven scores as one JSON value per scorer and its
rationales not at all; ``judge_scores_df`` gives one row per (log, sample, epoch, judge, metric):

    from emplifai.analysis import judge_scores_df
    df = judge_scores_df("logs")
    df.pivot_table(index="candidate", columns=["judge", "metric"], values="score")

A *judge* is one rubric-judge score of a sample: the task's ``rubric_judge`` or one appended by
``inspect score --action append`` (``rubric_judge1``, ...), named by the grader model recorded in
the score's metadata (``judge_model``; else the log's grader role). Unscored samples are rows with
``score`` NaN and ``unscored_reason`` set; format failures are rows with ``format_ok`` False and
the paper's score of 1 (``unscored_reason`` empty, ``explanation`` says why).

Each log file is read on its own (``samples_df`` keeps only the first of several files that share
an ``eval_id``, and a log rescored into a copy shares its original's).

``judge_means(log)`` reads a judge's means from the log header, in the names this project writes
(one score per judge, ``overall`` first; see scorers/judge_means.py) and in the names of logs
written before that (one score per metric key, with ``mean`` and ``stderr``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.analysis import EvalColumn, SampleColumn, samples_df
from inspect_ai.log import EvalLog, list_eval_logs

from emplifai.judge_metrics import METRIC_KEYS, OVERALL, STDERR_SUFFIX

FORMAT_OK = "format_ok"
REPLY_LENGTH = "reply_length"
REFERENCE = "human reference (dataset dialogues)"
COLUMNS: tuple[str, ...] = (
    "log", "task", "candidate", "model", "judge", "scorer", "sample_id", "epoch", "metric", "score",
    "unscored_reason", "format_ok", "explanation", "rationale", "emotion", "emotion_ja", "situation",
    "reply_chars", "dialogue",
)
_TEXT_LIMIT = 20_000  # a runaway completion would otherwise be copied into every metric row


def is_judge_score(value: Any) -> bool:
    """A rubric judge's (or probe judge's) Score value: a dict with ``overall`` and ``format_ok``."""
    return isinstance(value, dict) and OVERALL in value and FORMAT_OK in value


def _judge_entries(sample: Any) -> list[dict[str, Any]]:
    """The judge scores of one sample (``EvalSample``), as plain JSON for a column."""
    out = []
    for scorer, score in (sample.scores or {}).items():
        if not is_judge_score(score.value):
            continue
        meta = score.metadata or {}
        rationales = meta.get("rationales") if isinstance(meta.get("rationales"), dict) else {}
        out.append({
            "scorer": scorer,
            "judge_model": meta.get("judge_model"),
            "values": {k: v for k, v in score.value.items() if k != FORMAT_OK},
            "format_ok": score.value.get(FORMAT_OK),
            "reason": score.reason,
            "explanation": score.explanation,
            "rationales": {str(k): str(v) for k, v in (rationales or {}).items()},
        })
    return out


def _reply_chars(sample: Any) -> float | None:
    score = (sample.scores or {}).get(REPLY_LENGTH)
    if score is None or not isinstance(score.value, dict):
        return None
    v = score.value.get("chars")
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _dialogue(sample: Any) -> str:
    return (sample.output.completion if sample.output else "")[:_TEXT_LIMIT]


def _grader(log: EvalLog) -> str | None:
    g = (log.eval.model_roles or {}).get("grader")
    return None if g is None else getattr(g, "model", None) or str(g)


def _candidate(log: EvalLog) -> str:
    return REFERENCE if (log.eval.task_args or {}).get("source") == "reference" else log.eval.model


_COLUMNS = [
    EvalColumn("log", path=lambda log: log.location, required=True),
    EvalColumn("task", path=lambda log: str(log.eval.task).split("/")[-1], required=True),
    EvalColumn("candidate", path=_candidate, required=True),
    EvalColumn("model", path="eval.model", required=True),
    EvalColumn("grader", path=_grader),
    SampleColumn("sample_id", path="id", required=True, type=str),
    SampleColumn("epoch", path="epoch", required=True),
    SampleColumn("emotion", path="metadata.emotion"),
    SampleColumn("emotion_ja", path="metadata.emotion_ja"),
    SampleColumn("situation", path="metadata.situation"),
    SampleColumn("reply_chars", path=_reply_chars, full=True),
    SampleColumn("dialogue", path=_dialogue, full=True),
    SampleColumn("judges", path=_judge_entries, full=True),
]


def _log_paths(logs: str | Path | EvalLog | Sequence[str | Path | EvalLog]) -> list[str | EvalLog]:
    items = [logs] if isinstance(logs, str | Path | EvalLog) else list(logs)
    out: list[str | EvalLog] = []
    for item in items:
        if isinstance(item, EvalLog):
            out.append(item)
        elif Path(item).is_dir():
            out.extend(info.name for info in list_eval_logs(str(item), recursive=True))
        else:
            out.append(str(item))
    return out


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _long_rows(wide: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rec in wide.to_dict(orient="records"):
        judges = rec.get("judges")
        # samples_df stores a list column as JSON text (NaN kept as the JSON extension NaN).
        for entry in (json.loads(judges) if isinstance(judges, str) else judges) or []:
            unscored = math.isnan(_number(entry["values"].get(OVERALL)))
            fmt = entry.get("format_ok")
            for metric in _metric_order(entry["values"]):
                score = _number(entry["values"][metric])
                reason = ""
                if math.isnan(score):
                    reason = str(entry.get("reason") or entry.get("explanation") or "unscored")
                rows.append({
                    "log": rec["log"], "task": rec["task"], "candidate": rec["candidate"], "model": rec["model"],
                    "judge": str(entry.get("judge_model") or rec.get("grader") or "unknown judge"),
                    "scorer": entry["scorer"], "sample_id": rec["sample_id"], "epoch": rec["epoch"],
                    "metric": metric, "score": score, "unscored_reason": reason,
                    # format_ok is a share of epochs after an epoch reducer; a single epoch gives 0 or 1.
                    "format_ok": None if fmt is None else bool(_number(fmt) >= 1),
                    "explanation": entry.get("explanation") or "",
                    "rationale": "" if unscored else entry["rationales"].get(metric, ""),
                    "emotion": rec.get("emotion"), "emotion_ja": rec.get("emotion_ja"),
                    "situation": rec.get("situation"), "reply_chars": rec.get("reply_chars"),
                    "dialogue": rec.get("dialogue") or "",
                })
    return rows


def _metric_order(values: dict[str, Any]) -> list[str]:
    known = [k for k in (*METRIC_KEYS, OVERALL) if k in values]
    return known + [k for k in values if k not in known]


def judge_scores_df(logs: str | Path | EvalLog | Sequence[str | Path | EvalLog], quiet: bool = True) -> pd.DataFrame:
    """One row per (log, sample, epoch, judge, metric) of every rubric-judge score in ``logs``
    (log files, folders of logs, or ``EvalLog`` objects). Columns: ``COLUMNS``."""
    frames = []
    for one in _log_paths(logs):
        wide = samples_df(one, columns=_COLUMNS, quiet=quiet, exclude_fields={"events", "messages", "store"})
        frames.append(pd.DataFrame(_long_rows(wide), columns=list(COLUMNS)))
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out["score"] = out["score"].astype(float)
    return out


def judge_means(log: EvalLog) -> dict[str, dict[str, float]]:
    """Header means of every judge of ``log``: {scorer: {metric: mean, f"{metric}_stderr": stderr}}.

    Reads both shapes: one score per judge named by its scorer (this project's logs), and one score
    per metric key with ``mean``/``stderr`` (older logs, whose scorer is ``score.scorer``).
    """
    out: dict[str, dict[str, float]] = {}
    for score in (log.results.scores if log.results else []) or []:
        metrics = {name: float(m.value) for name, m in score.metrics.items()}
        mine = out.setdefault(score.scorer, {})
        if score.name == score.scorer:  # this project's shape, or an old log's format_failure_rate/unscored
            mine.update(metrics)
        elif "mean" in metrics:  # an old log: one score per metric key
            mine[score.name] = metrics["mean"]
            if "stderr" in metrics:
                mine[f"{score.name}{STDERR_SUFFIX}"] = metrics["stderr"]
    return {scorer: values for scorer, values in out.items() if OVERALL in values}
