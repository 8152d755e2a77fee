"""Inspect logs -> small plain records the leaderboard works from, read through ``inspect_ai.log``.

Each log file gives one ``LogRecord``: the header fields the boards need and, per sample and epoch,
the score values plus the scalar fields of each score's metadata (judge model, rubric hash,
gold/predicted label, ...; the judge's raw calls and rationales are dropped). Files are read one
by one (``read_eval_log(header_only=True)`` + ``read_eval_log_sample_summaries``), never through
``evals_df``, which keeps only the first of several files with the same ``eval_id``: a log rescored
with another judge into a copy shares its original's ``eval_id``, and both must be read.

Reading the sample summaries costs about 0.6 ms a sample (pydantic validation): 1.2 s for 20 logs
of 100 samples. With a ``cache_dir``, each file's record is kept as JSON under a key of the file's
absolute path, size and modification time, so an unchanged log is read once.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Bump when the record's shape or content changes: old cache entries are then ignored.
RECORD_VERSION = "3"
# Inspect's own rule for what is a log file (inspect_ai.log.list_eval_logs): every ``.eval``; a
# ``.json`` only when its name starts with an ISO timestamp (so logs.json and other JSON are not).
_LOG_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2}.*\.json$")
_MAX_TEXT = 400


@dataclass
class LogRecord:
    log: str  # absolute path
    mtime: float
    header: dict[str, Any]
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the file could not be read as an Inspect log


def log_files(log_dir: Path) -> list[Path]:
    """Every Inspect log under ``log_dir`` (recursive), sorted by path."""
    found = [p for p in log_dir.rglob("*") if p.is_file() and (p.suffix == ".eval" or _LOG_NAME.match(p.name))]
    return sorted(p.resolve() for p in found)


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    return value


def _small_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """Scalar metadata fields, and dicts of scalars flattened as ``key.sub`` (per-epoch counts)."""
    out: dict[str, Any] = {}
    for key, value in (meta or {}).items():
        if value is None or isinstance(value, str | int | float | bool):
            out[key] = _scalar(value)
        elif (
            isinstance(value, dict)
            and len(value) <= 16
            and all(v is None or isinstance(v, str | int | float | bool) for v in value.values())
        ):
            out.update({f"{key}.{k}": _scalar(v) for k, v in value.items()})
    return out


def _value(value: Any) -> Any:
    if isinstance(value, str):
        # "C"/"I"/"P"/"N" (label_match's correct/incorrect) as numbers, the way Inspect's metrics read them.
        from inspect_ai.scorer import value_to_float

        return _scalar(value_to_float()(value))
    if isinstance(value, dict):
        return {str(k): _scalar(v) for k, v in value.items() if v is None or isinstance(v, int | float | str | bool)}
    if isinstance(value, int | float | str | bool) or value is None:
        return _scalar(value)
    return str(value)[:_MAX_TEXT]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(getattr(m, "text", m)) for m in value)
    return str(value)


def _roles(roles: Any) -> dict[str, str]:
    return {name: getattr(cfg, "model", str(cfg)) for name, cfg in (roles or {}).items()}


def read_log(path: Path) -> LogRecord:
    """One log file as a ``LogRecord`` (``error`` set when Inspect cannot read it)."""
    from inspect_ai.log import read_eval_log, read_eval_log_sample_summaries

    mtime = path.stat().st_mtime
    try:
        log = read_eval_log(str(path), header_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is listed with the reason, never fatal
        return LogRecord(
            str(path), mtime, {}, error=f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        )
    ev = log.eval
    results: dict[str, dict[str, Any]] = {}
    for score in (log.results.scores if log.results else []) or []:
        results.setdefault(score.name, {}).update({m.name: _scalar(m.value) for m in score.metrics.values()})
    header = {
        "eval_id": ev.eval_id,
        "created": ev.created,
        "completed": log.stats.completed_at if log.stats else None,
        "task": ev.task.split("/")[-1],
        "task_args": ev.task_args or {},
        "task_metadata": ev.metadata or {},
        "model": ev.model,
        "model_args": {k: v for k, v in (ev.model_args or {}).items() if not callable(v)},
        "generate_config": ev.model_generate_config.model_dump(exclude_none=True) if ev.model_generate_config else {},
        "model_roles": _roles(ev.model_roles),
        "dataset_name": ev.dataset.name,
        "dataset_location": ev.dataset.location,
        "epochs": ev.config.epochs or 1,
        "status": log.status,
        "error_message": log.error.message.splitlines()[0][:200] if log.error and log.error.message else "",
        "scorers": [s.name for s in (ev.scorers or [])],
        "results": results,
    }
    samples = []
    if log.status == "success":
        for s in read_eval_log_sample_summaries(str(path)):
            samples.append(
                {
                    "id": str(s.id),
                    "epoch": s.epoch,
                    "error": (s.error or "")[:_MAX_TEXT]
                    if isinstance(s.error, str)
                    else ("" if s.error is None else str(s.error)[:_MAX_TEXT]),
                    "meta": _small_meta(s.metadata),
                    # A cheap content key of the sample for logs that predate the data fingerprint.
                    "content": hashlib.sha256(
                        json.dumps([_text(s.input), s.target], ensure_ascii=False, default=str).encode("utf-8")
                    ).hexdigest()[:16],
                    "scores": {
                        name: {"value": _value(score.value), "meta": _small_meta(score.metadata)}
                        for name, score in (s.scores or {}).items()
                    },
                }
            )
    return LogRecord(str(path), mtime, json.loads(json.dumps(header, default=str)), samples)


def _cache_path(cache_dir: Path, path: Path) -> Path:
    stat = path.stat()
    key = f"{RECORD_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}"
    return cache_dir / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.json"


def read_logs(log_dir: Path, cache_dir: Path | None = None) -> list[LogRecord]:
    """Every log under ``log_dir``; with ``cache_dir``, unchanged files come from the cache."""
    records = []
    used: set[Path] = set()
    for path in log_files(log_dir):
        cached = _cache_path(cache_dir, path) if cache_dir is not None else None
        if cached is not None:
            used.add(cached)
        if cached is not None and cached.exists():
            try:
                records.append(LogRecord(**json.loads(cached.read_text(encoding="utf-8"))))
                continue
            except (OSError, ValueError, TypeError):
                pass  # a damaged cache entry: read the log again
        record = read_log(path)
        records.append(record)
        if cached is not None and record.error is None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(asdict(record), ensure_ascii=False), encoding="utf-8")
    if cache_dir is not None and cache_dir.is_dir():
        # Entries of logs that changed or went away: never read again, so removed.
        for stale in cache_dir.glob("*.json"):
            if stale not in used and len(stale.stem) == 32:
                stale.unlink(missing_ok=True)
    return records
