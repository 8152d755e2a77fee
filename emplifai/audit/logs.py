"""Generation logs (and judge-probe logs) read for the audit, through ``inspect_ai.log``.

An *item* is one dialogue a candidate wrote: (log file name, sample id), first epoch only (a
rater rates one dialogue; later epochs are different dialogues). A *judge* is one rubric-judge
score on the items of a log: the ``rubric_judge`` scorer, or one appended later by
``inspect score --action append`` (Inspect names it ``rubric_judge1``, ``rubric_judge2``, ...),
identified by the grader model recorded in the score's metadata (else the log's grader role).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

from emplifai.audit.pairwise_logs import PAIRWISE, pairwise_rows
from emplifai.dialogue_format import FormatFailure, parse_dialogue
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.reply_length import count_chars

GENERATION = "generation"
JUDGE_PROBES = "judge_probes"
OVERALL = "overall"
METRICS: tuple[str, ...] = (*METRIC_KEYS, OVERALL)
REFERENCE_LABEL = "human reference (dataset dialogues)"
# The judge_probes headline metrics shown beside the verdicts (the log holds more, per kind and metric).
PROBE_KEYS = ("probe_accuracy", "probe_accuracy_ci_low", "probe_accuracy_ci_high", "invariance_violation_rate",
              "invariance_violation_rate_ci_low", "invariance_violation_rate_ci_high", "degrading_probes",
              "invariance_probes", "unscored")

# Covariates of the deviation regression, defined once here and printed in the report.
_MARKDOWN = re.compile(r"(^|\n)\s*(#{1,6}\s|[-*+•・]\s|\d+[.)]\s)|\*\*|__")
_POLITE = re.compile(
    r"ございます|ください|下さい|でしょうか|いただ|頂|申し訳|恐れ入|させていただ|please|thank you|sorry|kindly",
    re.IGNORECASE,
)
COVARIATE_NOTES = {
    "log_chars": "natural log of the mean characters per supporter reply (reply_length scorer)",
    "markdown": "1 when the candidate's output has Markdown (headings, list bullets, numbered items, bold), else 0",
    "politeness": "count of politeness markers in the supporter replies (ございます, ください, でしょうか, "
                  "いただ/頂, 申し訳, 恐れ入, please, thank you, sorry, kindly)",
}


@dataclass
class ProbeResult:
    log: str
    path: str
    judge: str
    metrics: dict[str, float]


@dataclass
class AuditLogs:
    """``items``: one row per (log, sample_id); ``scores``: one row per (log, sample_id, judge, metric)."""

    items: pd.DataFrame
    scores: pd.DataFrame
    logs: dict[str, dict[str, Any]]
    probes: list[ProbeResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)  # a rescored copy's log name -> the log it copies
    # One row per pair of the pairwise logs given (``pairwise_logs.pairwise_rows``); empty without any.
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)

    def log_names(self) -> list[str]:
        return sorted(self.logs)


def _paths(inputs: list[str]) -> list[str]:
    out: list[str] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            # list_eval_logs names local files as file:// URIs; the report links them by path.
            found = [url2pathname(urlparse(info.name).path) if info.name.startswith("file:") else info.name
                     for info in list_eval_logs(str(path), recursive=True)]
            if not found:
                raise UserError(f"{given}: no Inspect logs (.eval or .json) in this folder")
            out.extend(found)
        elif path.is_file():
            out.append(str(path))
        else:
            raise UserError(f"{given}: no such log file or folder")
    return out


def _read_log(path: str) -> EvalLog:
    """The log at ``path``; a truncated, corrupt or foreign file is one line (``UserError``), not a traceback."""
    try:
        return read_eval_log(path)
    except Exception as e:  # zip, JSON and validation errors alike: the file is not a usable log
        detail = " ".join(str(e).split())[:200] or type(e).__name__
        raise UserError(f"{path}: not a readable Inspect log (truncated or not an .eval/.json log?): "
                        f"{type(e).__name__}: {detail}") from e


def _task(log: EvalLog) -> str:
    return str(log.eval.task).split("/")[-1]


def _grader(log: EvalLog) -> str | None:
    roles = log.eval.model_roles or {}
    g = roles.get("grader")
    return None if g is None else getattr(g, "model", None) or str(g)


def _candidate(log: EvalLog) -> str:
    args = log.eval.task_args or {}
    if args.get("source") == "reference":
        return REFERENCE_LABEL
    cond = []
    for key in ("fewshot", "max_chars"):
        if args.get(key):
            cond.append(f"{key}={args[key]}")
    temp = getattr(log.eval.model_generate_config, "temperature", None)
    if temp is not None:
        cond.append(f"temperature={temp}")
    return log.eval.model + (f" [{', '.join(cond)}]" if cond else "")


def _judge_scores(name: str, value: Any) -> dict[str, float] | None:
    if not (name.startswith("rubric_judge") and isinstance(value, dict) and all(k in value for k in METRIC_KEYS)):
        return None
    out = {}
    for k in METRICS:
        v = value.get(k)
        try:
            out[k] = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            out[k] = math.nan
    return out


def _item_row(log_name: str, log: EvalLog, sample: Any) -> dict[str, Any]:
    md = sample.metadata or {}
    completion = sample.output.completion if sample.output else ""
    parsed = parse_dialogue(completion)
    length = (sample.scores or {}).get("reply_length")
    chars = math.nan
    if length is not None and isinstance(length.value, dict):
        chars = float(length.value.get("chars", math.nan))
    if isinstance(parsed, FormatFailure):
        turns, replies, format_ok = None, "", False
    else:
        turns, replies, format_ok = list(parsed.turns), "\n".join(parsed.supporter_replies()), True
        if math.isnan(chars):
            chars = float(np.mean([count_chars(r) for r in parsed.supporter_replies()]))
    ref = md.get("reference_turns") or []
    ref_chars = float(np.mean([count_chars(ref[1]), count_chars(ref[3])])) if len(ref) == 4 else math.nan
    args = log.eval.task_args or {}
    return {
        "log": log_name, "sample_id": str(sample.id), "candidate": _candidate(log), "model": log.eval.model,
        # Identity of the dialogue across files: a copy written by `inspect score --output-file` keeps both.
        "eval_id": log.eval.eval_id, "sample_uuid": getattr(sample, "uuid", None),
        "is_reference": args.get("source") == "reference", "max_chars": args.get("max_chars"),
        "emotion": md.get("emotion"), "emotion_ja": md.get("emotion_ja"), "situation": md.get("situation"),
        "language": md.get("language") or args.get("language") or "ja",
        "completion": completion, "turns": turns, "format_ok": format_ok,
        "chars": chars, "log_chars": math.log(chars) if chars and chars > 0 else math.nan,
        "reference_chars": ref_chars,
        "markdown": int(bool(_MARKDOWN.search(completion))), "politeness": len(_POLITE.findall(replies)),
    }


def read_audit_logs(inputs: list[str]) -> AuditLogs:
    """Read every generation, judge-probe and pairwise log in ``inputs`` (files or folders)."""
    items: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    logs: dict[str, dict[str, Any]] = {}
    probes: list[ProbeResult] = []
    skipped: list[str] = []
    for path in _paths(inputs):
        log = _read_log(path)
        name = Path(log.location or path).name
        task = _task(log)
        if task == JUDGE_PROBES:
            metrics = {key: float(m.value) for s in (log.results.scores if log.results else [])
                       for key, m in s.metrics.items() if key in PROBE_KEYS}
            probes.append(ProbeResult(name, str(path), _grader(log) or log.eval.model, metrics))
            continue
        if task == PAIRWISE and log.status == "success":
            pairs.extend(pairwise_rows(log, name, _grader(log)))
            continue
        if task != GENERATION:
            skipped.append(f"{name}: task {log.eval.task} is not the generation task"
                           + (f" (a pairwise log with status {log.status})" if task == PAIRWISE else ""))
            continue
        if log.status != "success":
            skipped.append(f"{name}: status {log.status}")
            continue
        if name in logs:
            raise UserError(f"{path}: two logs are named {name}; the ratings name logs by file name, so names must differ")
        first = [s for s in (log.samples or []) if s.epoch == 1]
        logs[name] = {"path": str(path), "candidate": _candidate(log), "model": log.eval.model,
                      "grader": _grader(log), "task_args": dict(log.eval.task_args or {}),
                      "created": str(log.eval.created), "n_samples": len(first)}
        found_judge = False
        for sample in first:
            items.append(_item_row(name, log, sample))
            for scorer, score in (sample.scores or {}).items():
                values = _judge_scores(scorer, score.value)
                if values is None:
                    continue
                found_judge = True
                meta = score.metadata or {}
                judge = str(meta.get("judge_model") or _grader(log) or "unknown judge")
                for metric, v in values.items():
                    scores.append({"log": name, "sample_id": str(sample.id), "judge": judge, "scorer": scorer,
                                   "metric": metric, "judge_score": v,
                                   "rubric": f"{meta.get('rubric_name', 'default')} {meta.get('rubric_version', '?')}",
                                   "rubric_language": meta.get("rubric_language") or meta.get("language")})
        if not found_judge:
            skipped.append(f"{name}: no rubric_judge scores")
    if not logs and not probes:
        raise UserError(f"no generation logs among {', '.join(inputs)}")
    if pairs and not logs:
        raise UserError("pairwise logs were given without the generation logs whose dialogues people rated; "
                        "pass those with --logs")
    item_frame = pd.DataFrame(items)
    score_frame = pd.DataFrame(scores, columns=["log", "sample_id", "judge", "scorer", "metric", "judge_score",
                                                "rubric", "rubric_language"])
    # The same grader scoring one log twice (another mode or rubric, appended) is two judges.
    twice = score_frame.groupby(["log", "judge"])["scorer"].transform("nunique") > 1
    score_frame.loc[twice, "judge"] = score_frame.loc[twice, "judge"] + " [" + score_frame.loc[twice, "scorer"] + "]"
    return merge_copies(AuditLogs(item_frame, score_frame, logs, probes, skipped, pairwise=pd.DataFrame(pairs)))


def _dialogue_key(items: pd.DataFrame) -> pd.Series:
    """What makes two items the same dialogue: the sample's uuid, else (eval id, sample id)."""
    fallback = items["eval_id"].astype(str) + "::" + items["sample_id"]
    return items["sample_uuid"].where(items["sample_uuid"].notna(), fallback)


def merge_copies(logs: AuditLogs) -> AuditLogs:
    """One dialogue, one item: a log whose samples all appear in an earlier log (by file name) is a copy
    (``inspect score --output-file`` writes one); its items go, its judges' scores move to the original's
    items (a judge scoring the same dialogue twice keeps the first score), and the copy is listed in
    ``copies`` so ratings naming it still resolve."""
    items = logs.items
    if items.empty or "sample_uuid" not in items:
        return logs
    key = _dialogue_key(items)
    first = items.assign(_key=key).sort_values(["log", "sample_id"]).drop_duplicates("_key")
    home = dict(zip(first["_key"], zip(first["log"], first["sample_id"])))
    target = [home[k] for k in key]
    moved = {(lg, sid): t for lg, sid, t in zip(items["log"], items["sample_id"], target) if (lg, sid) != t}
    if not moved:
        return logs
    copies: dict[str, str] = {}
    for (lg, _), (orig, _) in moved.items():
        copies.setdefault(lg, orig)
    partial = {lg for lg in copies if (items["log"] == lg).sum() != sum(1 for (c, _) in moved if c == lg)}
    if partial:  # only whole-log copies are merged; anything else is a user's mix-up worth stopping for
        raise UserError(f"{', '.join(sorted(partial))}: some, not all, of its dialogues also appear in another log; "
                        "pass each run once (a rescored copy of a whole log is fine)")
    scores = logs.scores.copy()
    pairs = [moved.get((lg, sid), (lg, sid)) for lg, sid in zip(scores["log"], scores["sample_id"])]
    scores["log"], scores["sample_id"] = [p[0] for p in pairs], [p[1] for p in pairs]
    scores = scores.drop_duplicates(["log", "sample_id", "judge", "metric"]).reset_index(drop=True)
    kept = items[~items["log"].isin(copies)].reset_index(drop=True)
    skipped = [*logs.skipped, *[f"{c}: a copy of {o} (the same samples; e.g. rescored with inspect score "
                                f"--output-file): its dialogues counted once, its judges' scores kept"
                                for c, o in sorted(copies.items())]]
    return AuditLogs(kept, scores, {k: v for k, v in logs.logs.items() if k not in copies}, logs.probes, skipped,
                     copies, logs.pairwise)
